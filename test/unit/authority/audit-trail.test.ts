/**
 * Every lifecycle operation leaves an intent entry before the act and an outcome entry after
 * (docs/architecture.md: the audit log records the intent before the act), chained so that audit.verify() stays ok; refused operations
 * leave nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash, GENESIS_HASH } from '../../../src/audit/entry-hash.js';
import { makeLifecycleFixture, type LifecycleFixture } from './fixture.js';

let f: LifecycleFixture;
beforeAll(async () => {
  f = await makeLifecycleFixture();
});
afterAll(async () => {
  await f.close();
});

/** Runs op and returns [action, subject, actor, outcome] of the entries it appended. */
async function trail(op: () => Promise<unknown>) {
  const mark = await f.headSeq();
  await op();
  return (await f.entriesAfter(mark)).map((e) => [e.action, e.subject, e.actor, e.details.outcome ?? null]);
}

describe('audit trail of the lifecycle', () => {
  it('init wrote init.requested then init', async () => {
    const all = await f.entriesAfter(0);
    expect(all.map((e) => [e.action, e.subject, e.details.outcome ?? null])).toEqual([
      ['init.requested', 'ca', null],
      ['init', 'ca', 'committed'],
    ]);
  });

  it('issue, hold, release, renew, revoke: intent then outcome, in that order', async () => {
    let serial = '';
    expect(
      await trail(async () => {
        serial = (await f.issue({ agentId: 'audited', actor: 'alice' })).serial;
      }),
    ).toEqual([
      ['issue.requested', 'audited', 'alice', null],
      ['issue', 'audited', 'alice', 'committed'],
    ]);
    expect(await trail(() => f.authority.hold(serial, { actor: 'risk-engine', details: { score: 0.8 } }))).toEqual([
      ['hold.requested', serial, 'risk-engine', null],
      ['hold', serial, 'risk-engine', 'committed'],
    ]);
    expect(await trail(() => f.authority.release(serial, { actor: 'bob' }))).toEqual([
      ['release.requested', serial, 'bob', null],
      ['release', serial, 'bob', 'committed'],
    ]);
    let renewed = '';
    expect(
      await trail(async () => {
        renewed = (await f.authority.renew(serial, { actor: 'carol' })).serial;
      }),
    ).toEqual([
      ['renew.requested', 'audited', 'carol', null],
      ['renew', 'audited', 'carol', 'committed'],
    ]);
    expect(await trail(() => f.authority.revoke(renewed, { reason: 'keyCompromise', actor: 'dave' }))).toEqual([
      ['revoke.requested', renewed, 'dave', null],
      ['revoke', renewed, 'dave', 'committed'],
    ]);
  });

  it('the entries carry what a regulator needs: agent, serial, reason, renewal link, caller details', async () => {
    const issued = await f.issue({ agentId: 'evidence' });
    const mark = await f.headSeq();
    await f.authority.hold(issued.serial, { details: { riskScore: 0.81 } });
    await f.authority.release(issued.serial);
    const renewed = await f.authority.renew(issued.serial);
    await f.authority.revoke(issued.serial, { reason: 'superseded' });
    const [holdReq, hold, , release, , renew, , revoke] = await f.entriesAfter(mark);
    expect(holdReq!.details).toMatchObject({ agentId: 'evidence', reason: 'certificateHold', riskScore: 0.81 });
    expect(hold!.details).toMatchObject({
      agentId: 'evidence',
      reason: 'certificateHold',
      riskScore: 0.81,
      outcome: 'committed',
    });
    expect(release!.details).toMatchObject({ agentId: 'evidence', outcome: 'committed' });
    expect(renew!.details).toMatchObject({
      serial: renewed.serial,
      renewalOf: issued.serial,
      agentId: 'evidence',
      outcome: 'committed',
    });
    expect(revoke!.details).toMatchObject({ agentId: 'evidence', reason: 'superseded', outcome: 'committed' });
  });

  it('refused operations append nothing', async () => {
    const { serial } = await f.issue();
    await f.authority.revoke(serial, { reason: 'superseded' });
    const mark = await f.headSeq();
    await expect(f.authority.revoke(serial, { reason: 'superseded' })).rejects.toThrow();
    await expect(f.authority.hold(serial)).rejects.toThrow();
    await expect(f.authority.release(serial)).rejects.toThrow();
    await expect(f.authority.renew(serial)).rejects.toThrow();
    await expect(f.authority.revoke('nothex')).rejects.toThrow();
    await expect(f.authority.issue({ agentId: 'bad id with spaces', publicKey: 'x' })).rejects.toThrow();
    expect(await f.headSeq()).toBe(mark);
  });

  it('the chain is intact: seqs without gaps, each entry links to the previous and matches its hash; verify() is ok', async () => {
    const all = await f.entriesAfter(0);
    let prev = GENESIS_HASH;
    all.forEach((e, i) => {
      expect(e.seq).toBe(i + 1);
      expect(e.prevHash).toBe(prev);
      expect(entryHash(e)).toBe(e.hash);
      prev = e.hash;
    });
    const v = await f.authority.audit.verify();
    // checkpoints are time-driven (auditCheckpointIntervalMs); their number depends on the wall clock
    expect(v).toEqual({
      ok: true,
      entries: all.length,
      checkpoints: expect.any(Number),
      head: { seq: all.length, hash: prev },
    });
  });
});
