/**
 * Encoders for the RFC 5280 §4.2 standard extensions we write. Each returns the extnValue DER;
 * criticality is the profile's decision and lint's concern.
 */
import { Asn1DecodeError } from '../errors.js';
import {
  boolean,
  contextPrimitive,
  explicit,
  ia5String,
  implicit,
  integer,
  namedBitString,
  octetString,
  oid,
  sequence,
} from './der.js';
import { Oids } from './oids.js';

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KeyUsageBits = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;
export type KeyUsageName = keyof typeof KeyUsageBits;

export const ExtKeyUsageOids = {
  serverAuth: Oids.kpServerAuth,
  clientAuth: Oids.kpClientAuth,
  ocspSigning: Oids.kpOcspSigning,
} as const;
export type ExtKeyUsageName = keyof typeof ExtKeyUsageOids;

export function subjectKeyIdentifierValue(keyId: Uint8Array): Buffer {
  return octetString(keyId);
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... } */
export function authorityKeyIdentifierValue(keyId: Uint8Array): Buffer {
  return sequence(contextPrimitive(0, keyId));
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } */
export function basicConstraintsValue(ca: boolean, pathLen?: number): Buffer {
  return sequence(ca ? boolean(true) : undefined, ca && pathLen !== undefined ? integer(pathLen) : undefined);
}

export function keyUsageValue(usages: readonly KeyUsageName[]): Buffer {
  return namedBitString(usages.map((u) => KeyUsageBits[u]));
}

export function extKeyUsageValue(usages: readonly ExtKeyUsageName[]): Buffer {
  return sequence(...usages.map((u) => oid(ExtKeyUsageOids[u])));
}

export type GeneralName = { dns: string } | { uri: string };

/** GeneralName: dNSName [2] IA5String, uniformResourceIdentifier [6] IA5String (RFC 5280 §4.2.1.6). */
export function generalName(n: GeneralName): Buffer {
  if ('dns' in n) return implicit(2, ia5String(n.dns));
  return implicit(6, ia5String(n.uri));
}

export function subjectAltNameValue(names: readonly GeneralName[]): Buffer {
  if (names.length === 0) throw new Asn1DecodeError('subjectAltName', 'at least one name is required');
  return sequence(...names.map(generalName));
}

/**
 * CRLDistributionPoints / FreshestCRL (RFC 5280 §4.2.1.13, §4.2.1.15): one DistributionPoint
 * with distributionPoint [0] { fullName [0] GeneralNames { URI } }.
 */
export function distributionPointsValue(uris: readonly string[]): Buffer {
  return sequence(...uris.map((u) => sequence(explicit(0, implicit(0, sequence(generalName({ uri: u })))))));
}

/** AuthorityInfoAccess (RFC 5280 §4.2.2.1): OCSP responder and caIssuers URIs. */
export function authorityInfoAccessValue(access: { ocsp?: readonly string[]; caIssuers?: readonly string[] }): Buffer {
  const descs: Buffer[] = [];
  for (const u of access.ocsp ?? []) descs.push(sequence(oid(Oids.ocspAccess), generalName({ uri: u })));
  for (const u of access.caIssuers ?? []) descs.push(sequence(oid(Oids.caIssuersAccess), generalName({ uri: u })));
  return sequence(...descs);
}

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): extnValue is NULL. */
export const OCSP_NOCHECK_VALUE = Buffer.from([0x05, 0x00]);
