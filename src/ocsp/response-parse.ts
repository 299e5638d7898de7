/**
 * Reading OCSPResponses back (RFC 6960 §4.2.1): for tests and self-checks after pre-signing
 * (a KMS or HSM signature is verified before it is served), and for a pre-signed response's
 * thisUpdate/nextUpdate when a store hands back bare DER. Strict, like the request parser.
 */
import {
  childrenOf,
  content,
  decodeOid,
  decodeTime,
  expectTag,
  readWhole,
  slice,
  type Tlv,
} from '../asn1/der-reader.js';
import { Tag } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { Asn1DecodeError } from '../errors.js';
import { reasonFromCode } from '../store/ports.js';
import { parseCertIdDer } from './request.js';
import { OCSP_RESPONSE_STATUS, type CertId, type CertStatus, type OcspResponseStatus } from './types.js';
import { verifySignature } from '../signer/verify.js';

export interface ParsedSingleResponse {
  certId: CertId;
  status: CertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface ParsedBasicResponse {
  /** ResponseData DER: the signed bytes. */
  tbs: Buffer;
  responderId: { byKey: Buffer } | { byName: Buffer };
  producedAt: Date;
  responses: ParsedSingleResponse[];
  nonce?: Buffer;
  signatureAlgorithmOid: string;
  signature: Buffer;
  certs: Buffer[];
}

export interface ParsedOcspResponse {
  status: OcspResponseStatus;
  basic?: ParsedBasicResponse;
}

const statusByCode = new Map<number, OcspResponseStatus>(
  Object.entries(OCSP_RESPONSE_STATUS).map(([k, v]) => [v, k as OcspResponseStatus]),
);

/** A copy, so the parsed response does not pin the caller's buffer. */
function certIdOf(buf: Buffer, t: Tlv): CertId {
  return parseCertIdDer(Buffer.from(slice(buf, t)));
}

function certStatusOf(buf: Buffer, t: Tlv): CertStatus {
  if (t.tag === 0x80 && t.end === t.contentStart) return { kind: 'good' };
  if (t.tag === 0x82 && t.end === t.contentStart) return { kind: 'unknown' };
  if (t.tag === 0xa1) {
    const parts = childrenOf(buf, t, 'RevokedInfo');
    const revokedAt = decodeTime(buf, expectTag(parts[0], Tag.GENERALIZED_TIME, 'revocationTime'), 'revocationTime');
    if (parts.length === 1) return { kind: 'revoked', revokedAt };
    const wrapper = expectTag(parts[1], 0xa0, 'revocationReason');
    const e = expectTag(childrenOf(buf, wrapper, 'revocationReason')[0], Tag.ENUMERATED, 'CRLReason');
    const v = content(buf, e);
    if (v.length !== 1 || parts.length !== 2) throw new Asn1DecodeError('RevokedInfo', 'bad revocationReason');
    return { kind: 'revoked', revokedAt, reason: reasonFromCode(v[0]!) };
  }
  throw new Asn1DecodeError('CertStatus', `unexpected tag 0x${t.tag.toString(16)}`);
}

function singleOf(buf: Buffer, t: Tlv): ParsedSingleResponse {
  const f = childrenOf(buf, expectTag(t, Tag.SEQUENCE, 'SingleResponse'), 'SingleResponse');
  if (!f[1]) throw new Asn1DecodeError('SingleResponse', 'certStatus missing');
  const out: ParsedSingleResponse = {
    certId: certIdOf(buf, expectTag(f[0], Tag.SEQUENCE, 'certID')),
    status: certStatusOf(buf, f[1]),
    thisUpdate: decodeTime(buf, expectTag(f[2], Tag.GENERALIZED_TIME, 'thisUpdate'), 'thisUpdate'),
  };
  let i = 3;
  if (f[i]?.tag === 0xa0) {
    out.nextUpdate = decodeTime(
      buf,
      expectTag(childrenOf(buf, f[i]!, 'nextUpdate')[0], Tag.GENERALIZED_TIME, 'nextUpdate'),
      'nextUpdate',
    );
    i++;
  }
  if (f[i]?.tag === 0xa1) i++;
  if (i !== f.length) throw new Asn1DecodeError('SingleResponse', 'unexpected fields');
  return out;
}

function nonceOf(buf: Buffer, wrapper: Tlv): Buffer | undefined {
  const seq = expectTag(childrenOf(buf, wrapper, 'responseExtensions')[0], Tag.SEQUENCE, 'Extensions');
  for (const ext of childrenOf(buf, seq, 'Extensions')) {
    const p = childrenOf(buf, ext, 'Extension');
    if (decodeOid(content(buf, expectTag(p[0], Tag.OID, 'extnID'))) !== Oids.ocspNonce) continue;
    const value = content(buf, expectTag(p[p.length - 1], Tag.OCTET_STRING, 'extnValue'));
    return content(value, readWhole(value, Tag.OCTET_STRING, 'nonce'));
  }
  return undefined;
}

function basicOf(buf: Buffer): ParsedBasicResponse {
  const top = childrenOf(buf, readWhole(buf, Tag.SEQUENCE, 'BasicOCSPResponse'), 'BasicOCSPResponse');
  const tbsTlv = expectTag(top[0], Tag.SEQUENCE, 'tbsResponseData');
  const f = childrenOf(buf, tbsTlv, 'ResponseData');
  let i = 0;
  if (f[0]?.tag === 0xa0) i++;
  const rid = f[i++];
  let responderId: ParsedBasicResponse['responderId'];
  if (rid?.tag === 0xa2)
    responderId = { byKey: content(buf, expectTag(childrenOf(buf, rid, 'byKey')[0], Tag.OCTET_STRING, 'KeyHash')) };
  else if (rid?.tag === 0xa1)
    responderId = { byName: slice(buf, expectTag(childrenOf(buf, rid, 'byName')[0], Tag.SEQUENCE, 'Name')) };
  else throw new Asn1DecodeError('ResponderID', 'missing or bad tag');
  const producedAt = decodeTime(buf, expectTag(f[i++], Tag.GENERALIZED_TIME, 'producedAt'), 'producedAt');
  const responses = childrenOf(buf, expectTag(f[i++], Tag.SEQUENCE, 'responses'), 'responses').map((t) =>
    singleOf(buf, t),
  );
  let nonce: Buffer | undefined;
  if (f[i]?.tag === 0xa1) nonce = nonceOf(buf, f[i++]!);
  if (i !== f.length) throw new Asn1DecodeError('ResponseData', 'unexpected fields');
  const alg = childrenOf(buf, expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm');
  const sig = content(buf, expectTag(top[2], Tag.BIT_STRING, 'signature'));
  const certs: Buffer[] = [];
  if (top[3]) {
    const seq = expectTag(childrenOf(buf, expectTag(top[3], 0xa0, 'certs'), 'certs')[0], Tag.SEQUENCE, 'certs');
    for (const c of childrenOf(buf, seq, 'certs')) certs.push(slice(buf, c));
  }
  if (top.length > 4) throw new Asn1DecodeError('BasicOCSPResponse', 'unexpected fields');
  return {
    tbs: slice(buf, tbsTlv),
    responderId,
    producedAt,
    responses,
    ...(nonce ? { nonce } : {}),
    signatureAlgorithmOid: decodeOid(content(buf, expectTag(alg[0], Tag.OID, 'signatureAlgorithm'))),
    signature: sig.subarray(1),
    certs,
  };
}

export function parseOcspResponse(input: Uint8Array): ParsedOcspResponse {
  const buf = Buffer.from(input);
  const top = childrenOf(buf, readWhole(buf, Tag.SEQUENCE, 'OCSPResponse'), 'OCSPResponse');
  const st = content(buf, expectTag(top[0], Tag.ENUMERATED, 'responseStatus'));
  const status = st.length === 1 ? statusByCode.get(st[0]!) : undefined;
  if (!status) throw new Asn1DecodeError('OCSPResponse', 'unknown responseStatus');
  if (!top[1]) {
    if (status === 'successful') throw new Asn1DecodeError('OCSPResponse', 'successful without responseBytes');
    return { status };
  }
  if (top.length > 2) throw new Asn1DecodeError('OCSPResponse', 'unexpected fields');
  const rb = childrenOf(
    buf,
    expectTag(
      childrenOf(buf, expectTag(top[1], 0xa0, 'responseBytes'), 'responseBytes')[0],
      Tag.SEQUENCE,
      'ResponseBytes',
    ),
    'ResponseBytes',
  );
  if (decodeOid(content(buf, expectTag(rb[0], Tag.OID, 'responseType'))) !== Oids.ocspBasic)
    throw new Asn1DecodeError('ResponseBytes', 'not id-pkix-ocsp-basic');
  return { status, basic: basicOf(Buffer.from(content(buf, expectTag(rb[1], Tag.OCTET_STRING, 'response')))) };
}

/** Verify a BasicOCSPResponse signature with the responder's SPKI. */
export function verifyBasicResponse(basic: ParsedBasicResponse, publicKeyInfo: Uint8Array): boolean {
  return verifySignature(basic.signatureAlgorithmOid, basic.tbs, publicKeyInfo, basic.signature);
}
