/**
 * Structural parse of an X.509 certificate (RFC 5280 §4.1) keeping exact byte slices, so the
 * issuer/subject Names, SPKI and TBS can be hashed or copied verbatim (OCSP CertID, AKI, chain
 * building). Extension values are left as bytes; codecs decode them.
 */
import { Asn1DecodeError } from '../errors.js';
import type { Serial } from '../types.js';
import { childrenOf, content, decodeOid, decodeTime, expectTag, readWhole, slice, type Tlv } from './der-reader.js';
import { Tag } from './der.js';

export interface RawExtension {
  oid: string;
  critical: boolean;
  value: Buffer;
}

export interface ParsedCertificate {
  der: Buffer;
  tbs: Buffer;
  version: number;
  serial: Serial;
  serialMagnitude: Buffer;
  signatureAlgorithmOid: string;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKeyInfo: Buffer;
  extensions: RawExtension[];
  signature: Buffer;
}

export function parseExtensions(buf: Uint8Array, seqOf: Tlv, what: string): RawExtension[] {
  const out: RawExtension[] = [];
  for (const ext of childrenOf(buf, seqOf, what)) {
    const parts = childrenOf(buf, expectTag(ext, Tag.SEQUENCE, what), what);
    const oid = decodeOid(content(buf, expectTag(parts[0], Tag.OID, `${what} extnID`)));
    let i = 1;
    let critical = false;
    if (parts[i]?.tag === Tag.BOOLEAN) {
      critical = content(buf, parts[i]!)[0] === 0xff;
      i++;
    }
    const value = content(buf, expectTag(parts[i], Tag.OCTET_STRING, `${what} extnValue`));
    if (parts.length !== i + 1) throw new Asn1DecodeError(what, 'extra fields in Extension');
    out.push({ oid, critical, value });
  }
  return out;
}

export function parseCertificate(input: Uint8Array): ParsedCertificate {
  const der = Buffer.from(input);
  const what = 'Certificate';
  const top = childrenOf(der, readWhole(der, Tag.SEQUENCE, what), what);
  if (top.length !== 3) throw new Asn1DecodeError(what, 'expected tbsCertificate, signatureAlgorithm, signature');
  const tbsTlv = expectTag(top[0], Tag.SEQUENCE, 'tbsCertificate');
  const f = childrenOf(der, tbsTlv, 'tbsCertificate');
  let i = 0;
  let version = 1;
  if (f[0]?.tag === 0xa0) {
    const v = childrenOf(der, f[0], 'version')[0];
    version = content(der, expectTag(v, Tag.INTEGER, 'version'))[0]! + 1;
    i = 1;
  }
  const serialTlv = expectTag(f[i++], Tag.INTEGER, 'serialNumber');
  const serialBytes = content(der, serialTlv);
  const magnitude = serialBytes[0] === 0 && serialBytes.length > 1 ? serialBytes.subarray(1) : serialBytes;
  i++; // signature AlgorithmIdentifier inside TBS
  const issuer = slice(der, expectTag(f[i++], Tag.SEQUENCE, 'issuer'));
  const validity = childrenOf(der, expectTag(f[i++], Tag.SEQUENCE, 'validity'), 'validity');
  const subject = slice(der, expectTag(f[i++], Tag.SEQUENCE, 'subject'));
  const spki = slice(der, expectTag(f[i++], Tag.SEQUENCE, 'subjectPublicKeyInfo'));
  let extensions: RawExtension[] = [];
  for (; i < f.length; i++) {
    if (f[i]!.tag === 0xa3) {
      const seq = childrenOf(der, f[i]!, 'extensions')[0];
      extensions = parseExtensions(der, expectTag(seq, Tag.SEQUENCE, 'extensions'), 'extensions');
    }
  }
  const algParts = childrenOf(der, expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm');
  const sigBits = content(der, expectTag(top[2], Tag.BIT_STRING, 'signature'));
  return {
    der,
    tbs: slice(der, tbsTlv),
    version,
    serial: Buffer.from(magnitude).toString('hex') as Serial,
    serialMagnitude: Buffer.from(magnitude),
    signatureAlgorithmOid: decodeOid(content(der, expectTag(algParts[0], Tag.OID, 'signatureAlgorithm'))),
    issuer,
    subject,
    notBefore: decodeTime(der, validity[0]!, 'notBefore'),
    notAfter: decodeTime(der, validity[1]!, 'notAfter'),
    publicKeyInfo: spki,
    extensions,
    signature: sigBits.subarray(1),
  };
}

/** Name (SEQUENCE OF SET OF AttributeTypeAndValue) -> [{oid, value}] in order. */
export function parseNameAttributes(name: Uint8Array): { oid: string; value: string }[] {
  const buf = Buffer.from(name);
  const out: { oid: string; value: string }[] = [];
  for (const rdn of childrenOf(buf, readWhole(buf, Tag.SEQUENCE, 'Name'), 'Name')) {
    for (const atv of childrenOf(buf, rdn, 'RDN')) {
      const [t, v] = childrenOf(buf, atv, 'AttributeTypeAndValue');
      const oid = decodeOid(content(buf, expectTag(t, Tag.OID, 'attribute type')));
      if (!v) throw new Asn1DecodeError('Name', 'attribute without value');
      out.push({ oid, value: content(buf, v).toString(v.tag === Tag.UTF8_STRING ? 'utf8' : 'latin1') });
    }
  }
  return out;
}
