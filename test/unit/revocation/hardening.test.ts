/**
 * Defects from the adversarial pass, each reproduced first: an invalidity date that no CRL can
 * encode (D1), and CA or responder serials revoked through the agent path (D3).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryFromRevocation } from '../../../src/crl/full.js';
import type { RevocationRecord } from '../../../src/store/ports.js';
import type { IssuerId, Serial } from '../../../src/types.js';
import { expectAgentCaError, makeLifecycleFixture, START, type LifecycleFixture } from '../authority/fixture.js';

let f: LifecycleFixture;
beforeEach(async () => {
  f = await makeLifecycleFixture();
});
afterEach(async () => {
  await f.close();
});

describe('D1: invalidityDate is checked at the door', () => {
  it.each([
    ['year -1', new Date('-000001-01-01T00:00:00Z'), /before 1950/],
    ['before 1950', new Date('1949-12-31T23:59:59Z'), /before 1950/],
    ['an invalid Date', new Date(NaN), /valid time/],
    ['after the revocation', new Date(Date.parse(START) + 1), /after the revocation time/],
  ])('refuses %s with ACA_ERR_INPUT_INVALID and writes nothing', async (_what, invalidityDate, message) => {
    const { serial } = await f.issue();
    const head = await f.headSeq();
    const e = await expectAgentCaError(
      () => f.authority.revoke(serial, { reason: 'keyCompromise', invalidityDate }),
      'ACA_ERR_INPUT_INVALID',
    );
    expect(e.message).toMatch(message);
    expect(e.details).toMatchObject({ fields: { invalidityDate: expect.any(String) } });
    expect(await f.headSeq()).toBe(head);
    expect((await f.authority.show(serial)).status.state).toBe('good');
  });

  it('accepts 1950-01-01 and the revocation instant itself', async () => {
    const a = await f.issue();
    const b = await f.issue();
    expect(
      (
        await f.authority.revoke(a.serial, {
          reason: 'keyCompromise',
          invalidityDate: new Date('1950-01-01T00:00:00Z'),
        })
      ).invalidityDate?.toISOString(),
    ).toBe('1950-01-01T00:00:00.000Z');
    expect(
      (
        await f.authority.revoke(b.serial, { reason: 'keyCompromise', invalidityDate: new Date(START) })
      ).invalidityDate?.toISOString(),
    ).toBe(START);
  });

  it('a stored out-of-range invalidityDate (written before the check) still lists the revocation in CRLs, without that extension', () => {
    const legacy: RevocationRecord = {
      serial: '0abc' as Serial,
      issuerId: 'intermediate' as IssuerId,
      revokedAt: new Date(START),
      reason: 'keyCompromise',
      invalidityDate: new Date('-000001-01-01T00:00:00Z'),
      actor: 'old',
      changeSeq: 1,
    };
    expect(entryFromRevocation(legacy)).toEqual({
      serial: '0abc',
      revokedAt: new Date(START),
      reason: 'keyCompromise',
    });
    const fine = { ...legacy, invalidityDate: new Date('2030-01-01T00:00:00Z') };
    expect(entryFromRevocation(fine).invalidityDate?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });
});

describe('D3: CA certificates change status only through the CA path', () => {
  it('revoke/hold/release refuse the root, the intermediate and the OCSP responders (ACA_ERR_REVOKE_CA_REFUSED), writing nothing', async () => {
    const responders: string[] = [];
    for await (const r of f.authority.store.certificates.iterate())
      if (r.profile === 'ocsp-responder') responders.push(r.serial);
    expect(responders).toHaveLength(2);
    const head = await f.headSeq();
    for (const serial of [
      f.authority.ca('root').certificate.serial,
      f.authority.ca('intermediate').certificate.serial,
      ...responders,
    ]) {
      await expectAgentCaError(
        () => f.authority.revoke(serial, { reason: 'cACompromise' }),
        'ACA_ERR_REVOKE_CA_REFUSED',
      );
      await expectAgentCaError(() => f.authority.hold(serial), 'ACA_ERR_REVOKE_CA_REFUSED');
      await expectAgentCaError(() => f.authority.release(serial), 'ACA_ERR_REVOKE_CA_REFUSED');
    }
    expect(await f.headSeq()).toBe(head);
    for (const serial of [
      f.authority.ca('root').certificate.serial,
      f.authority.ca('intermediate').certificate.serial,
    ]) {
      expect((await f.authority.show(serial)).status.state).toBe('good');
    }
  });

  it('refuses to revoke the root at all, and unknown CA names', async () => {
    const head = await f.headSeq();
    const e = await expectAgentCaError(
      () => f.authority.revokeCa('root', { reason: 'cACompromise' }),
      'ACA_ERR_REVOKE_CA_REFUSED',
    );
    expect(e.message).toMatch(/trust anchor/);
    await expectAgentCaError(() => f.authority.revokeCa('other', { reason: 'cACompromise' }), 'ACA_ERR_INPUT_INVALID');
    expect(await f.headSeq()).toBe(head);
  });

  it('revokeCa("intermediate") is audited as a CA action and cascades', async () => {
    const agent = await f.issue();
    const head = await f.headSeq();
    const rec = await f.authority.revokeCa('intermediate', { reason: 'cACompromise', actor: 'ops:alice' });
    const entries = await f.entriesAfter(head);
    expect(entries.map((e) => e.action)).toEqual(['ca.revoke.requested', 'revoke.requested', 'revoke']);
    expect(entries[0]).toMatchObject({
      actor: 'ops:alice',
      subject: 'intermediate',
      details: { ca: 'intermediate', serial: rec.serial, reason: 'cACompromise' },
    });
    expect(entries[2]!.details).toMatchObject({ ca: 'intermediate', outcome: 'committed' });
    expect((await f.authority.show(agent.serial)).status).toMatchObject({
      state: 'revoked',
      reason: 'cACompromise',
      inheritedFrom: rec.serial,
    });
  });
});

describe('concurrent status changes of one certificate (found by the soak test)', () => {
  it('two simultaneous revokes: exactly one succeeds, the other is REVOKE_ALREADY, and the first reason stands', async () => {
    const { serial } = await f.issue();
    const results = await Promise.allSettled([
      f.authority.revoke(serial, { reason: 'superseded' }),
      f.authority.revoke(serial, { reason: 'cessationOfOperation' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      code: 'ACA_ERR_REVOKE_ALREADY',
    });
    expect((await f.authority.show(serial)).status.reason).toBe('superseded');
    const changes = [];
    for await (const c of f.authority.store.revocations.changesSince('intermediate' as IssuerId, 0)) changes.push(c);
    expect(changes).toHaveLength(1);
  });

  it('hold and revoke racing: one wins, the state is consistent', async () => {
    const { serial } = await f.issue();
    const results = await Promise.allSettled([
      f.authority.hold(serial),
      f.authority.revoke(serial, { reason: 'keyCompromise' }),
    ]);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true); // the hold, then the revoke makes it permanent
    expect((await f.authority.show(serial)).status).toMatchObject({ state: 'revoked', reason: 'keyCompromise' });
  });
});
