/**
 * Revoke, hold and release through the Authority (memory store, FixedClock): every RFC 5280
 * §5.3.1 reason, the one allowed re-revocation (upgrade to keyCompromise, revocation time
 * kept), certificateHold as its own state, the invalidity date rule (§5.3.2), input errors,
 * and a revoked intermediate making everything under it read as revoked (§6.1.3).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REVOKE_REASONS } from '../../../src/revocation/reasons.js';
import type { RevocationReason, StatusChange } from '../../../src/store/ports.js';
import type { IssuerId } from '../../../src/types.js';
import { expectAgentCaError, makeLifecycleFixture, START, type LifecycleFixture } from '../authority/fixture.js';

const INTERMEDIATE = 'intermediate' as IssuerId;

let f: LifecycleFixture;
beforeEach(async () => {
  f = await makeLifecycleFixture();
});
afterEach(async () => {
  await f.close();
});

describe('revoke', () => {
  it('accepts every RFC 5280 reason except certificateHold and removeFromCRL', () => {
    expect([...REVOKE_REASONS].sort()).toEqual(
      [
        'aACompromise',
        'affiliationChanged',
        'cACompromise',
        'cessationOfOperation',
        'keyCompromise',
        'privilegeWithdrawn',
        'superseded',
        'unspecified',
      ].sort(),
    );
  });

  it.each(REVOKE_REASONS.map((r) => [r]))(
    'revokes with reason %s: record, status and journal agree',
    async (reason: RevocationReason) => {
      const { serial } = await f.issue();
      const rec = await f.authority.revoke(serial, { reason });
      expect(rec).toMatchObject({ serial, reason, issuerId: 'intermediate', actor: 'library' });
      expect(rec.revokedAt.toISOString()).toBe(START);
      expect(rec.changeSeq).toBeGreaterThan(0);
      const view = await f.authority.show(serial);
      expect(view.status).toEqual({ state: 'revoked', reason, revokedAt: new Date(START) });
      const stored = await f.authority.store.revocations.get(serial);
      expect(stored).toMatchObject({ serial, reason, changeSeq: rec.changeSeq });
      const changes: StatusChange[] = [];
      for await (const c of f.authority.store.revocations.changesSince(INTERMEDIATE, 0)) changes.push(c);
      expect(changes.map((c) => [c.serial, c.kind, c.reason])).toEqual([[serial, 'revoked', reason]]);
    },
  );

  it('defaults to unspecified and accepts a serial typed with colons, 0x or upper case', async () => {
    const { serial } = await f.issue();
    const typed = `0x${serial.toUpperCase().match(/../g)!.join(':')}`;
    expect((await f.authority.revoke(typed)).reason).toBe('unspecified');
    expect((await f.authority.show(serial)).status.state).toBe('revoked');
  });

  it('refuses to revoke twice with ACA_ERR_REVOKE_ALREADY and writes nothing', async () => {
    const { serial } = await f.issue();
    await f.authority.revoke(serial, { reason: 'superseded' });
    const head = await f.headSeq();
    f.clock.advance(60_000);
    for (const reason of ['superseded', 'cessationOfOperation', 'unspecified'] as const) {
      const e = await expectAgentCaError(() => f.authority.revoke(serial, { reason }), 'ACA_ERR_REVOKE_ALREADY');
      expect(e.message).toContain(serial);
      expect(e.details).toMatchObject({ serial, reason: 'superseded' });
    }
    expect(await f.headSeq()).toBe(head);
    expect((await f.authority.show(serial)).status.reason).toBe('superseded');
  });

  it('lets a later keyCompromise upgrade the reason, keeping the original revocation time; no second upgrade', async () => {
    const { serial } = await f.issue();
    await f.authority.revoke(serial, { reason: 'superseded' });
    f.clock.advance(3_600_000);
    const compromisedAt = new Date(Date.parse(START) + 1_800_000);
    const up = await f.authority.revoke(serial, { reason: 'keyCompromise', invalidityDate: compromisedAt });
    expect(up.reason).toBe('keyCompromise');
    expect(up.revokedAt.toISOString()).toBe(START);
    const status = (await f.authority.show(serial)).status;
    expect(status).toEqual({
      state: 'revoked',
      reason: 'keyCompromise',
      revokedAt: new Date(START),
      invalidityDate: compromisedAt,
    });
    const changes: StatusChange[] = [];
    for await (const c of f.authority.store.revocations.changesSince(INTERMEDIATE, 0)) changes.push(c);
    expect(changes.map((c) => [c.kind, c.reason])).toEqual([
      ['revoked', 'superseded'],
      ['reason-changed', 'keyCompromise'],
    ]);
    await expectAgentCaError(() => f.authority.revoke(serial, { reason: 'keyCompromise' }), 'ACA_ERR_REVOKE_ALREADY');
  });

  it.each([['certificateHold'], ['removeFromCRL']] as const)(
    'refuses %s as a revoke reason (ACA_ERR_INPUT_REASON_UNKNOWN)',
    async (reason) => {
      const { serial } = await f.issue();
      const head = await f.headSeq();
      await expectAgentCaError(() => f.authority.revoke(serial, { reason }), 'ACA_ERR_INPUT_REASON_UNKNOWN');
      expect(await f.headSeq()).toBe(head);
      expect((await f.authority.show(serial)).status.state).toBe('good');
    },
  );

  it('refuses an invalidity date in the future (RFC 5280 §5.3.2) and accepts one in the past', async () => {
    const { serial } = await f.issue();
    const head = await f.headSeq();
    const e = await expectAgentCaError(
      () => f.authority.revoke(serial, { reason: 'keyCompromise', invalidityDate: new Date(Date.parse(START) + 1000) }),
      'ACA_ERR_INPUT_INVALID',
    );
    expect(e.message).toMatch(/invalidity date/);
    expect(await f.headSeq()).toBe(head);
    expect((await f.authority.show(serial)).status.state).toBe('good');
    const past = new Date(Date.parse(START) - 86_400_000);
    const rec = await f.authority.revoke(serial, { reason: 'keyCompromise', invalidityDate: past });
    expect(rec.invalidityDate?.toISOString()).toBe(past.toISOString());
  });

  it('answers an unknown serial with CERT_NOT_FOUND and a malformed one with INPUT_SERIAL_MALFORMED', async () => {
    const head = await f.headSeq();
    await expectAgentCaError(() => f.authority.revoke('0badc0ffee0badc0ffee0badc0ffee00'), 'ACA_ERR_CERT_NOT_FOUND');
    for (const bad of ['not-a-serial', 'zz', '', '0x', 'ab'.repeat(21)]) {
      await expectAgentCaError(() => f.authority.revoke(bad), 'ACA_ERR_INPUT_SERIAL_MALFORMED');
      await expectAgentCaError(() => f.authority.hold(bad), 'ACA_ERR_INPUT_SERIAL_MALFORMED');
      await expectAgentCaError(() => f.authority.show(bad), 'ACA_ERR_INPUT_SERIAL_MALFORMED');
    }
    await expectAgentCaError(() => f.authority.hold('0badc0ffee'), 'ACA_ERR_CERT_NOT_FOUND');
    await expectAgentCaError(() => f.authority.release('0badc0ffee'), 'ACA_ERR_CERT_NOT_FOUND');
    await expectAgentCaError(() => f.authority.show('0badc0ffee'), 'ACA_ERR_CERT_NOT_FOUND');
    expect(await f.headSeq()).toBe(head);
  });
});

describe('hold and release (certificateHold)', () => {
  it('hold -> held; hold twice refused; release -> good; release again refused', async () => {
    const { serial } = await f.issue();
    const held = await f.authority.hold(serial);
    expect(held).toMatchObject({ serial, reason: 'certificateHold' });
    expect((await f.authority.show(serial)).status).toEqual({
      state: 'held',
      reason: 'certificateHold',
      revokedAt: new Date(START),
    });
    const head = await f.headSeq();
    const e = await expectAgentCaError(() => f.authority.hold(serial), 'ACA_ERR_REVOKE_ALREADY');
    expect(e.message).toMatch(/already on hold/);
    expect(await f.headSeq()).toBe(head);

    f.clock.advance(1000);
    await f.authority.release(serial);
    expect((await f.authority.show(serial)).status).toEqual({ state: 'good' });
    expect(await f.authority.store.revocations.get(serial)).toBeUndefined();
    await expectAgentCaError(() => f.authority.release(serial), 'ACA_ERR_REVOKE_NOT_HELD');

    const changes: StatusChange[] = [];
    for await (const c of f.authority.store.revocations.changesSince(INTERMEDIATE, 0)) changes.push(c);
    expect(changes.map((c) => [c.kind, c.reason])).toEqual([
      ['held', 'certificateHold'],
      ['released', 'certificateHold'],
    ]);
  });

  it('refuses to release a revoked certificate (REVOKE_NOT_HELD) or hold it (REVOKE_ALREADY); it stays revoked', async () => {
    const { serial } = await f.issue();
    await f.authority.revoke(serial, { reason: 'privilegeWithdrawn' });
    const head = await f.headSeq();
    const e = await expectAgentCaError(() => f.authority.release(serial), 'ACA_ERR_REVOKE_NOT_HELD');
    expect(e.message).toMatch(/permanent/);
    await expectAgentCaError(() => f.authority.hold(serial), 'ACA_ERR_REVOKE_ALREADY');
    expect(await f.headSeq()).toBe(head);
    expect((await f.authority.show(serial)).status).toMatchObject({ state: 'revoked', reason: 'privilegeWithdrawn' });
  });

  it('revoking a held certificate makes it revoked as of the hold time', async () => {
    const { serial } = await f.issue();
    await f.authority.hold(serial);
    f.clock.advance(2 * 3_600_000);
    const rec = await f.authority.revoke(serial, { reason: 'cessationOfOperation' });
    expect(rec.revokedAt.toISOString()).toBe(START);
    expect((await f.authority.show(serial)).status).toEqual({
      state: 'revoked',
      reason: 'cessationOfOperation',
      revokedAt: new Date(START),
    });
    await expectAgentCaError(() => f.authority.release(serial), 'ACA_ERR_REVOKE_NOT_HELD');
    const changes: StatusChange[] = [];
    for await (const c of f.authority.store.revocations.changesSince(INTERMEDIATE, 0)) changes.push(c);
    expect(changes.map((c) => [c.kind, c.reason])).toEqual([
      ['held', 'certificateHold'],
      ['revoked', 'cessationOfOperation'],
    ]);
  });
});

describe('revoking the intermediate', () => {
  it('makes every agent under it read as revoked, with status.inheritedFrom naming the intermediate', async () => {
    const a = await f.issue({ agentId: 'bot-a' });
    const b = await f.issue({ agentId: 'bot-b' });
    const held = await f.issue({ agentId: 'bot-held' });
    const own = await f.issue({ agentId: 'bot-own' });
    await f.authority.hold(held.serial);
    f.clock.advance(1000);
    await f.authority.revoke(own.serial, { reason: 'superseded' });
    f.clock.advance(1000);
    const intermediate = f.authority.ca('intermediate').certificate.serial;
    const rec = await f.authority.revokeCa('intermediate', { reason: 'cACompromise' });
    expect(rec.issuerId).toBe('root');

    for (const s of [a.serial, b.serial, held.serial]) {
      expect((await f.authority.show(s)).status, s).toEqual({
        state: 'revoked',
        reason: 'cACompromise',
        revokedAt: rec.revokedAt,
        inheritedFrom: intermediate,
      });
    }
    // its own, earlier revocation stays what it was
    expect((await f.authority.show(own.serial)).status).toEqual({
      state: 'revoked',
      reason: 'superseded',
      revokedAt: new Date(Date.parse(START) + 1000),
    });
    expect((await f.authority.show(intermediate)).status).toMatchObject({ state: 'revoked', reason: 'cACompromise' });
    expect((await f.authority.show(intermediate)).status.inheritedFrom).toBeUndefined();
    // the root and the root's OCSP responder are not under the intermediate
    const root = f.authority.ca('root').certificate.serial;
    expect((await f.authority.show(root)).status.state).toBe('good');

    expect((await f.authority.list({ status: 'good' })).map((v) => v.record.serial)).toEqual([]);
    expect((await f.authority.list({ status: 'revoked' })).map((v) => v.record.serial).sort()).toEqual(
      [a.serial, b.serial, held.serial, own.serial].sort(),
    );
    expect(await f.authority.audit.verify()).toMatchObject({ ok: true });
  });
});
