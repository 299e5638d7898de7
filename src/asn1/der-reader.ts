/**
 * A strict, allocation-free DER TLV reader for slicing structures at exact byte offsets
 * (TBS bytes, issuer/subject Names, SPKI, OCSP CertIDs). It rejects indefinite lengths and
 * non-minimal length encodings (X.690 §10.1) and never reads past the buffer.
 */
import { Asn1DecodeError } from '../errors.js';

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
}

export function readTlv(buf: Uint8Array, at: number, what = 'DER'): Tlv {
  if (at + 2 > buf.length) throw new Asn1DecodeError(what, 'truncated');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Asn1DecodeError(what, 'high tag numbers are not used here');
  let len = buf[at + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new Asn1DecodeError(what, 'indefinite length is not DER');
    if (n > 4 || at + 2 + n > buf.length) throw new Asn1DecodeError(what, 'bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    if (len < 0x80 || (n > 1 && buf[at + 2] === 0)) throw new Asn1DecodeError(what, 'non-minimal length');
    hdr += n;
  }
  const end = at + hdr + len;
  if (end > buf.length) throw new Asn1DecodeError(what, 'truncated content');
  return { tag, start: at, contentStart: at + hdr, end };
}

/** The single TLV filling `buf` exactly (no trailing bytes). */
export function readWhole(buf: Uint8Array, expectedTag: number, what: string): Tlv {
  const t = readTlv(buf, 0, what);
  if (t.tag !== expectedTag)
    throw new Asn1DecodeError(what, `expected tag 0x${expectedTag.toString(16)}, got 0x${t.tag.toString(16)}`);
  if (t.end !== buf.length) throw new Asn1DecodeError(what, 'trailing bytes');
  return t;
}

/** The children of a constructed TLV. */
export function childrenOf(buf: Uint8Array, parent: Tlv, what = 'DER'): Tlv[] {
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const c = readTlv(buf, at, what);
    if (c.end > parent.end) throw new Asn1DecodeError(what, 'child overruns its parent');
    out.push(c);
    at = c.end;
  }
  return out;
}

export function slice(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start);
}

export function content(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.contentStart, t.end - t.contentStart);
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new Asn1DecodeError(what, 'missing');
  if (t.tag !== tag) throw new Asn1DecodeError(what, `expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/** Decode an OBJECT IDENTIFIER's content to dotted form; sub-identifiers must be minimal (X.690 §8.19.2). */
export function decodeOid(bytes: Uint8Array, what = 'OBJECT IDENTIFIER'): string {
  if (bytes.length === 0) throw new Asn1DecodeError(what, 'empty OBJECT IDENTIFIER');
  // Numbers while a sub-identifier stays below 2^46 (exact in a double), BigInt only beyond:
  // every OID we meet fits, and the lints read every OID of every TBS.
  const arcs: (number | bigint)[] = [];
  let v: number | bigint = 0;
  let started = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (!started && b === 0x80)
      throw new Asn1DecodeError(what, 'OBJECT IDENTIFIER sub-identifier not minimal (X.690 §8.19.2)');
    started = true;
    if (typeof v === 'number' && v >= 2 ** 46) v = BigInt(v);
    v = typeof v === 'number' ? v * 128 + (b & 0x7f) : (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
      started = false;
    } else if (i === bytes.length - 1) throw new Asn1DecodeError(what, 'truncated OBJECT IDENTIFIER');
  }
  const first = arcs[0]!;
  const head =
    first < 40
      ? [0, first]
      : first < 80
        ? [1, typeof first === 'number' ? first - 40 : first - 40n]
        : [2, typeof first === 'number' ? first - 80 : first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** UTCTime / GeneralizedTime content to a Date (RFC 5280 §4.1.2.5: Z, seconds, no fractions). */
export function decodeTime(buf: Uint8Array, t: Tlv, what = 'Time'): Date {
  const s = Buffer.from(buf.subarray(t.contentStart, t.end)).toString('latin1');
  let m: RegExpMatchArray | null;
  if (t.tag === 0x17 && (m = s.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/))) {
    const yy = Number(m[1]);
    return new Date(
      Date.UTC(
        yy >= 50 ? 1900 + yy : 2000 + yy,
        Number(m[2]) - 1,
        Number(m[3]),
        Number(m[4]),
        Number(m[5]),
        Number(m[6]),
      ),
    );
  }
  if (t.tag === 0x18 && (m = s.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/))) {
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  throw new Asn1DecodeError(what, `bad time ${JSON.stringify(s)}`);
}
