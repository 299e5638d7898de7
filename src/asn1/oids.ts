/**
 * Every OID the project writes. Our own arc is derived from our UUID under the arc Microsoft
 * documents for self-allocated, GUID-derived OIDs, so it needs no registration and every
 * component stays below 2^23; operators with their own enterprise number can override the arc
 * in config (asn1/README.md is the public table and says why the arc looks like this).
 */

/**
 * 1.2.840.113556.1.8000.2554 + UUID 06626d47-dce5-42d2-9427-40d0701ff183 cut as Microsoft's
 * "Obtaining an Object Identifier from Microsoft" says (aaaabbbb-cccc-dddd-eeee-ffffffgggggg ->
 * .aaaa.bbbb.cccc.dddd.eeee.ffffff.gggggg, each chunk in decimal).
 */
export const AGENT_CA_ARC = '1.2.840.113556.1.8000.2554.1634.27975.56549.17106.37927.4247664.2093443';

/**
 * The first arc: 2.25 + the same UUID as one decimal integer (ITU-T X.667). Valid ASN.1, but its
 * 123-bit component is refused by Go crypto/x509, GnuTLS, pyca/cryptography and Botan, so
 * nothing is issued under it any more; readers still accept it so that certificates issued
 * before the move keep their meaning for their lifetime (asn1/README.md, compatibility rule).
 */
export const LEGACY_AGENT_CA_ARC = '2.25.8486429543056106623930373175689343363';

/** Our extensions live under <arc>.1; a breaking change to a syntax gets a new OID. */
export function agentExtensionOids(arc: string = AGENT_CA_ARC) {
  return Object.freeze({
    agentPolicy: `${arc}.1.1`,
    agentScope: `${arc}.1.2`,
    modelHash: `${arc}.1.3`,
    agentContext: `${arc}.1.4`,
  });
}
export const AgentOids = agentExtensionOids();
export type AgentExtensionName = keyof typeof AgentOids;
export type AgentExtensionOids = Readonly<Record<AgentExtensionName, string>>;

/**
 * The OID sets a reader accepts when `arc` is the one issued under: that arc, then the legacy
 * 2.25 arc. Issue under `agentExtensionOids(arc)` only; read with this.
 */
export function readableAgentExtensionOids(arc: string = AGENT_CA_ARC): readonly AgentExtensionOids[] {
  const arcs = arc === LEGACY_AGENT_CA_ARC ? [arc] : [arc, LEGACY_AGENT_CA_ARC];
  return Object.freeze(arcs.map((a) => agentExtensionOids(a)));
}

export const Oids = {
  // attribute types (RFC 5280 §4.1.2.4, X.520)
  commonName: '2.5.4.3',
  countryName: '2.5.4.6',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  serialNumber: '2.5.4.5',
  // certificate extensions (RFC 5280 §4.2)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  // access methods
  ocspAccess: '1.3.6.1.5.5.7.48.1',
  caIssuersAccess: '1.3.6.1.5.5.7.48.2',
  // extended key usages
  kpServerAuth: '1.3.6.1.5.5.7.3.1',
  kpClientAuth: '1.3.6.1.5.5.7.3.2',
  kpOcspSigning: '1.3.6.1.5.5.7.3.9',
  // OCSP (RFC 6960)
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  // public keys
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  ed25519: '1.3.101.112',
  // signatures
  sha1WithRSAEncryption: '1.2.840.113549.1.1.5',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  sha384WithRSAEncryption: '1.2.840.113549.1.1.12',
  sha512WithRSAEncryption: '1.2.840.113549.1.1.13',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  // digests
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  // PKCS#9 (CSRs)
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/**
 * The largest OID component we write: 2^31 - 1. Go encoding/asn1 and Botan refuse larger ones,
 * and rust-asn1 (pyca/cryptography), RustCrypto const-oid and libtasn1 (GnuTLS) cap them too,
 * so an OID above it is valid X.680 but unreadable by many counterparties (docs/oids-and-lints.md).
 */
export const MAX_OID_COMPONENT = 2 ** 31 - 1;

/** The components of a dotted OID that exceed MAX_OID_COMPONENT, as written (none: []). */
export function oversizedOidComponents(oid: string): string[] {
  const max = String(MAX_OID_COMPONENT);
  // Decimal strings without leading zeros compare by length, then lexicographically.
  return oid
    .split('.')
    .filter((c) => /^[0-9]+$/.test(c) && (c.length > max.length || (c.length === max.length && c > max)));
}
