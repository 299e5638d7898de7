/**
 * The hook bus: certificate.issued / revoked / held / released / renewed fire with
 * the right payload after the action has committed; a handler that throws (sync) or rejects
 * (async) is logged and never undoes or blocks the action, nor the other handlers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HookBus, type HookEvents, type HookName } from '../../../src/revocation/hooks.js';
import type { Serial } from '../../../src/types.js';
import { makeLifecycleFixture, START, type LifecycleFixture } from '../authority/fixture.js';

let f: LifecycleFixture;
beforeEach(async () => {
  f = await makeLifecycleFixture();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await f.close();
});

/** Records every event of every kind, in emit order. */
function record(bus: HookBus): Array<{ name: HookName; event: HookEvents[HookName] }> {
  const seen: Array<{ name: HookName; event: HookEvents[HookName] }> = [];
  for (const name of [
    'certificate.issued',
    'certificate.revoked',
    'certificate.held',
    'certificate.released',
    'certificate.renewed',
    'certificate.expiring',
  ] as const) {
    bus.on(name, (event) => {
      seen.push({ name, event });
    });
  }
  return seen;
}

describe('lifecycle hooks', () => {
  it('fire once per action with the certificate, issuer, agent, tenant, time and actor', async () => {
    const seen = record(f.authority.hooks);
    const issued = await f.issue({ agentId: 'hooked-bot', tenant: 'acme', actor: 'alice' });
    await f.authority.hooks.settle();
    const base = { serial: issued.serial, issuerId: 'intermediate', agentId: 'hooked-bot', tenant: 'acme' };
    expect(seen).toEqual([
      {
        name: 'certificate.issued',
        event: { ...base, at: new Date(START), actor: 'alice', notAfter: issued.notAfter, profile: 'agent' },
      },
    ]);

    seen.length = 0;
    f.clock.advance(1000);
    await f.authority.hold(issued.serial, { actor: 'risk-engine' });
    await f.authority.hooks.settle();
    expect(seen).toEqual([
      { name: 'certificate.held', event: { ...base, at: new Date(Date.parse(START) + 1000), actor: 'risk-engine' } },
    ]);

    seen.length = 0;
    f.clock.advance(1000);
    await f.authority.release(issued.serial, { actor: 'bob' });
    await f.authority.hooks.settle();
    expect(seen).toEqual([
      { name: 'certificate.released', event: { ...base, at: new Date(Date.parse(START) + 2000), actor: 'bob' } },
    ]);

    seen.length = 0;
    f.clock.advance(1000);
    const renewed = await f.authority.renew(issued.serial, { actor: 'carol' });
    await f.authority.hooks.settle();
    const renewedBase = { ...base, serial: renewed.serial, at: new Date(Date.parse(START) + 3000), actor: 'carol' };
    expect(seen).toEqual([
      { name: 'certificate.issued', event: { ...renewedBase, notAfter: renewed.notAfter, profile: 'agent' } },
      { name: 'certificate.renewed', event: { ...renewedBase, renewalOf: issued.serial } },
    ]);

    seen.length = 0;
    f.clock.advance(1000);
    const compromised = new Date(Date.parse(START) - 60_000);
    await f.authority.revoke(issued.serial, { reason: 'keyCompromise', invalidityDate: compromised, actor: 'dave' });
    await f.authority.hooks.settle();
    expect(seen).toEqual([
      {
        name: 'certificate.revoked',
        event: {
          ...base,
          at: new Date(Date.parse(START) + 4000),
          actor: 'dave',
          reason: 'keyCompromise',
          invalidityDate: compromised,
        },
      },
    ]);
  });

  it('do not fire for refused actions', async () => {
    const issued = await f.issue();
    await f.authority.revoke(issued.serial, { reason: 'superseded' });
    await f.authority.hooks.settle();
    const seen = record(f.authority.hooks);
    await expect(f.authority.revoke(issued.serial, { reason: 'superseded' })).rejects.toMatchObject({
      code: 'ACA_ERR_REVOKE_ALREADY',
    });
    await expect(f.authority.hold(issued.serial)).rejects.toMatchObject({ code: 'ACA_ERR_REVOKE_ALREADY' });
    await expect(f.authority.release(issued.serial)).rejects.toMatchObject({ code: 'ACA_ERR_REVOKE_NOT_HELD' });
    await expect(f.authority.renew(issued.serial)).rejects.toMatchObject({ code: 'ACA_ERR_REVOKE_INVALID_STATE' });
    await f.authority.hooks.settle();
    expect(seen).toEqual([]);
  });

  it.each([
    [
      'sync throw',
      () => {
        throw new Error('hook exploded');
      },
    ],
    [
      'async rejection',
      async () => {
        await Promise.resolve();
        throw new Error('hook exploded');
      },
    ],
  ] as const)(
    'a handler failing by %s is logged; the revocation stands and the other handlers still run',
    async (_kind, bad) => {
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const before: string[] = [];
      const after: string[] = [];
      f.authority.hooks.on('certificate.revoked', (e) => {
        before.push(e.serial);
      });
      f.authority.hooks.on('certificate.revoked', bad);
      f.authority.hooks.on('certificate.revoked', async (e) => {
        after.push(e.serial);
      });
      const { serial } = await f.issue();
      const rec = await f.authority.revoke(serial, { reason: 'keyCompromise' });
      expect(rec.reason).toBe('keyCompromise');
      await f.authority.hooks.settle();
      expect(before).toEqual([serial]);
      expect(after).toEqual([serial]);
      expect((await f.authority.show(serial)).status).toMatchObject({ state: 'revoked', reason: 'keyCompromise' });
      const logged = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(logged).toContain('hook certificate.revoked failed');
      expect(logged).toContain('hook exploded');
      // the audit trail shows the committed outcome, nothing about the hook undoing it
      const actions = (await f.entriesAfter(0)).filter((e) => e.subject === serial).map((e) => e.action);
      expect(actions).toEqual(['revoke.requested', 'revoke']);
      expect(await f.authority.audit.verify()).toMatchObject({ ok: true });
    },
  );

  it('a failing issued/held hook does not undo issuance or the hold', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    f.authority.hooks.on('certificate.issued', () => {
      throw new Error('no');
    });
    f.authority.hooks.on('certificate.held', () => Promise.reject(new Error('no')));
    const { serial } = await f.issue();
    await f.authority.hold(serial);
    await f.authority.hooks.settle();
    expect((await f.authority.show(serial)).status.state).toBe('held');
  });

  it('on() returns an unsubscribe function', async () => {
    const seen: string[] = [];
    const off = f.authority.hooks.on('certificate.held', (e) => {
      seen.push(e.serial);
    });
    const a = await f.issue();
    await f.authority.hold(a.serial);
    await f.authority.hooks.settle();
    off();
    const b = await f.issue();
    await f.authority.hold(b.serial);
    await f.authority.hooks.settle();
    expect(seen).toEqual([a.serial]);
  });
});

describe('HookBus', () => {
  it('runs handlers after emit returns (never inside the caller) and isolates their failures', async () => {
    const errors: Array<[HookName, unknown]> = [];
    const bus = new HookBus((hook, e) => errors.push([hook, e]));
    const order: string[] = [];
    bus.on('certificate.held', () => {
      order.push('first');
      throw new Error('boom');
    });
    bus.on('certificate.held', () => {
      order.push('second');
    });
    bus.emit('certificate.held', { serial: '01' as Serial, issuerId: 'intermediate', at: new Date(0), actor: 't' });
    order.push('after emit');
    await bus.settle();
    expect(order).toEqual(['after emit', 'first', 'second']);
    expect(errors).toHaveLength(1);
    expect(errors[0]![0]).toBe('certificate.held');
    expect((errors[0]![1] as Error).message).toBe('boom');
  });
});
