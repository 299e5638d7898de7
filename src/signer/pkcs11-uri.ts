/**
 * RFC 7512 PKCS#11 URIs: `pkcs11:<path attrs joined by ;>[?<query attrs joined by &>]`.
 *
 * Parsing is strict on purpose: a key URI is a stored reference that decides which HSM object
 * signs certificates, so an unknown, duplicated or badly encoded attribute is refused
 * (SIGNER_URI_INVALID) rather than ignored. Vendor-specific attributes (§2.3 allows them) are
 * refused too: we have none.
 *
 * Our one extension: `pin-source=env:NAME` reads the PIN from an environment variable. RFC 7512
 * §2.3 leaves non-`file:` pin-source values application-defined; `|command` forms are refused
 * because we never run commands found in a stored URI.
 */
import { AgentCaError } from '../errors.js';

export type Pkcs11ObjectType = 'private' | 'public' | 'cert' | 'secret-key' | 'data';

export interface Pkcs11Uri {
  // path attributes (RFC 7512 §2.3), text values are UTF-8 after percent-decoding
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  /** `M` or `M.N` (digits only). */
  libraryVersion?: string;
  slotDescription?: string;
  slotManufacturer?: string;
  slotId?: number;
  object?: string;
  type?: Pkcs11ObjectType;
  /** CKA_ID: arbitrary bytes, always percent-encoded when formatted. */
  id?: Buffer;
  // query attributes
  /** `file:/abs/path`, `file:///abs/path` or `env:NAME` (our extension). */
  pinSource?: string;
  /** Discouraged (RFC 7512 §7): the PIN ends up wherever the URI is logged or stored. */
  pinValue?: string;
  moduleName?: string;
  modulePath?: string;
}

type Kind = 'text' | 'bytes' | 'type' | 'slot' | 'version';
interface AttrSpec {
  key: keyof Pkcs11Uri;
  where: 'path' | 'query';
  kind: Kind;
}

/** Attribute table; its order is the canonical order `formatPkcs11Uri` writes. */
const ATTRS: ReadonlyArray<readonly [string, AttrSpec]> = [
  ['token', { key: 'token', where: 'path', kind: 'text' }],
  ['manufacturer', { key: 'manufacturer', where: 'path', kind: 'text' }],
  ['serial', { key: 'serial', where: 'path', kind: 'text' }],
  ['model', { key: 'model', where: 'path', kind: 'text' }],
  ['library-manufacturer', { key: 'libraryManufacturer', where: 'path', kind: 'text' }],
  ['library-description', { key: 'libraryDescription', where: 'path', kind: 'text' }],
  ['library-version', { key: 'libraryVersion', where: 'path', kind: 'version' }],
  ['slot-description', { key: 'slotDescription', where: 'path', kind: 'text' }],
  ['slot-manufacturer', { key: 'slotManufacturer', where: 'path', kind: 'text' }],
  ['slot-id', { key: 'slotId', where: 'path', kind: 'slot' }],
  ['object', { key: 'object', where: 'path', kind: 'text' }],
  ['id', { key: 'id', where: 'path', kind: 'bytes' }],
  ['type', { key: 'type', where: 'path', kind: 'type' }],
  ['module-path', { key: 'modulePath', where: 'query', kind: 'text' }],
  ['module-name', { key: 'moduleName', where: 'query', kind: 'text' }],
  ['pin-source', { key: 'pinSource', where: 'query', kind: 'text' }],
  ['pin-value', { key: 'pinValue', where: 'query', kind: 'text' }],
];
const BY_NAME = new Map(ATTRS);

const TYPES: readonly Pkcs11ObjectType[] = ['private', 'public', 'cert', 'secret-key', 'data'];

// RFC 7512 §2.3: pk11-res-avail, plus "&" in the path and "/" "?" "|" in the query.
const UNRESERVED = 'A-Za-z0-9\\-._~';
const RES_AVAIL = ":\\[\\]@!$'()*+,=";
const PATH_VALUE = new RegExp(`^(?:[${UNRESERVED}${RES_AVAIL}&]|%[0-9A-Fa-f]{2})*$`);
const QUERY_VALUE = new RegExp(`^(?:[${UNRESERVED}${RES_AVAIL}/?|]|%[0-9A-Fa-f]{2})*$`);
const PATH_LITERAL = new RegExp(`[${UNRESERVED}${RES_AVAIL}&]`);
const QUERY_LITERAL = new RegExp(`[${UNRESERVED}${RES_AVAIL}/?|]`);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(uri: string, reason: string): AgentCaError {
  return new AgentCaError('SIGNER_URI_INVALID', `invalid PKCS#11 URI (RFC 7512): ${reason}`, {
    keyUri: redactPkcs11Uri(uri),
    reason,
  });
}

