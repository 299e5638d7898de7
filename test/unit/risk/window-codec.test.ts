/**
 * The store form of a compact window: decoding gives back the same rows to the bit (counters,
 * both amount sums, flags, first and last bucket), so a window that went to the store and came
 * back scores, and goes on counting, exactly as one that never left.
 */
import { describe, expect, it } from 'vitest';
import { CompactWindow, RingScratch } from '../../../src/risk/compact-window.js';
import { DEFAULT_FEATURE_PARAMS, extractFeatures } from '../../../src/risk/features.js';
import { DEFAULT_WINDOW_SHAPE, type BucketIncrement } from '../../../src/risk/window.js';
import { decodeWindow, encodeWindow } from '../../../src/risk/window-codec.js';
import { prng } from '../../helpers/prng.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2031-01-01T00:00:00Z');

function increment(r: () => number, amounts: boolean): BucketIncrement {
  return {
    type: 'transaction',
    outcome: 'success',
    ...(r() < 0.05 ? { scopeViolation: true } : {}),
    ...(r() < 0.03 ? { policyBreach: true } : {}),
    ...(r() < 0.03 ? { authFailure: true } : {}),
    ...(r() < 0.02 ? { anomalous: true } : {}),
    // some amounts are 0 (ln 1 = 0): a bucket with amounts but zero sums
    ...(amounts && r() < 0.6 ? { amountLog: r() < 0.1 ? 0 : Math.log1p(r() * 100_000) } : {}),
  };
}

/** The live rows of a window, as plain arrays (typed-array capacity beyond them is not state). */
function rowsOf(w: CompactWindow): unknown {
  const p = w.parts();
  return {
    firstBucket: p.firstBucket,
    lastBucket: p.lastBucket,
    rows: [...(p.rows ?? new Uint32Array(0)).subarray(0, p.n * 3)],
    sums: p.sums ? [...p.sums.subarray(0, p.n * 2)].map((v) => (Object.is(v, -0) ? '-0' : v)) : undefined,
    flags: [...(p.flags ?? new Uint32Array(0)).subarray(0, p.nf * 5)],
  };
}

describe('window codec', () => {
  it('round-trips random windows to the bit, and they go on counting and scoring identically', () => {
    const shape = { bucketMs: HOUR, bucketCount: 48 };
    const ring = new RingScratch(shape);
    for (let seed = 1; seed <= 40; seed++) {
      const r = prng(seed);
      const kept = new CompactWindow(shape);
      let moved = new CompactWindow(shape);
      const amounts = seed % 3 !== 0;
      let now = T0;
      for (let i = 0; i < 500; i++) {
        now += Math.floor(r() * 0.4 * HOUR);
        const late = r() < 0.2 ? Math.floor(r() * 60 * HOUR) : 0;
        const inc = increment(r, amounts);
        expect(moved.add(now - late, inc)).toBe(kept.add(now - late, inc));
        if (i % 23 === 0) {
          moved = decodeWindow(shape, encodeWindow(moved));
          expect(rowsOf(moved)).toEqual(rowsOf(kept));
          const at = now + Math.floor(r() * 3 * HOUR) - HOUR;
          expect(ring.with(moved, (w) => extractFeatures(w, at, DEFAULT_FEATURE_PARAMS))).toEqual(
            ring.with(kept, (w) => extractFeatures(w, at, DEFAULT_FEATURE_PARAMS)),
          );
        }
      }
    }
  });

  it('an empty window and an exact square sum survive; a damaged one is refused', () => {
    const empty = new CompactWindow(DEFAULT_WINDOW_SHAPE);
    expect(rowsOf(decodeWindow(DEFAULT_WINDOW_SHAPE, encodeWindow(empty)))).toEqual(rowsOf(empty));
    const w = new CompactWindow(DEFAULT_WINDOW_SHAPE);
    w.add(T0, { type: 'transaction', outcome: 'success', amountLog: Math.log1p(1234.56) });
    w.add(T0 + HOUR, { type: 'transaction', outcome: 'success', amountLog: 0.1 });
    w.add(T0 + HOUR, { type: 'transaction', outcome: 'success', amountLog: 0.2 });
    const bytes = encodeWindow(w);
    expect(rowsOf(decodeWindow(DEFAULT_WINDOW_SHAPE, bytes))).toEqual(rowsOf(w));
    expect(() => decodeWindow(DEFAULT_WINDOW_SHAPE, bytes.subarray(0, bytes.length - 1))).toThrow(/unreadable/);
    expect(() => decodeWindow(DEFAULT_WINDOW_SHAPE, new Uint8Array([...bytes, 0]))).toThrow(/unreadable/);
    expect(() => decodeWindow(DEFAULT_WINDOW_SHAPE, new Uint8Array([9, ...bytes.subarray(1)]))).toThrow(/version 9/);
  });

  it('packs an agent active every hour of the month, trading once an hour, in 11-12 bytes an hour', () => {
    const r = prng(5);
    const w = new CompactWindow(DEFAULT_WINDOW_SHAPE);
    for (let h = 0; h < 720; h++) {
      w.add(T0 + h * HOUR, { type: 'transaction', outcome: 'success', amountLog: Math.log1p(100 + r() * 50_000) });
      w.add(T0 + h * HOUR + 60_000, { type: 'api_call', outcome: 'success' });
    }
    expect(w.bytes).toBe(720 * 28);
    const packed = encodeWindow(w).length;
    expect(packed).toBeLessThan(720 * 12);
    expect(packed).toBeGreaterThan(720 * 11);
  });
});
