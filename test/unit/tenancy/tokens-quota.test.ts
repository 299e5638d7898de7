/** Token store and event quota with an injected clock: expiry, revocation, legacy tokens, refill. */
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { FixedClock } from '../../../src/clock.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { EventQuota } from '../../../src/tenancy/quota.js';
import {
  hashToken,
  LEGACY_ADMIN_TOKENS_KEY,
  parseExpiry,
  TokenStore,
  TOKENS_KEY,
} from '../../../src/tenancy/tokens.js';

async function tokenStore(envToken?: string) {
  const store = await createMemoryStore();
  const clock = new FixedClock('2026-06-01T00:00:00Z');
  const audit = new AuditLog({ store, clock });
  const tokens = new TokenStore({ store, audit: () => audit, clock, ...(envToken ? { envToken } : {}) });
  await tokens.reload();
  return { store, clock, tokens };
}

const allow = async () => undefined;

describe('TokenStore', () => {
  it('stores only the hash, authenticates, expires on the clock, revokes at once (audited)', async () => {
    const { store, clock, tokens } = await tokenStore();
    const { token, view } = await tokens.create(
      { name: 'ops', role: 'operator', tenant: 'acme', expires: '1d' },
      'test',
      allow,
    );
    expect(view).toMatchObject({
      role: 'operator',
      tenant: 'acme',
      state: 'active',
      expiresAt: '2026-06-02T00:00:00.000Z',
    });
    const stored = JSON.stringify(await store.meta.get(TOKENS_KEY));
    expect(stored).not.toContain(token);
    expect(stored).toContain(hashToken(token).toString('hex'));
    expect(await tokens.authenticate(`Bearer ${token}`)).toMatchObject({
      role: 'operator',
      tenant: 'acme',
      name: 'ops',
    });
    expect(await tokens.authenticate(`Bearer ${token}x`)).toBeUndefined();
    expect(await tokens.authenticate(token)).toBeUndefined();
    clock.advance(86_400_000);
    expect(await tokens.authenticate(`Bearer ${token}`)).toBeUndefined();
    expect((await tokens.list())[0]!.state).toBe('expired');

    const b = await tokens.create({ name: 'agent', role: 'agent', tenant: 'acme', agentId: 'bot' }, 'test', allow);
    expect(await tokens.authenticate(`Bearer ${b.token}`)).toMatchObject({ role: 'agent', agentId: 'bot' });
    await tokens.revoke(b.view.id, 'test');
    expect(await tokens.authenticate(`Bearer ${b.token}`)).toBeUndefined();
    const actions = [];
    for await (const e of store.audit.iterate()) actions.push(e.action);
    expect(actions).toEqual(['token.create', 'token.create', 'token.revoke']);
    await expect(tokens.revoke('tok_nope', 'test')).rejects.toMatchObject({ code: 'ACA_ERR_TOKEN_NOT_FOUND' });
  });

  it("accepts the first releases' admin tokens and the environment token as admin", async () => {
    const { store, tokens } = await tokenStore('env-secret');
    await store.meta.put(LEGACY_ADMIN_TOKENS_KEY, [
      { name: 'old', sha256: hashToken('aca_old').toString('hex'), createdAt: '2026-01-01T00:00:00Z' },
    ]);
    await tokens.reload();
    expect(await tokens.authenticate('Bearer aca_old')).toMatchObject({ role: 'admin', name: 'old' });
    expect(await tokens.authenticate('Bearer env-secret')).toMatchObject({ role: 'admin', id: 'env' });
  });

  it('refuses bad subjects with the field named', async () => {
    const { tokens } = await tokenStore();
    const field = async (input: Record<string, unknown>) =>
      Object.keys(
        (
          (await tokens.create(input as never, 't', allow).catch((e: { details: { fields: object } }) => e)) as {
            details: { fields: object };
          }
        ).details.fields,
      );
    expect(await field({ name: 'x', role: 'root' })).toEqual(['role']);
    expect(await field({ name: 'x', role: 'admin', tenant: 'acme' })).toEqual(['tenant']);
    expect(await field({ name: 'x', role: 'auditor' })).toEqual(['tenant']);
    expect(await field({ name: 'x', role: 'agent', tenant: 'acme' })).toEqual(['agentId']);
    expect(await field({ name: 'bad name', role: 'admin' })).toEqual(['name']);
    expect(await field({ name: 'x', role: 'admin', expires: '0d' })).toEqual(['expires']);
  });

  it('parses expiry as relative days/hours/minutes or an ISO time in the future', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(parseExpiry('90d', now)!.toISOString()).toBe('2026-08-30T00:00:00.000Z');
    expect(parseExpiry('12h', now)!.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    expect(parseExpiry('2027-01-01T00:00:00Z', now)!.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(() => parseExpiry('2020-01-01T00:00:00Z', now)).toThrow(/future/);
    expect(() => parseExpiry('soon', now)).toThrow(/90d/);
  });
});

describe('EventQuota', () => {
  it('a token bucket per tenant: one second of burst, refilled by the clock, all or nothing', () => {
    const clock = new FixedClock('2026-06-01T00:00:00Z');
    const q = new EventQuota(clock, (t) => (t === 'small' ? 10 : 1000));
    q.take('small', 6);
    q.take('small', 4);
    const e = (() => {
      try {
        q.take('small', 1);
      } catch (err) {
        return err as { code: string; details: { retryAfterSeconds: number } };
      }
    })();
    expect(e).toMatchObject({ code: 'ACA_ERR_QUOTA_EXCEEDED', details: { retryAfterSeconds: 1 } });
    clock.advance(500);
    q.take('small', 5);
    expect(() => q.take('small', 1)).toThrow(/quota/);
    q.refund('small', 3);
    q.take('small', 3);
    // other tenants are untouched
    q.take('big', 1000);
    // more than a second's worth can never fit: refused as invalid, not "retry later"
    expect(() => q.take('small', 11)).toThrow(expect.objectContaining({ code: 'ACA_ERR_INPUT_INVALID' }));
  });
});
