/**
 * The per-certificate rolling window: a ring of fixed-size time buckets (default
 * 720 one-hour buckets = 30 days), each holding a few counters. A slot remembers which bucket
 * number it holds, so a bucket older than the window is simply ignored by readers and reused
 * by the next write that maps to its slot: time moves (the injected Clock) and old data
 * expires without any timer or sweep. Memory per certificate is fixed at creation:
 * bucketCount * (COUNTERS * 4 + 2 * 8 + 4) bytes, 54,720 bytes for 720 buckets.
 */
import { AgentCaError } from '../errors.js';
import type { EventOutcome } from './events.js';
import type { RateBaseline } from './features.js';

/** Counted per bucket. Types outside the core five count as "other". */
export const COUNTERS = [
  'events',
  'api_call',
  'data_access',
  'transaction',
  'auth_attempt',
  'scope_check',
  'other',
  'denied',
  'failed',
  'scopeViolations',
  'policyBreaches',
  'authFailures',
  'anomalies',
  /** Amounts that feed the anomaly statistics (see features.ts amountLogOf). */
  'amounts',
] as const;
export type Counter = (typeof COUNTERS)[number];
export const C: Readonly<Record<Counter, number>> = Object.freeze(
  Object.fromEntries(COUNTERS.map((c, i) => [c, i])) as Record<Counter, number>,
);
const NC = COUNTERS.length;
const TYPE_COUNTER = new Map<string, number>([
  ['api_call', C.api_call],
  ['data_access', C.data_access],
  ['transaction', C.transaction],
  ['auth_attempt', C.auth_attempt],
  ['scope_check', C.scope_check],
]);
const U32_MAX = 0xffff_ffff;

export interface WindowShape {
  /** Bucket width; at least one minute. */
  bucketMs: number;
  /** Buckets in the window (bucketMs * bucketCount = the window span). */
  bucketCount: number;
}

export const DEFAULT_WINDOW_SHAPE: WindowShape = Object.freeze({ bucketMs: 3_600_000, bucketCount: 720 });

/** What one event adds to its bucket. */
export interface BucketIncrement {
  type: string;
  outcome: EventOutcome;
  scopeViolation?: boolean;
  policyBreach?: boolean;
  authFailure?: boolean;
  anomalous?: boolean;
  /** ln(1 + amount), when the amount feeds the anomaly statistics. */
  amountLog?: number;
}

/** Read-only view the pure feature functions work on (features.ts). */
export interface WindowData {
  readonly bucketMs: number;
  readonly bucketCount: number;
  /** counts[slot * COUNTERS.length + C[counter]] */
  readonly counts: Uint32Array;
  /** sums[slot * 2] = Σ ln(1+amount), sums[slot * 2 + 1] = Σ ln(1+amount)^2 */
  readonly sums: Float64Array;
  /** Bucket number held by each slot (minutes since 1970 fit in 31 bits); -1 when never used. */
  readonly index: Int32Array;
  /** Bucket number of the first event ever added (history length for the rate baseline); -1 when none. */
  readonly firstBucket: number;
  readonly lastBucket: number;
}

export function validateWindowShape(s: WindowShape): void {
  if (!Number.isSafeInteger(s.bucketMs) || s.bucketMs < 60_000)
    throw new AgentCaError(
      'CONFIG_INVALID',
      `risk window bucket must be a whole number of ms, at least 60000 (got ${s.bucketMs})`,
    );
  if (!Number.isSafeInteger(s.bucketCount) || s.bucketCount < 4 || s.bucketCount > 100_000)
    throw new AgentCaError('CONFIG_INVALID', `risk window must hold 4..100000 buckets (got ${s.bucketCount})`);
}

/** Fixed bytes one window holds (typed arrays only; object headers add a few hundred). */
export function windowBytes(shape: WindowShape): number {
  return shape.bucketCount * (NC * 4 + 2 * 8 + 4);
}

export function bucketOf(timeMs: number, bucketMs: number): number {
  return Math.floor(timeMs / bucketMs);
}

/** Whether `slot` holds a bucket inside the window that ends with bucket `nowBucket`. */
export function slotLive(w: WindowData, slot: number, nowBucket: number): boolean {
  const b = w.index[slot]!;
  return b >= 0 && b <= nowBucket && b > nowBucket - w.bucketCount;
}

/**
 * The memoised rate baseline and the rule that keeps it fresh, shared by both window forms. The
 * baseline at `nowBucket` M reads the complete buckets [max(first, M - N + 1), M - 2]: it is
 * stale after an event lands in a bucket <= M - 2, after a slot holding a bucket of that range
 * is reclaimed by a newer bucket (an event later than M, e.g. after scoring at a past time),
 * or after the first bucket moves.
 */
export class BaselineMemo {
  private nowBucket = -1;
  private quantile = -1;
  private value = 0;
  private history = 0;

  get(nowBucket: number, quantile: number, compute: () => RateBaseline): RateBaseline {
    if (this.nowBucket !== nowBucket || this.quantile !== quantile) {
      const b = compute();
      this.nowBucket = nowBucket;
      this.quantile = quantile;
      this.value = b.value;
      this.history = b.history;
    }
    return { value: this.value, history: this.history };
  }

