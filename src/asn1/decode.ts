/**
 * Strict DER reading on top of asn1js. asn1js parses BER and is lenient on purpose (it accepts
 * indefinite lengths, long-form lengths for short values, constructed strings, trailing bytes,
 * invalid UTF-8 with only a warning). Everything we read from a certificate extension must be
 * DER (X.690 §10, required by RFC 5280 §4.1), so `parseDer` re-checks every header, and the
 * readers below check tags, charsets and ranges, throwing `Asn1DecodeError` with the name of
 * the field being read (`what`). Other decoders in the project can reuse them.
 */
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../errors.js';
import { decodeOid } from './der-reader.js';

export type TagClass = 'universal' | 'application' | 'context' | 'private';

/** One DER TLV, detached from asn1js objects so callers never depend on its class hierarchy. */
export interface DerNode {
  readonly tagClass: TagClass;
  readonly tagNumber: number;
  readonly constructed: boolean;
  /** Content octets (the V of TLV). */
  readonly content: Uint8Array;
  /** The whole TLV as it appeared in the input. */
  readonly der: Uint8Array;
  /** Children of a constructed node; empty for a primitive one. */
  readonly children: readonly DerNode[];
}

export interface ParseDerOptions {
  /** Nesting limit (default 32: nothing we parse nests deeper than a certificate). */
  maxDepth?: number;
  /** Node-count limit (default 10,000) against hostile inputs. */
  maxNodes?: number;
}

const TAG_CLASSES: readonly TagClass[] = ['universal', 'application', 'context', 'private'];

/** Universal types whose DER encoding is always primitive (X.690 §10.2, §8.x "primitive"). */
const PRIMITIVE_ONLY = new Set([1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30]);

export const UniversalTagName: Readonly<Record<number, string>> = {
  1: 'BOOLEAN',
  2: 'INTEGER',
  3: 'BIT STRING',
  4: 'OCTET STRING',
  5: 'NULL',
  6: 'OBJECT IDENTIFIER',
  10: 'ENUMERATED',
  12: 'UTF8String',
  16: 'SEQUENCE',
  17: 'SET',
  19: 'PrintableString',
  22: 'IA5String',
  23: 'UTCTime',
  24: 'GeneralizedTime',
};

/** Human-readable tag, e.g. `UTF8String`, `[2] primitive`, `[APPLICATION 1] constructed`. */
export function describeTag(node: Pick<DerNode, 'tagClass' | 'tagNumber' | 'constructed'>): string {
  if (node.tagClass === 'universal') return UniversalTagName[node.tagNumber] ?? `UNIVERSAL ${node.tagNumber}`;
  const cls = node.tagClass === 'context' ? '' : `${node.tagClass.toUpperCase()} `;
  return `[${cls}${node.tagNumber}] ${node.constructed ? 'constructed' : 'primitive'}`;
}

/** X.690 §10.2: string types are primitive in DER; SEQUENCE and SET are always constructed; no end-of-contents. */
export function checkDerForm(node: Pick<DerNode, 'tagClass' | 'tagNumber' | 'constructed'>, what: string): void {
  if (node.tagClass !== 'universal') return;
  if (node.constructed && PRIMITIVE_ONLY.has(node.tagNumber))
    throw new Asn1DecodeError(what, `constructed ${describeTag(node)} is not DER (X.690 §10.2)`);
  if (!node.constructed && (node.tagNumber === 16 || node.tagNumber === 17))
    throw new Asn1DecodeError(what, `primitive ${describeTag(node)}`);
  if (node.tagNumber === 0) throw new Asn1DecodeError(what, 'end-of-contents octets are not DER');
}

function derLengthOctets(len: number): number {
  if (len < 0x80) return 1;
  let n = 0;
  for (let v = len; v > 0; v = Math.floor(v / 256)) n++;
  return 1 + n;
}

