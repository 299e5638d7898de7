/**
 * Streaming encoder for CRL entries (RFC 5280 §5.1.2.6 revokedCertificates). Each entry is
 * written straight into 1 MiB chunks, once, with no intermediate objects: the enclosing
 * SEQUENCE's length is only known at the end, so the chunks are kept and copied exactly once
 * into the TBS by `copyTo`. Work and memory are linear in the number of entries (~50-80 bytes
 * each), never quadratic.
 *
 *   SEQUENCE { userCertificate INTEGER, revocationDate Time, crlEntryExtensions Extensions OPTIONAL }
 *
 * Every entry fits in 80 content bytes (serial <= 23, Time <= 17, extensions <= 40), so its
 * SEQUENCE length is always the one-byte short form.
 */
import { AgentCaError } from '../errors.js';
import { REVOCATION_REASON_CODES, type RevocationReason } from '../store/ports.js';

export interface CrlEntryInput {
  /** Serial as lowercase/uppercase hex (the store's `Serial`); or give `serialMagnitude`. */
  serial?: string;
  /** Unsigned big-endian serial bytes (leading zeros are stripped). */
  serialMagnitude?: Uint8Array;
  revokedAt: Date;
  /** Omitted from the entry when absent or `unspecified` (RFC 5280 §5.3.1). */
  reason?: RevocationReason;
  /** invalidityDate entry extension (RFC 5280 §5.3.2), GeneralizedTime. */
  invalidityDate?: Date;
}

const CHUNK_SIZE = 1 << 20;
const REASON_CODES: ReadonlyMap<string, number> = new Map(Object.entries(REVOCATION_REASON_CODES));
/** Worst-case encoded entry (2 + 80) rounded up: a chunk with less room left is closed. */
const MAX_ENTRY = 96;

// Entry extensions as constant prefixes (RFC 5280 §5.3.1 reasonCode 2.5.29.21, §5.3.2
// invalidityDate 2.5.29.24); they are non-critical, so DER omits the critical flag.
//   30 0a 06 03 55 1d 15 04 03 0a 01 <code>
const REASON_EXT = [0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01] as const;
//   30 18 06 03 55 1d 18 04 11 <GeneralizedTime, 17 bytes>
const INVALIDITY_EXT = [0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11] as const;

export class CrlEntryWriter {
  private readonly chunks: Buffer[] = [];
  private cur: Buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  private pos = 0;
  private closedBytes = 0;
  private readonly scratch = Buffer.allocUnsafe(64);
  /** Number of entries written. */
  count = 0;

  constructor(private readonly allowRemoveFromCrl: boolean) {}

  /** Total encoded bytes of all entries so far (the revokedCertificates content length). */
  get byteLength(): number {
    return this.closedBytes + this.pos;
  }

  add(e: CrlEntryInput): void {
    if (this.pos + MAX_ENTRY > this.cur.length) {
      this.chunks.push(this.cur.subarray(0, this.pos));
      this.closedBytes += this.pos;
      this.cur = Buffer.allocUnsafe(CHUNK_SIZE);
      this.pos = 0;
    }
    const b = this.cur;
    const start = this.pos;
    let p = start + 2; // SEQUENCE header written last

    // userCertificate: positive INTEGER, at most 20 content octets (RFC 5280 §4.1.2.2)
    const { src, from, to } = this.magnitude(e);
    const pad = src[from]! & 0x80 ? 1 : 0;
    b[p++] = 0x02;
    b[p++] = to - from + pad;
    if (pad) b[p++] = 0;
    for (let i = from; i < to; i++) b[p++] = src[i]!;

    p = writeTime(b, p, e.revokedAt, false, 'revocationDate');

    const reason = e.reason;
    const withReason = reason !== undefined && reason !== 'unspecified';
    const withInvalidity = e.invalidityDate !== undefined;
    if (withReason || withInvalidity) {
      b[p++] = 0x30;
      b[p++] = (withReason ? 12 : 0) + (withInvalidity ? 26 : 0);
      if (withReason) {
        const code = REASON_CODES.get(reason);
        if (code === undefined)
          throw new AgentCaError('INPUT_REASON_UNKNOWN', `unknown revocation reason ${String(reason)}`);
        // §5.3.1: removeFromCRL "is for use only with delta CRLs"
        if (code === 8 && !this.allowRemoveFromCrl)
          throw new AgentCaError('INPUT_INVALID', 'removeFromCRL entries belong only in delta CRLs (RFC 5280 §5.3.1)');
        for (const x of REASON_EXT) b[p++] = x;
        b[p++] = code;
      }
      if (withInvalidity) {
        for (const x of INVALIDITY_EXT) b[p++] = x;
        p = writeTime(b, p, e.invalidityDate!, true, 'invalidityDate');
      }
    }
    b[start] = 0x30;
    b[start + 1] = p - start - 2;
    this.pos = p;
    this.count++;
  }