function percentDecode(v: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25) {
      out.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c); // validated as ASCII by PATH_VALUE / QUERY_VALUE
  }
  return Buffer.from(out);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parse and validate; throws SIGNER_URI_INVALID with the reason. */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(uri)) throw invalid(uri, 'scheme is not pkcs11:');
  const body = uri.slice('pkcs11:'.length);
  if (body.includes('#')) throw invalid(uri, 'fragments are not allowed');
  const q = body.indexOf('?');
  const path = q < 0 ? body : body.slice(0, q);
  const query = q < 0 ? '' : body.slice(q + 1);
  const out: Pkcs11Uri = {};
  const seen = new Set<string>();
  const take = (part: string, where: 'path' | 'query'): void => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid(uri, `attribute without a name or "=": ${JSON.stringify(part)}`);
    const name = part.slice(0, eq);
    const raw = part.slice(eq + 1);
    const spec = BY_NAME.get(name);
    if (!spec) throw invalid(uri, `unknown attribute ${name}`);
    if (spec.where !== where) throw invalid(uri, `${name} is a ${spec.where} attribute`);
    if (seen.has(name)) throw invalid(uri, `duplicate attribute ${name}`);
    seen.add(name);
    if (!(where === 'path' ? PATH_VALUE : QUERY_VALUE).test(raw)) {
      throw invalid(uri, `${name}: character not allowed unencoded, or a bad %-escape`);
    }
    const bytes = percentDecode(raw);
    if (spec.kind === 'bytes') {
      (out as Record<string, unknown>)[spec.key] = bytes;
      return;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw invalid(uri, `${name} is not valid UTF-8 after percent-decoding`);
    }
    switch (spec.kind) {
      case 'type':
        if (!TYPES.includes(text as Pkcs11ObjectType)) throw invalid(uri, `type must be one of ${TYPES.join(', ')}`);
        out.type = text as Pkcs11ObjectType;
        return;
      case 'slot': {
        const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(n)) throw invalid(uri, 'slot-id must be a decimal number');
        out.slotId = n;
        return;
      }
      case 'version':
        if (!/^[0-9]+(?:\.[0-9]+)?$/.test(text)) throw invalid(uri, 'library-version must be M or M.N');
        out.libraryVersion = text;
        return;
      default:
        (out as Record<string, unknown>)[spec.key] = text;
    }
  };
  if (path !== '') for (const part of path.split(';')) take(part, 'path');
  if (query !== '') for (const part of query.split('&')) take(part, 'query');
  validatePinSource(uri, out);
  return out;
}

function validatePinSource(uri: string, u: Pkcs11Uri): void {
  if (u.pinSource !== undefined && u.pinValue !== undefined)
    throw invalid(uri, 'pin-source and pin-value are mutually exclusive');
  if (u.pinSource === undefined) return;
  const s = u.pinSource;
  if (s.startsWith('env:')) {
    if (!ENV_NAME.test(s.slice(4))) throw invalid(uri, 'pin-source env: needs a variable name');
    return;
  }
  if (pinFilePath(s) === undefined) throw invalid(uri, 'pin-source must be file:/absolute/path or env:NAME');
}

/** The file a `file:` pin-source names (RFC 8089 forms `file:/p` and `file:///p`), else undefined. */
export function pinFilePath(pinSource: string): string | undefined {
  const m = /^file:(?:\/\/(?:localhost)?)?(\/.*)$/.exec(pinSource);
  if (!m || m[1] === undefined || m[1].startsWith('//')) return undefined;
  return m[1];
}

function encode(bytes: Buffer, literal: RegExp, all: boolean): string {
  let s = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    s += !all && b < 0x80 && literal.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** Canonical form: attributes in table order, `id` fully percent-encoded, other values minimally. */
export function formatPkcs11Uri(u: Pkcs11Uri): string {
  const path: string[] = [];
  const query: string[] = [];
  for (const [name, spec] of ATTRS) {
    const v = u[spec.key];
    if (v === undefined) continue;
    const bytes = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
    const literal = spec.where === 'path' ? PATH_LITERAL : QUERY_LITERAL;
    (spec.where === 'path' ? path : query).push(`${name}=${encode(bytes, literal, spec.kind === 'bytes')}`);
  }
  return `pkcs11:${path.join(';')}${query.length ? `?${query.join('&')}` : ''}`;
}

/** For logs and error details: hides a pin-value if one is present. */
export function redactPkcs11Uri(uri: string): string {
  return uri.replace(/([?&]pin-value=)[^&#]*/gi, '$1***');
}