function derTagOctets(tagNumber: number): number {
  if (tagNumber < 31) return 1;
  let n = 0;
  for (let v = tagNumber; v > 0; v = Math.floor(v / 128)) n++;
  return 1 + n;
}

/** Structural view of the asn1js block fields we rely on (stable across asn1js 3.x/4.x). */
interface RawBlock {
  error?: string;
  idBlock: { tagClass: number; tagNumber: number; isConstructed: boolean; blockLength: number };
  lenBlock: { isIndefiniteForm: boolean; length: number; blockLength: number };
  valueBeforeDecodeView: Uint8Array;
  valueBlock: { value?: unknown };
}

function convert(block: RawBlock, what: string): DerNode {
  if (block.error) throw new Asn1DecodeError(what, `malformed encoding (${block.error})`);
  const { idBlock, lenBlock } = block;
  const tagClass = TAG_CLASSES[idBlock.tagClass - 1];
  if (!tagClass) throw new Asn1DecodeError(what, `unknown tag class ${idBlock.tagClass}`);
  // X.690 §10.1: definite length only, in the fewest octets; §8.1.2.4: minimal tag number octets.
  if (lenBlock.isIndefiniteForm) throw new Asn1DecodeError(what, 'indefinite length is not DER (X.690 §10.1)');
  if (lenBlock.blockLength !== derLengthOctets(lenBlock.length))
    throw new Asn1DecodeError(what, 'length not in minimal form (X.690 §10.1)');
  if (idBlock.blockLength !== derTagOctets(idBlock.tagNumber))
    throw new Asn1DecodeError(what, 'tag number not in minimal form (X.690 §8.1.2.4)');
  const der = block.valueBeforeDecodeView;
  const headerLength = idBlock.blockLength + lenBlock.blockLength;
  if (der.length !== headerLength + lenBlock.length) throw new Asn1DecodeError(what, 'truncated element');
  const node = { tagClass, tagNumber: idBlock.tagNumber, constructed: idBlock.isConstructed };
  checkDerForm(node, what);
  const children: DerNode[] = [];
  if (node.constructed) {
    const raw = block.valueBlock.value;
    if (!Array.isArray(raw)) throw new Asn1DecodeError(what, 'constructed element without parsed contents');
    for (const child of raw as RawBlock[]) children.push(convert(child, what));
  }
  return Object.freeze({ ...node, content: der.subarray(headerLength), der, children: Object.freeze(children) });
}

/**
 * Parse one DER element that must span the whole buffer (trailing bytes are rejected: an
 * extnValue is exactly one value, RFC 5280 §4.1). Every nested header is checked for DER form.
 */
export function parseDer(bytes: Uint8Array, what: string, options: ParseDerOptions = {}): DerNode {
  if (!(bytes instanceof Uint8Array)) throw new Asn1DecodeError(what, 'input is not a byte array');
  if (bytes.length === 0) throw new Asn1DecodeError(what, 'empty input');
  const parsed = asn1js.fromBER(bytes, {
    maxDepth: options.maxDepth ?? 32,
    maxNodes: options.maxNodes ?? 10_000,
    parseEmbedded: false, // OCTET/BIT STRING contents stay opaque bytes
  });
  if (parsed.offset === -1)
    throw new Asn1DecodeError(what, `malformed encoding (${parsed.result.error || 'unknown error'})`);
  if (parsed.offset !== bytes.length)
    throw new Asn1DecodeError(what, `${bytes.length - parsed.offset} trailing byte(s) after the value`);
  return convert(parsed.result as unknown as RawBlock, what);
}

// ---------------------------------------------------------------------------------------------
// tags

/** Optional IMPLICIT context tag replacing a field's universal tag (X.680 §31.2.7). */
export interface ImplicitTag {
  implicit?: number;
}

export function isContextTag(node: DerNode, tagNumber?: number): boolean {
  return node.tagClass === 'context' && (tagNumber === undefined || node.tagNumber === tagNumber);
}

