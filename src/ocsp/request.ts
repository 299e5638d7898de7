/**
 * OCSPRequest parsing (RFC 6960 §4.1.1) on the request path, so it is written for speed: one
 * pass of the strict der-reader over the bytes, no asn1js, no OID decoding (OIDs are compared
 * as content bytes), and the CertIDs, hashes and nonce are views into the input, not copies.
 * Anything that is not the DER of a well-formed request is an OcspRequestError whose status
 * is malformedRequest.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *                              requestorName [1] EXPLICIT GeneralName OPTIONAL,
 *                              requestList SEQUENCE OF Request,
 *                              requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 */
import { readTlv, type Tlv } from '../asn1/der-reader.js';
import { oid as encodeOid, Tag } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { Asn1DecodeError } from '../errors.js';
import type { Serial } from '../types.js';
import { OcspRequestError } from './request-error.js';
import { OCSP_HASH_LENGTHS, type CertId, type OcspHashAlgorithm } from './types.js';

export interface OcspRequest {
  certIds: CertId[];
  /** The nonce (RFC 8954), the content of the inner OCTET STRING: 1..32 octets. */
  nonce?: Buffer;
  /** A critical request or single-request extension we do not understand (RFC 6960 §4.4: cannot be ignored). */
  hasUnknownCritical: boolean;
  /** optionalSignature was present. It is not verified: this responder does not require signed requests. */
  signed: boolean;
}

/** RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)); responders MUST reject longer ones. */
export const MAX_NONCE_LENGTH = 32;

const oidContent = (dotted: string): Buffer => encodeOid(dotted).subarray(2);
const HASH_OIDS: readonly [Buffer, OcspHashAlgorithm][] = [
  [oidContent(Oids.sha1), 'sha1'],
  [oidContent(Oids.sha256), 'sha256'],
  [oidContent(Oids.sha384), 'sha384'],
  [oidContent(Oids.sha512), 'sha512'],
];
const NONCE_OID = oidContent(Oids.ocspNonce);

function equalsAt(buf: Buffer, start: number, end: number, want: Buffer): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[start + i] !== want[i]) return false;
  return true;
}

function bad(reason: string): never {
  throw new OcspRequestError(reason);
}

