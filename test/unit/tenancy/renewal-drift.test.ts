/** Renewal window (RFC 9773 manner) and drift between a registration and what an agent runs. */
import { describe, expect, it } from 'vitest';
import { driftOf } from '../../../src/tenancy/drift.js';
import { renewalWindow } from '../../../src/tenancy/renewal-window.js';

const nb = new Date('2026-01-01T00:00:00Z');
const na = new Date('2026-04-01T00:00:00Z'); // 90 days

describe('renewalWindow', () => {
  it('a good certificate: from 2/3 to 5/6 of its lifetime, Retry-After capped at 6 h', () => {
    const w = renewalWindow({
      serial: 'aa',
      notBefore: nb,
      notAfter: na,
      state: 'good',
      drift: [],
      now: new Date('2026-01-02T00:00:00Z'),
    });
    expect(w.suggestedWindow).toEqual({ start: '2026-03-02T00:00:00.000Z', end: '2026-03-17T00:00:00.000Z' });
    expect(w.retryAfterSeconds).toBe(6 * 3600);
    expect(w.explanation).toBeUndefined();
  });
  it('revoked, held, superseded or drifted: the window is already open, and says why', () => {
    const now = new Date('2026-01-10T00:00:00Z');
    for (const [extra, why] of [
      [{ state: 'revoked' }, /revoked/],
      [{ state: 'held' }, /held/],
      [{ state: 'good', superseded: 'modelHash changed' }, /superseded/],
      [{ state: 'good', drift: [{ field: 'scope', registered: [], observed: ['x'] }] }, /scope/],
    ] as const) {
      const w = renewalWindow({
        serial: 'aa',
        notBefore: nb,
        notAfter: na,
        drift: [],
        now,
        ...(extra as object),
        state: (extra as { state: string }).state,
      });
      expect(Date.parse(w.suggestedWindow.start)).toBeLessThan(now.getTime());
      expect(Date.parse(w.suggestedWindow.end)).toBeGreaterThanOrEqual(now.getTime());
      expect(w.explanation).toMatch(why);
    }
  });
});

describe('driftOf', () => {
  const reg = { modelHash: { algorithm: 'sha256' as const, digest: 'ab'.repeat(32) }, scope: ['read:a', 'write:b'] };
  it('names each changed field with both values; order of scope entries and hex case do not matter', () => {
    expect(
      driftOf(reg, { modelHash: { algorithm: 'sha256', digest: 'AB'.repeat(32) }, scope: ['write:b', 'read:a'] }),
    ).toEqual([]);
    expect(driftOf(reg, { scope: ['read:a', 'write:b', 'delete:c'] })).toEqual([
      { field: 'scope', registered: ['read:a', 'write:b'], observed: ['delete:c', 'read:a', 'write:b'] },
    ]);
    expect(driftOf(reg, { modelHash: { algorithm: 'sha384', digest: 'ab'.repeat(48) } })[0]).toMatchObject({
      field: 'modelHash',
      registered: `sha256:${'ab'.repeat(32)}`,
    });
    expect(driftOf(reg, {})).toEqual([]);
  });
});