/** Require exactly the given universal tag. */
export function expectUniversal(node: DerNode, tagNumber: number, what: string): void {
  if (node.tagClass !== 'universal' || node.tagNumber !== tagNumber) {
    throw new Asn1DecodeError(
      what,
      `expected ${UniversalTagName[tagNumber] ?? `UNIVERSAL ${tagNumber}`}, found ${describeTag(node)}`,
    );
  }
}

/** Require a context tag [n] with the given constructed-ness. */
export function expectContext(node: DerNode, tagNumber: number, constructed: boolean, what: string): void {
  if (node.tagClass !== 'context' || node.tagNumber !== tagNumber || node.constructed !== constructed) {
    throw new Asn1DecodeError(
      what,
      `expected [${tagNumber}] ${constructed ? 'constructed' : 'primitive'}, found ${describeTag(node)}`,
    );
  }
}

/** The field's own tag, or its IMPLICIT replacement (constructed-ness is kept, X.690 §8.14.4). */
function expectTag(node: DerNode, universal: number, what: string, tag: ImplicitTag | undefined): void {
  if (tag?.implicit !== undefined) expectContext(node, tag.implicit, universal === 16 || universal === 17, what);
  else expectUniversal(node, universal, what);
}

export interface SizeConstraint {
  min?: number;
  max?: number;
}

function checkSize(n: number, size: SizeConstraint | undefined, what: string, unit: string): void {
  if (size?.min !== undefined && n < size.min)
    throw new Asn1DecodeError(what, `${n} ${unit}, at least ${size.min} required`);
  if (size?.max !== undefined && n > size.max)
    throw new Asn1DecodeError(what, `${n} ${unit}, at most ${size.max} allowed`);
}

/** SEQUENCE (or SEQUENCE OF): returns the components, checking the count. */
export function expectSequence(node: DerNode, what: string, size?: SizeConstraint & ImplicitTag): readonly DerNode[] {
  expectTag(node, 16, what, size);
  checkSize(node.children.length, size, what, 'component(s)');
  return node.children;
}

/** SEQUENCE SIZE (min..max) OF T, each element read by `item`. */
export function readSequenceOf<T>(
  node: DerNode,
  what: string,
  item: (el: DerNode, index: number) => T,
  size?: SizeConstraint & ImplicitTag,
): T[] {
  return expectSequence(node, what, size).map((el, i) => item(el, i));
}

// ---------------------------------------------------------------------------------------------
// strings

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode UTF-8 rejecting overlong forms, surrogates, truncation and code points > U+10FFFF (RFC 3629 §3). */
export function decodeUtf8Strict(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new Asn1DecodeError(what, 'invalid UTF-8 in UTF8String (RFC 3629)');
  }
}

export interface StringConstraint extends SizeConstraint, ImplicitTag {
  /** Every character must pass (a permitted alphabet, X.680 §51.7); `alphabetName` names it in errors. */
  alphabet?: (ch: string) => boolean;
  alphabetName?: string;
  /** Whole-value check; returns a reason when the value is refused. */
  check?: (s: string) => string | undefined;
}

/**
 * Apply size (in characters, as X.680 §51.5 counts them for character strings), alphabet and
 * value checks. Shared by encoders and decoders so both sides enforce the same contract.
 */
export function stringViolation(s: string, c: StringConstraint): string | undefined {
  const chars = [...s];
  if (c.min !== undefined && chars.length < c.min) return `${chars.length} character(s), at least ${c.min} required`;
  if (c.max !== undefined && chars.length > c.max) return `${chars.length} character(s), at most ${c.max} allowed`;
  if (c.alphabet) {
    const bad = chars.find((ch) => !c.alphabet!(ch));
    if (bad !== undefined)
      return `character ${JSON.stringify(bad)} (U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) outside ${c.alphabetName ?? 'the permitted alphabet'}`;
  }
  return c.check?.(s);
}

