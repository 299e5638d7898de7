/**
 * The store form of a compact window (an evicted window, docs/risk-engine.md "Evicting
 * windows"): the same rows, packed. Lossless: decoding gives back the exact counters and the
 * exact bits of every amount sum, so a restored window scores exactly as the one evicted.
 *
 *   version (1) · firstBucket+1 · lastBucket+1 · rows · flag rows · hasSums (1 byte)
 *   per row:      lastBucket − bucket · events · amounts (×3 + kind when hasSums) · sums by kind
 *   per flag row: lastBucket − bucket · scope · policy · auth · anomaly
 *
 * Integers are unsigned LEB128 varints (one byte for the usual counts and for a bucket less than
 * 128 hours old). The sum kind says what follows: 0 nothing (both sums are +0, a bucket without
 * amounts), 1 Σ only (the square sum is Σ·Σ to the bit: one amount in the bucket), 2 both, as
 * little-endian float64. An agent active every hour and trading once an hour packs into about
 * 12 bytes an hour instead of the 28 its rows take in memory.
 */
import { AgentCaError } from '../errors.js';
import { CompactWindow, type CompactWindowParts } from './compact-window.js';
import type { WindowShape } from './window.js';

const VERSION = 1;
const RS = 3;
const FS = 5;

/** Packs into one scratch buffer per process (grown to the largest window), copied out at the end. */
class Writer {
  private static scratch = new Uint8Array(0);
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  at = 0;
  constructor(size: number) {
    if (Writer.scratch.length < size) Writer.scratch = new Uint8Array(size);
    this.buf = Writer.scratch;
    this.view = new DataView(this.buf.buffer);
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }
  f64(v: number): void {
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  /** A copy of exactly the bytes written (the scratch buffer is reused by the next window). */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

class Reader {
  private readonly view: DataView;
  at = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.buf.length) throw corrupt('truncated');
      const b = this.buf[this.at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 49) throw corrupt('varint too long');
    }
  }
  f64(): number {
    if (this.at + 8 > this.buf.length) throw corrupt('truncated');
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  get done(): boolean {
    return this.at === this.buf.length;
  }
}

function corrupt(why: string): AgentCaError {
  return new AgentCaError('STORE_UNAVAILABLE', `stored risk window is unreadable: ${why}`);
}

/** Packs a window's rows (see the file comment). */
export function encodeWindow(w: CompactWindow): Uint8Array {
  const p = w.parts();
  const hasSums = p.sums !== undefined;
  const out = new Writer(1 + 4 * 10 + 1 + p.n * (3 * 10 + 16) + p.nf * 5 * 10);
  out.varint(VERSION);
  out.varint(p.firstBucket + 1);
  out.varint(p.lastBucket + 1);
  out.varint(p.n);
  out.varint(p.nf);
  out.varint(hasSums ? 1 : 0);
  for (let i = 0; i < p.n; i++) {
    const rows = p.rows!;
    out.varint(p.lastBucket - rows[i * RS]!);
    out.varint(rows[i * RS + 1]!);
    const amounts = rows[i * RS + 2]!;
    if (!hasSums) {
      out.varint(amounts);
      continue;
    }
    const s = p.sums![i * 2]!;
    const sq = p.sums![i * 2 + 1]!;
    const kind = Object.is(s, 0) && Object.is(sq, 0) ? 0 : Object.is(sq, s * s) ? 1 : 2;
    out.varint(amounts * 3 + kind);
    if (kind >= 1) out.f64(s);
    if (kind === 2) out.f64(sq);
  }
  for (let j = 0; j < p.nf; j++) {
    const f = p.flags!;
    out.varint(p.lastBucket - f[j * FS]!);
    for (let k = 1; k < FS; k++) out.varint(f[j * FS + k]!);
  }
  return out.bytes();
}

/** The window `encodeWindow` packed, with arrays exactly as long as its rows. */
export function decodeWindow(shape: WindowShape, bytes: Uint8Array): CompactWindow {
  const r = new Reader(bytes);
  const version = r.varint();
  if (version !== VERSION) throw corrupt(`version ${version}`);
  const firstBucket = r.varint() - 1;
  const lastBucket = r.varint() - 1;
  const n = r.varint();
  const nf = r.varint();
  const hasSums = r.varint() === 1;
  if (n > shape.bucketCount || nf > n) throw corrupt(`${n} rows, ${nf} flag rows`);
  const parts: CompactWindowParts = {
    firstBucket,
    lastBucket,
    n,
    rows: n > 0 ? new Uint32Array(n * RS) : undefined,
    sums: hasSums && n > 0 ? new Float64Array(n * 2) : undefined,
    nf,
    flags: nf > 0 ? new Uint32Array(nf * FS) : undefined,
  };
  for (let i = 0; i < n; i++) {
    const rows = parts.rows!;
    rows[i * RS] = lastBucket - r.varint();
    rows[i * RS + 1] = r.varint();
    const a = r.varint();
    if (!parts.sums) {
      rows[i * RS + 2] = a;
      continue;
    }
    const kind = a % 3;
    rows[i * RS + 2] = (a - kind) / 3;
    if (kind >= 1) {
      const s = r.f64();
      parts.sums[i * 2] = s;
      parts.sums[i * 2 + 1] = kind === 1 ? s * s : r.f64();
    }
  }
  for (let j = 0; j < nf; j++) {
    const f = parts.flags!;
    f[j * FS] = lastBucket - r.varint();
    for (let k = 1; k < FS; k++) f[j * FS + k] = r.varint();
  }
  if (!r.done) throw corrupt('trailing bytes');
  return CompactWindow.fromParts(shape, parts);
}
