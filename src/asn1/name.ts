/**
 * Distinguished names (RFC 5280 §4.1.2.4). We write UTF8String for directory strings (the
 * RFC's MUST for new certificates) and PrintableString for countryName (X.520). A child's
 * issuer field is always the parent's subject bytes copied verbatim, so chains match byte for
 * byte (RFC 5280 §7.1 name comparison never has to be relied on).
 */
import { Asn1DecodeError } from '../errors.js';
import { oid, printableString, sequence, setOf, utf8String } from './der.js';
import { Oids } from './oids.js';
import { parseNameAttributes } from './certificate-parse.js';

export interface NameSpec {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  serialNumber?: string;
}

/** DER of the Name plus a one-line rendering for logs and stores. */
export interface EncodedName {
  der: Buffer;
  text: string;
}

const ORDER: [keyof NameSpec, string, string][] = [
  ['country', Oids.countryName, 'C'],
  ['organization', Oids.organizationName, 'O'],
  ['organizationalUnit', Oids.organizationalUnitName, 'OU'],
  ['commonName', Oids.commonName, 'CN'],
  ['serialNumber', Oids.serialNumber, 'serialNumber'],
];

/** ub-common-name etc. (RFC 5280 Appendix A.1): 64 characters. */
const UPPER_BOUND = 64;

export function encodeName(spec: NameSpec): EncodedName {
  const rdns: Buffer[] = [];
  const text: string[] = [];
  for (const [key, attrOid, short] of ORDER) {
    const v = spec[key];
    if (v === undefined) continue;
    if (v.length === 0 || [...v].length > UPPER_BOUND)
      throw new Asn1DecodeError('Name', `${short} must be 1..${UPPER_BOUND} characters`);
    const value = key === 'country' || key === 'serialNumber' ? printableString(v) : utf8String(v);
    rdns.push(setOf(sequence(oid(attrOid), value)));
    text.push(`${short}=${v}`);
  }
  if (rdns.length === 0) throw new Asn1DecodeError('Name', 'empty subject');
  return { der: sequence(...rdns), text: text.join(', ') };
}

const SHORT_BY_OID = new Map(ORDER.map(([key, o, short]) => [o, { key, short }]));

/** Decode a Name's DER into the fields we write and a one-line rendering. */
export function decodeName(der: Uint8Array): { spec: NameSpec; text: string } {
  const spec: NameSpec = {};
  const text: string[] = [];
  for (const { oid: o, value } of parseNameAttributes(der)) {
    const known = SHORT_BY_OID.get(o);
    if (known) spec[known.key] = value;
    text.push(`${known?.short ?? o}=${value}`);
  }
  return { spec, text: text.join(', ') };
}
