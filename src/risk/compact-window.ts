/**
 * The engine's per-certificate window in compact form. It holds exactly what the ring of
 * buckets (window.ts AgentWindow) holds for the features, and nothing else:
 *  - one row per bucket that received an event: [bucket, events, amounts] (12 bytes),
 *  - Σ ln(1+amount) and its square per row, only once the certificate has sent an amount (16 bytes),
 *  - [bucket, scope, policy, auth, anomaly] only for buckets with a flagged event (20 bytes),
 * kept in ring-slot order (bucket mod bucketCount), one row per slot, with the ring's rules: an
 * event for an older bucket than the one its slot holds is refused, a newer one reclaims the
 * slot. So a certificate costs what it used (an agent active 40 hours of the month holds 40
 * rows, not 720 buckets of 14 counters), and the features, computed by the same pure functions
 * over a scratch ring the rows are copied into (RingScratch), are bit-for-bit the ring's.
 */
import type { RateBaseline } from './features.js';
import { rateBaseline } from './features.js';
import type { BucketIncrement, WindowData, WindowShape } from './window.js';
import { BaselineMemo, bucketOf, C, COUNTERS, validateWindowShape } from './window.js';

const NC = COUNTERS.length;
const U32_MAX = 0xffff_ffff;
/** main row: bucket, events, amounts */
const RS = 3;
/** flag row: bucket, scopeViolations, policyBreaches, authFailures, anomalies */
const FS = 5;
const FLAG_COUNTERS = [C.scopeViolations, C.policyBreaches, C.authFailures, C.anomalies] as const;

/** `a`, or a copy with room for `need` elements: doubling, but never past `max` (a full ring). */
function grow<T extends Uint32Array | Float64Array>(
  a: T | undefined,
  need: number,
  max: number,
  make: (n: number) => T,
): T {
  if (a && a.length >= need) return a;
  let cap = a ? a.length : 0;
  while (cap < need) cap = cap === 0 ? need : Math.min(cap * 2, max);
  const b = make(cap);
  if (a) b.set(a);
  return b;
}

/** A compact window's state as arrays (the store form is window-codec.ts). Rows [0, n) and flag rows [0, nf) are live. */
export interface CompactWindowParts {
  firstBucket: number;
  lastBucket: number;
  n: number;
  rows: Uint32Array | undefined;
  sums: Float64Array | undefined;
  nf: number;
  flags: Uint32Array | undefined;
}

export class CompactWindow {
  readonly bucketMs: number;
  readonly bucketCount: number;
  firstBucket = -1;
  lastBucket = -1;
  /** rows in use */
  private n = 0;
  private rows: Uint32Array | undefined;
  private sums: Float64Array | undefined;
  private nf = 0;
  private flags: Uint32Array | undefined;
  private readonly memo = new BaselineMemo();

  constructor(shape: WindowShape) {
    this.bucketMs = shape.bucketMs;
    this.bucketCount = shape.bucketCount;
  }

  /** The state (shared, not copied): for the codec. */
  parts(): CompactWindowParts {
    return {
      firstBucket: this.firstBucket,
      lastBucket: this.lastBucket,
      n: this.n,
      rows: this.rows,
      sums: this.sums,
      nf: this.nf,
      flags: this.flags,
    };
  }

  /** A window holding `p` (taken, not copied), as if its events had been added again. */
  static fromParts(shape: WindowShape, p: CompactWindowParts): CompactWindow {
    const w = new CompactWindow(shape);
    w.firstBucket = p.firstBucket;
    w.lastBucket = p.lastBucket;
    w.n = p.n;
    w.rows = p.rows;
    w.sums = p.sums;
    w.nf = p.nf;
    w.flags = p.flags;
    return w;
  }