  /** Copy every entry, in order, into `target` at `offset`; returns the offset after them. */
  copyTo(target: Buffer, offset: number): number {
    let o = offset;
    for (const c of this.chunks) o += c.copy(target, o);
    o += this.cur.copy(target, o, 0, this.pos);
    return o;
  }

  /** Drop the chunks (after copyTo) so they can be collected before the signature is made. */
  release(): void {
    this.chunks.length = 0;
    this.cur = Buffer.alloc(0);
    this.pos = 0;
    this.closedBytes = 0;
  }

  private magnitude(e: CrlEntryInput): { src: Uint8Array; from: number; to: number } {
    let src: Uint8Array;
    let len: number;
    if (e.serialMagnitude !== undefined) {
      src = e.serialMagnitude;
      len = src.length;
    } else if (typeof e.serial === 'string') {
      const hex = e.serial.length % 2 ? `0${e.serial}` : e.serial;
      if (hex.length > 2 * 32) throw badSerial(e.serial);
      len = this.scratch.write(hex, 0, 'hex');
      // Buffer#write stops at the first non-hex pair: a short write means garbage input.
      if (len * 2 !== hex.length) throw badSerial(e.serial);
      src = this.scratch;
    } else {
      throw new AgentCaError('INPUT_SERIAL_MALFORMED', 'a CRL entry needs serial or serialMagnitude');
    }
    let from = 0;
    while (from < len - 1 && src[from] === 0) from++;
    if (len === 0 || len - from > 20) throw badSerial(e.serial ?? Buffer.from(src).toString('hex'));
    return { src, from, to: len };
  }
}

function badSerial(s: string): AgentCaError {
  return new AgentCaError(
    'INPUT_SERIAL_MALFORMED',
    `CRL entry serial must be 1-20 octets of hex, got ${JSON.stringify(s)}`,
  );
}

function two(b: Buffer, p: number, n: number): number {
  b[p] = 0x30 + ((n / 10) | 0);
  b[p + 1] = 0x30 + (n % 10);
  return p + 2;
}

/**
 * Time at `p`: UTCTime for 1950-2049, else GeneralizedTime (RFC 5280 §5.1.2.4-6 via
 * §4.1.2.5), or always GeneralizedTime (`generalized`, invalidityDate §5.3.2); Zulu, whole
 * seconds. Returns the offset after it.
 */
export function writeTime(b: Buffer, p: number, d: Date, generalized: boolean, what: string): number {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(ms)) throw new AgentCaError('INPUT_INVALID', `${what}: invalid date`);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new AgentCaError('INPUT_INVALID', `${what}: year ${y} cannot be encoded`);
  const utc = !generalized && y >= 1950 && y <= 2049;
  b[p++] = utc ? 0x17 : 0x18;
  b[p++] = utc ? 13 : 15;
  if (!utc) p = two(b, p, (y / 100) | 0);
  p = two(b, p, y % 100);
  p = two(b, p, d.getUTCMonth() + 1);
  p = two(b, p, d.getUTCDate());
  p = two(b, p, d.getUTCHours());
  p = two(b, p, d.getUTCMinutes());
  p = two(b, p, d.getUTCSeconds());
  b[p++] = 0x5a; // 'Z'
  return p;
}