/** Next TLV at `at`, which must end within `end` and carry `tag` (when given). */
function next(buf: Buffer, at: number, end: number, what: string, tag?: number): Tlv {
  if (at >= end) bad(`${what} missing`);
  const t = readTlv(buf, at, what);
  if (t.end > end) bad(`${what} overruns its parent`);
  if (tag !== undefined && t.tag !== tag)
    bad(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

function hashAlgorithmOf(buf: Buffer, alg: Tlv): OcspHashAlgorithm {
  const o = next(buf, alg.contentStart, alg.end, 'hashAlgorithm', Tag.OID);
  let found: OcspHashAlgorithm | undefined;
  for (const [content, name] of HASH_OIDS) {
    if (equalsAt(buf, o.contentStart, o.end, content)) {
      found = name;
      break;
    }
  }
  if (!found) bad('CertID hash algorithm is not SHA-1/256/384/512');
  // Parameters: absent or NULL (RFC 5754 §2 / RFC 3370 §2.1: both are seen for SHA digests).
  if (o.end !== alg.end) {
    const p = next(buf, o.end, alg.end, 'hashAlgorithm parameters', Tag.NULL);
    if (p.end !== p.contentStart || p.end !== alg.end) bad('hashAlgorithm parameters must be NULL or absent');
  }
  return found;
}

/** serialNumber INTEGER: DER-minimal (X.690 §8.3.2), as lowercase hex magnitude. */
function serialOf(buf: Buffer, t: Tlv): Serial {
  const len = t.end - t.contentStart;
  if (len === 0) bad('empty serialNumber');
  const b0 = buf[t.contentStart]!;
  if (len > 1) {
    const b1 = buf[t.contentStart + 1]!;
    if ((b0 === 0x00 && (b1 & 0x80) === 0) || (b0 === 0xff && (b1 & 0x80) !== 0))
      bad('serialNumber is not minimally encoded');
  }
  if (b0 & 0x80) return `-${buf.toString('hex', t.contentStart, t.end)}` as Serial;
  const start = b0 === 0 && len > 1 ? t.contentStart + 1 : t.contentStart;
  return buf.toString('hex', start, t.end) as Serial;
}

function parseCertId(buf: Buffer, c: Tlv): CertId {
  const alg = next(buf, c.contentStart, c.end, 'hashAlgorithm', Tag.SEQUENCE);
  const hashAlgorithm = hashAlgorithmOf(buf, alg);
  const nameHash = next(buf, alg.end, c.end, 'issuerNameHash', Tag.OCTET_STRING);
  const keyHash = next(buf, nameHash.end, c.end, 'issuerKeyHash', Tag.OCTET_STRING);
  const serial = next(buf, keyHash.end, c.end, 'serialNumber', Tag.INTEGER);
  if (serial.end !== c.end) bad('extra fields in CertID');
  const hashLen = OCSP_HASH_LENGTHS[hashAlgorithm];
  if (nameHash.end - nameHash.contentStart !== hashLen || keyHash.end - keyHash.contentStart !== hashLen) {
    bad(`CertID hashes are not ${hashLen} octets (${hashAlgorithm})`);
  }
  return {
    hashAlgorithm,
    issuerNameHash: buf.subarray(nameHash.contentStart, nameHash.end),
    issuerKeyHash: buf.subarray(keyHash.contentStart, keyHash.end),
    serial: serialOf(buf, serial),
    raw: buf.subarray(c.start, c.end),
  };
}

interface ExtensionScan {
  nonce?: Buffer;
  unknownCritical: boolean;
}

/** [n] EXPLICIT Extensions: Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 §4.1). */
function scanExtensions(buf: Buffer, wrapper: Tlv, allowNonce: boolean, out: ExtensionScan): void {
  const seq = next(buf, wrapper.contentStart, wrapper.end, 'Extensions', Tag.SEQUENCE);
  if (seq.end !== wrapper.end) bad('trailing bytes after Extensions');
  if (seq.contentStart === seq.end) bad('empty Extensions');
  let at = seq.contentStart;
  while (at < seq.end) {
    const ext = next(buf, at, seq.end, 'Extension', Tag.SEQUENCE);
    const id = next(buf, ext.contentStart, ext.end, 'extnID', Tag.OID);
    let t = next(buf, id.end, ext.end, 'Extension field');
    let critical = false;
    if (t.tag === Tag.BOOLEAN) {
      if (t.end - t.contentStart !== 1) bad('bad BOOLEAN');
      const v = buf[t.contentStart]!;
      if (v !== 0x00 && v !== 0xff) bad('BOOLEAN is not DER');
      critical = v === 0xff;
      t = next(buf, t.end, ext.end, 'extnValue');
    }
    if (t.tag !== Tag.OCTET_STRING) bad('extnValue is not an OCTET STRING');
    if (t.end !== ext.end) bad('extra fields in Extension');
    if (allowNonce && equalsAt(buf, id.contentStart, id.end, NONCE_OID)) {
      if (out.nonce) bad('more than one nonce extension');
      // RFC 8954 §2.1 / RFC 6960 §4.4.1: extnValue holds the DER of Nonce ::= OCTET STRING.
      const inner = next(buf, t.contentStart, t.end, 'nonce', Tag.OCTET_STRING);
      if (inner.end !== t.end) bad('trailing bytes after the nonce');
      const n = inner.end - inner.contentStart;
      if (n < 1 || n > MAX_NONCE_LENGTH) bad(`nonce of ${n} octets (RFC 8954 §2.1: 1..${MAX_NONCE_LENGTH})`);
      out.nonce = buf.subarray(inner.contentStart, inner.end);
    } else if (critical) {
      out.unknownCritical = true;
    }
    at = ext.end;
  }
}

function parse(buf: Buffer): OcspRequest {
  const top = readTlv(buf, 0, 'OCSPRequest');
  if (top.tag !== Tag.SEQUENCE) bad('not an OCSPRequest SEQUENCE');
  if (top.end !== buf.length) bad('trailing bytes after OCSPRequest');
  const tbs = next(buf, top.contentStart, top.end, 'tbsRequest', Tag.SEQUENCE);
  let signed = false;
  if (tbs.end !== top.end) {
    const sig = next(buf, tbs.end, top.end, 'optionalSignature', 0xa0);
    if (sig.end !== top.end) bad('trailing bytes after optionalSignature');
    if (sig.contentStart === sig.end) bad('empty optionalSignature');
    signed = true;
  }

  let at = tbs.contentStart;
  let t = next(buf, at, tbs.end, 'TBSRequest field');
  if (t.tag === 0xa0) {
    // version [0] EXPLICIT INTEGER: only v1(0) exists (RFC 6960 §4.1.1).
    const v = next(buf, t.contentStart, t.end, 'version', Tag.INTEGER);
    if (v.end !== t.end || v.end - v.contentStart !== 1 || buf[v.contentStart] !== 0)
      bad('unsupported request version');
    t = next(buf, t.end, tbs.end, 'TBSRequest field');
  }
  if (t.tag === 0xa1) t = next(buf, t.end, tbs.end, 'TBSRequest field'); // requestorName: not used
  if (t.tag !== Tag.SEQUENCE) bad('requestList missing');
  const list = t;
  const scan: ExtensionScan = { unknownCritical: false };
  if (list.end !== tbs.end) {
    const exts = next(buf, list.end, tbs.end, 'requestExtensions', 0xa2);
    if (exts.end !== tbs.end) bad('trailing bytes in TBSRequest');
    scanExtensions(buf, exts, true, scan);
  }

  const certIds: CertId[] = [];
  at = list.contentStart;
  while (at < list.end) {
    const req = next(buf, at, list.end, 'Request', Tag.SEQUENCE);
    const certId = next(buf, req.contentStart, req.end, 'reqCert', Tag.SEQUENCE);
    certIds.push(parseCertId(buf, certId));
    if (certId.end !== req.end) {
      const exts = next(buf, certId.end, req.end, 'singleRequestExtensions', 0xa0);
      if (exts.end !== req.end) bad('extra fields in Request');
      scanExtensions(buf, exts, false, scan);
    }
    at = req.end;
  }
  if (certIds.length === 0) bad('empty requestList');
  const out: OcspRequest = { certIds, hasUnknownCritical: scan.unknownCritical, signed };
  if (scan.nonce) out.nonce = scan.nonce;
  return out;
}

/**
 * Parse an OCSPRequest. The returned Buffers are views into `der`: callers must not reuse the
 * input buffer while the result is alive. Throws OcspRequestError (status malformedRequest).
 */
export function parseOcspRequest(der: Uint8Array): OcspRequest {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  try {
    return parse(buf);
  } catch (e) {
    if (e instanceof OcspRequestError) throw e;
    if (e instanceof Asn1DecodeError) throw new OcspRequestError(e.message, 'malformedRequest', { cause: e });
    throw e;
  }
}

/** One CertID DER on its own (e.g. from a response, or a stored pre-signed CertID). */
export function parseCertIdDer(der: Buffer): CertId {
  try {
    const t = readTlv(der, 0, 'CertID');
    if (t.tag !== Tag.SEQUENCE || t.end !== der.length) bad('not a single CertID SEQUENCE');
    return parseCertId(der, t);
  } catch (e) {
    if (e instanceof Asn1DecodeError) throw new OcspRequestError(e.message, 'malformedRequest', { cause: e });
    throw e;
  }
}

/**
 * A key for caching the answer to these exact request bytes. Only requests without a nonce
 * may be answered from such a cache (a nonce makes every request unique, RFC 8954 §2), so a
 * responder inserts only nonce-free requests; a lookup hit then implies the same, nonce-free
 * bytes, and can skip parsing entirely (a single-CertID request is ~80-120 octets).
 */
export function requestCacheKey(der: Uint8Array): string {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  return buf.toString('latin1');
}