  /** Index of the first main row whose slot is >= s. */
  private seek(s: number): number {
    let lo = 0;
    let hi = this.n;
    const rows = this.rows!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid * RS]! % this.bucketCount < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private seekFlag(s: number): number {
    let lo = 0;
    let hi = this.nf;
    const f = this.flags!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (f[mid * FS]! % this.bucketCount < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Same contract as AgentWindow.add: false (nothing counted) when the slot holds a newer bucket. */
  add(timeMs: number, inc: BucketIncrement): boolean {
    const b = bucketOf(timeMs, this.bucketMs);
    if (b < 0 || b > 0x7fff_ffff) return false;
    const N = this.bucketCount;
    const s = b % N;
    const rows = (this.rows ??= new Uint32Array(4 * RS));
    const i = this.n > 0 ? this.seek(s) : 0;
    let reclaimed = -1;
    if (i < this.n && rows[i * RS]! % N === s) {
      const held = rows[i * RS]!;
      if (held > b) return false;
      if (held !== b) {
        reclaimed = held;
        rows[i * RS] = b;
        rows[i * RS + 1] = 0;
        rows[i * RS + 2] = 0;
        if (this.sums) this.sums[i * 2] = this.sums[i * 2 + 1] = 0;
        this.dropFlags(s);
      }
    } else {
      this.insertRow(i, b);
    }
    const r = this.rows;
    const base = i * RS;
    if (r[base + 1]! < U32_MAX) r[base + 1] = r[base + 1]! + 1;
    if (inc.amountLog !== undefined && Number.isFinite(inc.amountLog)) {
      if (r[base + 2]! < U32_MAX) r[base + 2] = r[base + 2]! + 1;
      const sums = (this.sums = grow(this.sums, (r.length / RS) * 2, (r.length / RS) * 2, (k) => new Float64Array(k)));
      sums[i * 2] = sums[i * 2]! + inc.amountLog;
      sums[i * 2 + 1] = sums[i * 2 + 1]! + inc.amountLog * inc.amountLog;
    }
    if (inc.scopeViolation || inc.policyBreach || inc.authFailure || inc.anomalous) {
      const f = this.flagRow(s, b);
      const bump = (k: number): void => {
        if (f.a[f.at + k]! < U32_MAX) f.a[f.at + k] = f.a[f.at + k]! + 1;
      };
      if (inc.scopeViolation) bump(1);
      if (inc.policyBreach) bump(2);
      if (inc.authFailure) bump(3);
      if (inc.anomalous) bump(4);
    }
    const firstMoved = this.firstBucket < 0 || b < this.firstBucket;
    if (firstMoved) this.firstBucket = b;
    this.memo.touched(b, reclaimed, firstMoved, N);
    if (b > this.lastBucket) this.lastBucket = b;
    return true;
  }

  private insertRow(i: number, b: number): void {
    const need = (this.n + 1) * RS;
    const rows = (this.rows = grow(this.rows, need, this.bucketCount * RS, (k) => new Uint32Array(k)));
    rows.copyWithin((i + 1) * RS, i * RS, this.n * RS);
    rows[i * RS] = b;
    rows[i * RS + 1] = 0;
    rows[i * RS + 2] = 0;
    if (this.sums) {
      const sums = (this.sums = grow(
        this.sums,
        (rows.length / RS) * 2,
        (rows.length / RS) * 2,
        (k) => new Float64Array(k),
      ));
      sums.copyWithin((i + 1) * 2, i * 2, this.n * 2);
      sums[i * 2] = sums[i * 2 + 1] = 0;
    }
    this.n++;
  }

  private dropFlags(s: number): void {
    if (!this.flags || this.nf === 0) return;
    const j = this.seekFlag(s);
    if (j < this.nf && this.flags[j * FS]! % this.bucketCount === s) {
      this.flags.copyWithin(j * FS, (j + 1) * FS, this.nf * FS);
      this.nf--;
    }
  }

  private flagRow(s: number, b: number): { a: Uint32Array; at: number } {
    const f = (this.flags ??= new Uint32Array(2 * FS));
    const j = this.nf > 0 ? this.seekFlag(s) : 0;
    if (j < this.nf && f[j * FS]! % this.bucketCount === s) return { a: f, at: j * FS };
    const a = (this.flags = grow(f, (this.nf + 1) * FS, this.bucketCount * FS, (k) => new Uint32Array(k)));
    a.copyWithin((j + 1) * FS, j * FS, this.nf * FS);
    a.fill(0, j * FS, (j + 1) * FS);
    a[j * FS] = b;
    this.nf++;
    return { a, at: j * FS };
  }

  /** Rows in use (buckets that received an event and still hold it). */
  get rowCount(): number {
    return this.n;
  }

  /** Bytes of typed-array storage this window holds (capacity, not only rows in use). */
  get bytes(): number {
    return (this.rows?.byteLength ?? 0) + (this.sums?.byteLength ?? 0) + (this.flags?.byteLength ?? 0);
  }

  /** True when no bucket is live at `nowMs`: the window can be dropped. */
  idle(nowMs: number): boolean {
    return this.lastBucket < 0 || this.lastBucket <= bucketOf(nowMs, this.bucketMs) - this.bucketCount;
  }

  /** The rate baseline at `nowBucket`, memoised until an event makes it stale (see BaselineMemo). */
  baseline(ring: RingScratch, nowBucket: number, quantile: number): RateBaseline {
    return this.memo.get(nowBucket, quantile, () => rateBaseline(ring, nowBucket, quantile));
  }

  /** Copies the rows into `ring` (which must be empty); returns the slots written, for `ring.clear`. */
  loadInto(ring: RingScratch): void {
    const rows = this.rows;
    const N = this.bucketCount;
    ring.firstBucket = this.firstBucket;
    ring.lastBucket = this.lastBucket;
    ring.loaded = this.n;
    if (!rows) return;
    const counts = ring.counts;
    for (let i = 0; i < this.n; i++) {
      const b = rows[i * RS]!;
      const slot = b % N;
      ring.slots[i] = slot;
      ring.index[slot] = b;
      const base = slot * NC;
      counts[base + C.events] = rows[i * RS + 1]!;
      counts[base + C.amounts] = rows[i * RS + 2]!;
      for (const c of FLAG_COUNTERS) counts[base + c] = 0;
      ring.sums[slot * 2] = this.sums ? this.sums[i * 2]! : 0;
      ring.sums[slot * 2 + 1] = this.sums ? this.sums[i * 2 + 1]! : 0;
    }
    const f = this.flags;
    for (let j = 0; j < this.nf; j++) {
      const base = (f![j * FS]! % N) * NC;
      for (let k = 0; k < 4; k++) counts[base + FLAG_COUNTERS[k]!] = f![j * FS + 1 + k]!;
    }
  }
}

/**
 * A ring-shaped view (WindowData) one compact window at a time is copied into, so the pure
 * feature functions (features.ts) read exactly what they read from an AgentWindow. One per
 * engine, used synchronously: load, compute, clear.
 */
export class RingScratch implements WindowData {
  readonly bucketMs: number;
  readonly bucketCount: number;
  readonly counts: Uint32Array;
  readonly sums: Float64Array;
  readonly index: Int32Array;
  firstBucket = -1;
  lastBucket = -1;
  /** slots written by the last load */
  readonly slots: Uint32Array;
  loaded = 0;

  constructor(shape: WindowShape) {
    validateWindowShape(shape);
    this.bucketMs = shape.bucketMs;
    this.bucketCount = shape.bucketCount;
    this.counts = new Uint32Array(shape.bucketCount * NC);
    this.sums = new Float64Array(shape.bucketCount * 2);
    this.index = new Int32Array(shape.bucketCount).fill(-1);
    this.slots = new Uint32Array(shape.bucketCount);
  }

  /** Runs `fn` over `w` copied into this ring (or over an empty ring when `w` is undefined). */
  with<T>(w: CompactWindow | undefined, fn: (ring: RingScratch) => T): T {
    if (w) w.loadInto(this);
    try {
      return fn(this);
    } finally {
      for (let i = 0; i < this.loaded; i++) this.index[this.slots[i]!] = -1;
      this.loaded = 0;
      this.firstBucket = -1;
      this.lastBucket = -1;
    }
  }
}

/** Compact windows by certificate serial. */
export class CompactWindowStore {
  private readonly windows = new Map<string, CompactWindow>();
  constructor(readonly shape: WindowShape) {
    validateWindowShape(shape);
  }

  get(serial: string): CompactWindow | undefined {
    return this.windows.get(serial);
  }

  getOrCreate(serial: string): CompactWindow {
    let w = this.windows.get(serial);
    if (!w) this.windows.set(serial, (w = new CompactWindow(this.shape)));
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

  /** Typed-array bytes over all windows (walks them: for stats, not the hot path). */
  get bytes(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.bytes;
    return n;
  }
}