  /** After an event counted in bucket `b`; `reclaimed` is the bucket its slot held before (or -1). */
  touched(b: number, reclaimed: number, firstMoved: boolean, bucketCount: number): void {
    const m = this.nowBucket;
    if (m < 0) return;
    if (firstMoved || b <= m - 2 || (reclaimed >= 0 && reclaimed > m - bucketCount && reclaimed <= m - 2))
      this.nowBucket = -1;
  }
}

export class AgentWindow implements WindowData {
  readonly bucketMs: number;
  readonly bucketCount: number;
  readonly counts: Uint32Array;
  readonly sums: Float64Array;
  readonly index: Int32Array;
  firstBucket = -1;
  lastBucket = -1;
  /** The rate baseline only changes when the bucket rolls over or an event makes it stale. */
  private readonly memo = new BaselineMemo();

  constructor(shape: WindowShape = DEFAULT_WINDOW_SHAPE) {
    validateWindowShape(shape);
    this.bucketMs = shape.bucketMs;
    this.bucketCount = shape.bucketCount;
    this.counts = new Uint32Array(shape.bucketCount * NC);
    this.sums = new Float64Array(shape.bucketCount * 2);
    this.index = new Int32Array(shape.bucketCount).fill(-1);
  }

  /**
   * Counts one event at `timeMs`. Returns false (nothing counted) when the event's bucket is
   * already out of the ring, i.e. older than the window measured from the newest bucket.
   */
  add(timeMs: number, inc: BucketIncrement): boolean {
    const b = bucketOf(timeMs, this.bucketMs);
    const slot = b % this.bucketCount;
    const held = this.index[slot]!;
    if (held > b) return false;
    if (held !== b) {
      // The slot holds an expired bucket (or none): reclaim it.
      this.counts.fill(0, slot * NC, slot * NC + NC);
      this.sums[slot * 2] = 0;
      this.sums[slot * 2 + 1] = 0;
      this.index[slot] = b;
    }
    const base = slot * NC;
    const bump = (c: number): void => {
      const v = this.counts[base + c]!;
      if (v < U32_MAX) this.counts[base + c] = v + 1; // saturate rather than wrap
    };
    bump(C.events);
    bump(TYPE_COUNTER.get(inc.type) ?? C.other);
    if (inc.outcome === 'denied') bump(C.denied);
    else if (inc.outcome === 'failed') bump(C.failed);
    if (inc.scopeViolation) bump(C.scopeViolations);
    if (inc.policyBreach) bump(C.policyBreaches);
    if (inc.authFailure) bump(C.authFailures);
    if (inc.anomalous) bump(C.anomalies);
    if (inc.amountLog !== undefined && Number.isFinite(inc.amountLog)) {
      bump(C.amounts);
      this.sums[slot * 2] = this.sums[slot * 2]! + inc.amountLog;
      this.sums[slot * 2 + 1] = this.sums[slot * 2 + 1]! + inc.amountLog * inc.amountLog;
    }
    const firstMoved = this.firstBucket < 0 || b < this.firstBucket;
    if (firstMoved) this.firstBucket = b;
    this.memo.touched(b, held !== b ? held : -1, firstMoved, this.bucketCount);
    if (b > this.lastBucket) this.lastBucket = b;
    return true;
  }

  /**
   * The rate baseline at `nowBucket` (features.ts rateBaseline, passed as `compute`), memoised
   * until an event makes it stale (BaselineMemo).
   */
  baseline(nowBucket: number, quantile: number, compute: () => RateBaseline): RateBaseline {
    return this.memo.get(nowBucket, quantile, compute);
  }

  /** Sum of one counter over the live buckets at `nowMs` (tests, explanations). */
  total(counter: Counter, nowMs: number): number {
    const now = bucketOf(nowMs, this.bucketMs);
    let n = 0;
    for (let s = 0; s < this.bucketCount; s++) if (slotLive(this, s, now)) n += this.counts[s * NC + C[counter]]!;
    return n;
  }

  /** True when no bucket is live at `nowMs`: the window can be dropped. */
  idle(nowMs: number): boolean {
    return this.lastBucket < 0 || this.lastBucket <= bucketOf(nowMs, this.bucketMs) - this.bucketCount;
  }
}

/** Windows by certificate serial, with the bytes they hold. */
export class WindowStore {
  private readonly windows = new Map<string, AgentWindow>();
  constructor(readonly shape: WindowShape = DEFAULT_WINDOW_SHAPE) {
    validateWindowShape(shape);
  }

  get(serial: string): AgentWindow | undefined {
    return this.windows.get(serial);
  }

  getOrCreate(serial: string): AgentWindow {
    let w = this.windows.get(serial);
    if (!w) this.windows.set(serial, (w = new AgentWindow(this.shape)));
    return w;
  }

  delete(serial: string): void {
    this.windows.delete(serial);
  }

  /** Drops windows with nothing live at `nowMs`; returns how many. */
  sweep(nowMs: number): number {
    let n = 0;
    for (const [serial, w] of this.windows) {
      if (w.idle(nowMs)) {
        this.windows.delete(serial);
        n++;
      }
    }
    return n;
  }

  serials(): IterableIterator<string> {
    return this.windows.keys();
  }

  get size(): number {
    return this.windows.size;
  }

  get bytes(): number {
    return this.windows.size * windowBytes(this.shape);
  }
}