function checkString(s: string, what: string, c: StringConstraint | undefined): string {
  const reason = c ? stringViolation(s, c) : undefined;
  if (reason) throw new Asn1DecodeError(what, reason);
  return s;
}

export function readUtf8String(node: DerNode, what: string, c?: StringConstraint): string {
  expectTag(node, 12, what, c);
  return checkString(decodeUtf8Strict(node.content, what), what, c);
}

/** X.680 §41.4 Table 10: A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
export function isPrintableChar(ch: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]$/.test(ch);
}

export function readPrintableString(node: DerNode, what: string, c?: StringConstraint): string {
  expectTag(node, 19, what, c);
  const s = Buffer.from(node.content).toString('latin1');
  const bad = [...s].find((ch) => !isPrintableChar(ch));
  if (bad !== undefined)
    throw new Asn1DecodeError(
      what,
      `byte 0x${bad.charCodeAt(0).toString(16).padStart(2, '0')} outside the PrintableString set`,
    );
  return checkString(s, what, c);
}

export function readIa5String(node: DerNode, what: string, c?: StringConstraint): string {
  expectTag(node, 22, what, c);
  if (node.content.some((b) => b > 0x7f)) throw new Asn1DecodeError(what, 'non-ASCII byte in IA5String');
  return checkString(Buffer.from(node.content).toString('latin1'), what, c);
}

// ---------------------------------------------------------------------------------------------
// numbers, octets, identifiers

/** INTEGER as bigint, requiring the minimal two's-complement form of X.690 §8.3.2. */
export function readBigInteger(node: DerNode, what: string, tag?: ImplicitTag): bigint {
  expectTag(node, 2, what, tag);
  const c = node.content;
  if (c.length === 0) throw new Asn1DecodeError(what, 'INTEGER with no content octets');
  if (c.length > 1 && ((c[0] === 0x00 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0))) {
    throw new Asn1DecodeError(what, 'INTEGER not in minimal form (X.690 §8.3.2)');
  }
  let v = 0n;
  for (const b of c) v = (v << 8n) | BigInt(b);
  if (c[0]! & 0x80) v -= 1n << BigInt(c.length * 8);
  return v;
}

export interface IntegerRange extends ImplicitTag {
  min?: number;
  max?: number;
}

/** INTEGER within [min, max] (defaults: the safe-integer range) as a number. */
export function readInteger(node: DerNode, what: string, range: IntegerRange = {}): number {
  const v = readBigInteger(node, what, range);
  const min = BigInt(range.min ?? Number.MIN_SAFE_INTEGER);
  const max = BigInt(range.max ?? Number.MAX_SAFE_INTEGER);
  if (v < min || v > max) throw new Asn1DecodeError(what, `${v} outside ${min}..${max}`);
  return Number(v);
}

export function readOctetString(node: DerNode, what: string, size?: SizeConstraint & ImplicitTag): Buffer {
  expectTag(node, 4, what, size);
  checkSize(node.content.length, size, what, 'octet(s)');
  return Buffer.from(node.content);
}

export function readNull(node: DerNode, what: string): void {
  expectUniversal(node, 5, what);
  if (node.content.length !== 0) throw new Asn1DecodeError(what, 'NULL with content octets');
}

/** DER BOOLEAN: 0x00 or 0xFF only (X.690 §11.1). */
export function readBoolean(node: DerNode, what: string): boolean {
  expectUniversal(node, 1, what);
  const c = node.content;
  if (c.length !== 1 || (c[0] !== 0x00 && c[0] !== 0xff))
    throw new Asn1DecodeError(what, 'BOOLEAN must be one octet 00 or FF in DER');
  return c[0] === 0xff;
}

/** OBJECT IDENTIFIER in dotted form; sub-identifiers must be minimal (X.690 §8.19.2). */
export function readOid(node: DerNode, what: string): string {
  expectUniversal(node, 6, what);
  return decodeOid(node.content, what);
}
