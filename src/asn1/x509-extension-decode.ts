/**
 * Strict decoders for the RFC 5280 §4.2 extension values we write, the inverse of
 * x509-extensions.ts. Every value must be DER (X.690 §10–11): a DEFAULT value written out,
 * a BOOLEAN other than 00/FF, a non-minimal INTEGER or a named BIT STRING with trailing zero
 * bits all throw `Asn1DecodeError`. The lints read a TBS through these, so an encoder bug
 * cannot hide behind a model; path validation and `describeCertificate` use them too.
 */
import { Asn1DecodeError } from '../errors.js';
import {
  expectContext,
  expectSequence,
  isContextTag,
  readBoolean,
  readIa5String,
  readInteger,
  readNull,
  readOid,
  type DerNode,
} from './decode.js';
import { readDerTree } from './der-tree.js';
import { Oids } from './oids.js';
import { ExtKeyUsageOids, KeyUsageBits, type GeneralName, type KeyUsageName } from './x509-extensions.js';

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
export function decodeBasicConstraints(value: Uint8Array): { ca: boolean; pathLen?: number } {
  const what = 'basicConstraints';
  const parts = expectSequence(readDerTree(value, what), what, { max: 2 });
  let i = 0;
  let ca = false;
  if (parts[i]?.tagClass === 'universal' && parts[i]!.tagNumber === 1) {
    ca = readBoolean(parts[i++]!, `${what} cA`);
    // X.690 §11.5: a component equal to its DEFAULT is absent in DER.
    if (!ca) throw new Asn1DecodeError(what, 'cA FALSE is the DEFAULT and must be omitted in DER (X.690 §11.5)');
  }
  const pathLen = parts[i]
    ? readInteger(parts[i++]!, `${what} pathLenConstraint`, { min: 0, max: 2 ** 31 - 1 })
    : undefined;
  if (i !== parts.length) throw new Asn1DecodeError(what, 'unexpected component');
  return { ca, ...(pathLen !== undefined ? { pathLen } : {}) };
}

/** The bit numbers set in a DER named BIT STRING (X.690 §11.2.2: no trailing zero bits). */
export function decodeNamedBits(value: Uint8Array, what: string): number[] {
  const node = readDerTree(value, what);
  if (node.tagClass !== 'universal' || node.tagNumber !== 3) throw new Asn1DecodeError(what, 'expected BIT STRING');
  const c = node.content;
  const unused = c[0];
  if (unused === undefined || unused > 7 || (c.length === 1 && unused !== 0))
    throw new Asn1DecodeError(what, 'bad unused-bits octet');
  const bits: number[] = [];
  for (let byte = 1; byte < c.length; byte++)
    for (let b = 0; b < 8; b++) if (c[byte]! & (0x80 >> b)) bits.push((byte - 1) * 8 + b);
  const last = c[c.length - 1]!;
  if (c.length > 1 && (last === 0 || (last & ((1 << unused) - 1)) !== 0 || (last & (1 << unused)) === 0)) {
    throw new Asn1DecodeError(
      what,
      'named BIT STRING not in DER form (X.690 §11.2.2: no trailing zero bits, unused bits zero)',
    );
  }
  return bits;
}

const KU_BY_BIT = new Map<number, KeyUsageName>(
  Object.entries(KeyUsageBits).map(([n, b]): [number, KeyUsageName] => [b, n as KeyUsageName]),
);

/** KeyUsage (RFC 5280 §4.2.1.3) as names; a bit beyond decipherOnly throws. */
export function decodeKeyUsage(value: Uint8Array): KeyUsageName[] {
  return decodeNamedBits(value, 'keyUsage').map((b) => {
    const n = KU_BY_BIT.get(b);
    if (!n) throw new Asn1DecodeError('keyUsage', `unknown bit ${b}`);
    return n;
  });
}

