/**
 * The compact window against the ring of buckets: the same random event streams (late events,
 * refused ones, reclaimed slots, flags, amounts) give bit-identical features at every time, and
 * the compact form holds only the buckets it used. And the rate-baseline memo, in both forms,
 * never survives an event that changes the baseline.
 */
import { describe, expect, it } from 'vitest';
import { CompactWindow, RingScratch } from '../../../src/risk/compact-window.js';
import { amountStats, DEFAULT_FEATURE_PARAMS, extractFeatures, rateBaseline } from '../../../src/risk/features.js';
import { AgentWindow, bucketOf, DEFAULT_WINDOW_SHAPE, type BucketIncrement } from '../../../src/risk/window.js';
import { prng } from '../../helpers/prng.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2031-01-01T00:00:00Z');

function randomIncrement(r: () => number): BucketIncrement {
  return {
    type: r() < 0.5 ? 'api_call' : 'transaction',
    outcome: r() < 0.9 ? 'success' : 'denied',
    ...(r() < 0.05 ? { scopeViolation: true } : {}),
    ...(r() < 0.03 ? { policyBreach: true } : {}),
    ...(r() < 0.03 ? { authFailure: true } : {}),
    ...(r() < 0.02 ? { anomalous: true } : {}),
    ...(r() < 0.4 ? { amountLog: Math.log1p(r() * 100_000) } : {}),
  };
}

describe('CompactWindow', () => {
  it('gives the ring-of-buckets features bit for bit over random streams', () => {
    const shape = { bucketMs: HOUR, bucketCount: 48 };
    const ring = new RingScratch(shape);
    for (let seed = 1; seed <= 30; seed++) {
      const r = prng(seed);
      const a = new AgentWindow(shape);
      const c = new CompactWindow(shape);
      let now = T0;
      for (let i = 0; i < 600; i++) {
        now += Math.floor(r() * 0.4 * HOUR);
        // mostly now, sometimes late (inside or beyond the ring), to reclaim and refuse
        const late = r() < 0.2 ? Math.floor(r() * 60 * HOUR) : 0;
        const inc = randomIncrement(r);
        expect(c.add(now - late, inc)).toBe(a.add(now - late, inc));
        if (i % 37 === 0) {
          const at = now + Math.floor(r() * 3 * HOUR) - HOUR;
          ring.with(c, (w) => {
            expect(amountStats(w, at)).toEqual(amountStats(a, at));
            const nb = bucketOf(at, HOUR);
            expect(rateBaseline(w, nb, 0.95)).toEqual(rateBaseline(a, nb, 0.95));
            expect(extractFeatures(w, at, DEFAULT_FEATURE_PARAMS)).toEqual(
              extractFeatures(a, at, DEFAULT_FEATURE_PARAMS),
            );
            expect(w.firstBucket).toBe(a.firstBucket);
            expect(w.lastBucket).toBe(a.lastBucket);
          });
          expect(c.idle(at)).toBe(a.idle(at));
        }
      }
      expect(c.rowCount).toBeLessThanOrEqual(shape.bucketCount);
    }
  });

  it('holds the buckets it used: 12 bytes a bucket, +16 with amounts, +20 with a flag', () => {
    const quiet = new CompactWindow(DEFAULT_WINDOW_SHAPE);
    for (let h = 0; h < 40; h++) quiet.add(T0 + h * 18 * HOUR, { type: 'api_call', outcome: 'success' });
    expect(quiet.rowCount).toBe(40);
    expect(quiet.bytes).toBe(64 * 12); // capacity doubles: 40 rows in 64
    const busy = new CompactWindow(DEFAULT_WINDOW_SHAPE);
    for (let h = 0; h < 720; h++)
      for (let k = 0; k < 3; k++)
        busy.add(T0 + h * HOUR, { type: 'transaction', outcome: 'success', amountLog: Math.log1p(100 + k) });
    busy.add(T0, { type: 'api_call', outcome: 'denied', scopeViolation: true });
    expect(busy.rowCount).toBe(720);
    expect(busy.bytes).toBeLessThan(new AgentWindow().counts.byteLength);
    // a 721st hour reclaims the oldest bucket's slot instead of growing
    busy.add(T0 + 720 * HOUR, { type: 'api_call', outcome: 'success' });
    expect(busy.rowCount).toBe(720);
  });
});

describe('the rate-baseline memo', () => {
  /**
   * 718 complete hours, 36 of them busy (100 events) and the oldest of those in the first
   * bucket of the window: exactly enough for the p95 to be 100. An event one bucket after the
   * memo's reclaims that bucket's slot, and the p95 at the memo's bucket drops to 1.
   */
  function fill(add: (t: number) => void, m: number): void {
    for (let b = m - 719; b <= m - 2; b++) {
      const n = b < m - 719 + 36 ? 100 : 1;
      for (let i = 0; i < n; i++) add(b * HOUR + 30 * 60_000);
    }
  }
  const inc = { type: 'api_call', outcome: 'success' as const };
  const m = bucketOf(T0, HOUR);

  it('AgentWindow: an event that reclaims a slot the baseline read makes the memo stale', () => {
    const w = new AgentWindow();
    fill((t) => w.add(t, inc), m);
    const compute = (): ReturnType<typeof rateBaseline> => rateBaseline(w, m, 0.95);
    expect(w.baseline(m, 0.95, compute)).toEqual({ value: 100, history: 718 });
    // scored at M, then an event in M + 1 (the clock moved on) reclaims bucket M - 719's slot
    expect(w.add((m + 1) * HOUR, inc)).toBe(true);
    expect(compute()).toEqual({ value: 1, history: 718 });
    expect(w.baseline(m, 0.95, compute)).toEqual({ value: 1, history: 718 });
  });

  it('AgentWindow: a backfilled past hour, or a new first bucket, makes it stale', () => {
    const w = new AgentWindow();
    w.add((m - 3) * HOUR, inc);
    const compute = (): ReturnType<typeof rateBaseline> => rateBaseline(w, m, 0.95);
    expect(w.baseline(m, 0.95, compute)).toEqual({ value: 1, history: 2 });
    for (let i = 0; i < 5; i++) w.add((m - 2) * HOUR, inc); // oldest-first replay of the previous hour
    expect(w.baseline(m, 0.95, compute)).toEqual({ value: 5, history: 2 });
    w.add((m - 10) * HOUR, inc); // a new first bucket lengthens the history
    expect(w.baseline(m, 0.95, compute)).toEqual(compute());
    expect(compute().history).toBe(9);
    // events in the current and previous bucket leave it alone (the rate reads those directly)
    w.add(m * HOUR, inc);
    w.add((m - 1) * HOUR, inc);
    expect(w.baseline(m, 0.95, () => ({ value: -1, history: -1 }))).toEqual(compute());
  });

  it('CompactWindow: the same rules', () => {
    const c = new CompactWindow(DEFAULT_WINDOW_SHAPE);
    const ring = new RingScratch(DEFAULT_WINDOW_SHAPE);
    fill((t) => c.add(t, inc), m);
    expect(ring.with(c, (w) => c.baseline(w, m, 0.95))).toEqual({ value: 100, history: 718 });
    expect(c.add((m + 1) * HOUR, inc)).toBe(true);
    expect(ring.with(c, (w) => c.baseline(w, m, 0.95))).toEqual({ value: 1, history: 718 });
    c.add((m - 700) * HOUR, inc);
    expect(ring.with(c, (w) => c.baseline(w, m, 0.95))).toEqual(ring.with(c, (w) => rateBaseline(w, m, 0.95)));
  });
});
