/**
 * A minimal DER writer (X.690 §10). Certificates, CRLs and OCSP responses are built by
 * concatenating pre-encoded parts; this keeps issuance and CRL building linear and fast, where
 * a generic object model would re-walk the whole tree on every encode. Parsing uses asn1js.
 */
import { Asn1DecodeError } from '../errors.js';

export type Bytes = Uint8Array;

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthBytes(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const out: number[] = [];
  let n = len;
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | out.length, ...out]);
}

/** tag || length || content */
export function tlv(tag: number, content: Bytes): Buffer {
  const len = lengthBytes(content.length);
  const out = Buffer.allocUnsafe(1 + len.length + content.length);
  out[0] = tag;
  len.copy(out, 1);
  out.set(content, 1 + len.length);
  return out;
}

function concatParts(parts: readonly (Bytes | undefined | null | false)[]): Buffer {
  const bufs: Bytes[] = [];
  for (const p of parts) if (p) bufs.push(p);
  return Buffer.concat(bufs);
}

export function sequence(...parts: (Bytes | undefined | null | false)[]): Buffer {
  return tlv(Tag.SEQUENCE, concatParts(parts));
}

/** SET OF: DER sorts the encodings (X.690 §11.6). */
export function setOf(...parts: Bytes[]): Buffer {
  const sorted = [...parts].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return tlv(Tag.SET, Buffer.concat(sorted));
}

/** [n] EXPLICIT: constructed context tag around a complete encoding. */
export function explicit(n: number, inner: Bytes): Buffer {
  return tlv(0xa0 | n, inner);
}

/** [n] IMPLICIT: replaces the tag of `inner` (a full TLV) with a context tag, keeping constructed-ness. */
export function implicit(n: number, inner: Bytes): Buffer {
  const out = Buffer.from(inner);
  const constructed = (inner[0]! & 0x20) !== 0;
  out[0] = (constructed ? 0xa0 : 0x80) | n;
  return out;
}

/** Primitive context-specific value [n] with raw content (e.g. GeneralName dNSName [2]). */
export function contextPrimitive(n: number, content: Bytes): Buffer {
  return tlv(0x80 | n, content);
}

export function boolean(v: boolean): Buffer {
  return tlv(Tag.BOOLEAN, Buffer.from([v ? 0xff : 0x00]));
}

export const NULL = Buffer.from([0x05, 0x00]);

/** INTEGER from a non-negative bigint/number (minimal two's complement). Nothing we write is negative. */
export function integer(v: bigint | number): Buffer {
  let n = BigInt(v);
  if (n < 0n) throw new Asn1DecodeError('INTEGER', 'negative values are not written by this project');
  if (n === 0n) return Buffer.from([0x02, 0x01, 0x00]);
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(Tag.INTEGER, Buffer.from(bytes));
}

/** INTEGER from unsigned big-endian magnitude bytes (serials): strips leading zeros, adds 00 if the high bit is set. */
export function unsignedInteger(magnitude: Bytes): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  const content = m[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : Buffer.from(m);
  return tlv(Tag.INTEGER, content);
}

export function enumerated(v: number): Buffer {
  const i = integer(v);
  i[0] = Tag.ENUMERATED;
  return i;
}

export function octetString(v: Bytes): Buffer {
  return tlv(Tag.OCTET_STRING, v);
}

/** BIT STRING with no unused bits (signatures, keys). */
export function bitString(v: Bytes, unusedBits = 0): Buffer {
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), v]));
}

/**
 * Named-bit BIT STRING (KeyUsage, ReasonFlags): DER drops trailing zero bits (X.690 §11.2.2).
 * `bits` are bit numbers as in the ASN.1 (0 = most significant bit of the first octet).
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return Buffer.from([0x03, 0x01, 0x00]);
  const highest = Math.max(...bits);
  const nBytes = Math.floor(highest / 8) + 1;
  const content = Buffer.alloc(nBytes);
  for (const b of bits) content[Math.floor(b / 8)]! |= 0x80 >> (b % 8);
  const unused = 7 - (highest % 8);
  return bitString(content, unused);
}

export function utf8String(s: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
}

export function printableString(s: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s))
    throw new Asn1DecodeError('PrintableString', `character outside the PrintableString set in ${JSON.stringify(s)}`);
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
}

export function ia5String(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(s)) throw new Asn1DecodeError('IA5String', `non-ASCII character in ${JSON.stringify(s)}`);
  return tlv(Tag.IA5_STRING, Buffer.from(s, 'latin1'));
}

const oidCache = new Map<string, Buffer>();

/** OBJECT IDENTIFIER, cached: the same few OIDs are written into every certificate. */
export function oid(dotted: string): Buffer {
  const hit = oidCache.get(dotted);
  if (hit) return hit;
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2 || arcs[0]! > 2n) throw new Asn1DecodeError('OID', `invalid OID ${dotted}`);
  const body: number[] = [];
  const pushArc = (arc: bigint): void => {
    const tmp: number[] = [Number(arc & 0x7fn)];
    arc >>= 7n;
    while (arc > 0n) {
      tmp.unshift(Number(arc & 0x7fn) | 0x80);
      arc >>= 7n;
    }
    body.push(...tmp);
  };
  pushArc(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) pushArc(a);
  const enc = tlv(Tag.OID, Buffer.from(body));
  oidCache.set(dotted, enc);
  return enc;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** UTCTime YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1). */
export function utcTime(d: Date): Buffer {
  const s = `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(Tag.UTC_TIME, Buffer.from(s, 'latin1'));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ, no fractional seconds (RFC 5280 §4.1.2.5.2). */
export function generalizedTime(d: Date): Buffer {
  const s = `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(s, 'latin1'));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on. */
export function x509Time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(d) : generalizedTime(d);
}

/** AlgorithmIdentifier { algorithm, parameters } with NULL or absent parameters. */
export function algorithmIdentifier(algOid: string, params: Bytes | 'null' | 'absent' = 'absent'): Buffer {
  if (params === 'absent') return sequence(oid(algOid));
  if (params === 'null') return sequence(oid(algOid), NULL);
  return sequence(oid(algOid), params);
}

/** Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } (DER omits FALSE). */
export function extension(extOid: string, critical: boolean, value: Bytes): Buffer {
  return sequence(oid(extOid), critical ? boolean(true) : undefined, octetString(value));
}