const EKU_BY_OID = new Map<string, string>(Object.entries(ExtKeyUsageOids).map(([n, o]): [string, string] => [o, n]));

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId: our names, or the dotted OID for others. */
export function decodeExtKeyUsage(value: Uint8Array): string[] {
  const what = 'extKeyUsage';
  return expectSequence(readDerTree(value, what), what, { min: 1 }).map((n) => {
    const o = readOid(n, `${what} KeyPurposeId`);
    return EKU_BY_OID.get(o) ?? o;
  });
}

/** One GeneralName; only dNSName [2] and uniformResourceIdentifier [6] are ours (RFC 5280 §4.2.1.6). */
function readGeneralName(n: DerNode, what: string): GeneralName {
  if (isContextTag(n, 2) && !n.constructed)
    return { dns: readIa5String(n, `${what} dNSName`, { implicit: 2, min: 1 }) };
  if (isContextTag(n, 6) && !n.constructed)
    return { uri: readIa5String(n, `${what} uniformResourceIdentifier`, { implicit: 6, min: 1 }) };
  throw new Asn1DecodeError(what, `GeneralName [${n.tagNumber}] is not one agent-ca writes`);
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (subjectAltName). */
export function decodeGeneralNames(value: Uint8Array, what = 'subjectAltName'): GeneralName[] {
  return expectSequence(readDerTree(value, what), what, { min: 1 }).map((n) => readGeneralName(n, what));
}

function uriOf(n: DerNode, what: string): string {
  const g = readGeneralName(n, what);
  if (!('uri' in g)) throw new Asn1DecodeError(what, 'expected a URI');
  return g.uri;
}

/** CRLDistributionPoints / FreshestCRL (RFC 5280 §4.2.1.13, §4.2.1.15): the fullName URIs. */
export function decodeDistributionPoints(value: Uint8Array, what = 'cRLDistributionPoints'): string[] {
  const out: string[] = [];
  for (const dp of expectSequence(readDerTree(value, what), what, { min: 1 })) {
    const fields = expectSequence(dp, `${what} DistributionPoint`, { min: 1 });
    const name = fields[0]!;
    expectContext(name, 0, true, `${what} distributionPoint`);
    const full = name.children[0];
    if (!full || name.children.length !== 1)
      throw new Asn1DecodeError(what, 'distributionPoint must hold one DistributionPointName');
    for (const g of expectSequence(full, `${what} fullName`, { implicit: 0, min: 1 }))
      out.push(uriOf(g, `${what} fullName`));
  }
  return out;
}

/** AuthorityInfoAccessSyntax (RFC 5280 §4.2.2.1): OCSP and caIssuers URIs. */
export function decodeAuthorityInfoAccess(value: Uint8Array): { ocsp: string[]; caIssuers: string[]; other: string[] } {
  const what = 'authorityInfoAccess';
  const out = { ocsp: [] as string[], caIssuers: [] as string[], other: [] as string[] };
  for (const ad of expectSequence(readDerTree(value, what), what, { min: 1 })) {
    const [m, loc] = expectSequence(ad, `${what} AccessDescription`, { min: 2, max: 2 });
    const method = readOid(m!, `${what} accessMethod`);
    const uri = uriOf(loc!, `${what} accessLocation`);
    if (method === Oids.ocspAccess) out.ocsp.push(uri);
    else if (method === Oids.caIssuersAccess) out.caIssuers.push(uri);
    else out.other.push(method);
  }
  return out;
}

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): the value is NULL. */
export function decodeOcspNoCheck(value: Uint8Array): true {
  readNull(readDerTree(value, 'ocspNoCheck'), 'ocspNoCheck');
  return true;
}

/** Every OBJECT IDENTIFIER below `node`, in document order. */
export function oidsIn(node: DerNode, what: string, out: string[] = []): string[] {
  if (node.tagClass === 'universal' && node.tagNumber === 6) out.push(readOid(node, what));
  for (const c of node.children) oidsIn(c, what, out);
  return out;
}
