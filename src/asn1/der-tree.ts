/**
 * A whole DER element as a DerNode tree, read with the strict TLV reader (der-reader.ts:
 * definite, minimal lengths, X.690 §10.1) plus the DER form rules of decode.ts (§10.2), without
 * asn1js. For hot paths that parse whole certificates: the lints read every TBS back before it
 * is signed, and asn1js' general BER parser costs milliseconds on a certificate. Low tag numbers
 * only (0..30), which is all X.509 uses.
 */
import { Asn1DecodeError } from '../errors.js';
import { checkDerForm, type DerNode, type TagClass } from './decode.js';
import { readTlv } from './der-reader.js';

const CLASSES: readonly TagClass[] = ['universal', 'application', 'context', 'private'];

export interface DerTreeLimits {
  maxDepth?: number;
  maxNodes?: number;
}

/** Parse one DER element spanning all of `bytes` (trailing bytes are refused). */
export function readDerTree(bytes: Uint8Array, what: string, limits: DerTreeLimits = {}): DerNode {
  if (!(bytes instanceof Uint8Array)) throw new Asn1DecodeError(what, 'input is not a byte array');
  if (bytes.length === 0) throw new Asn1DecodeError(what, 'empty input');
  const maxDepth = limits.maxDepth ?? 32;
  const maxNodes = limits.maxNodes ?? 10_000;
  let nodes = 0;
  const read = (start: number, end: number, depth: number): DerNode => {
    if (depth > maxDepth) throw new Asn1DecodeError(what, `nested deeper than ${maxDepth}`);
    if (++nodes > maxNodes) throw new Asn1DecodeError(what, `more than ${maxNodes} elements`);
    const t = readTlv(bytes, start, what);
    if (t.end > end) throw new Asn1DecodeError(what, 'element overruns its parent');
    const constructed = (t.tag & 0x20) !== 0;
    const children: DerNode[] = [];
    // Fields written out, not spread: an object spread here costs ten times the whole parse.
    const node: DerNode = {
      tagClass: CLASSES[t.tag >> 6]!,
      tagNumber: t.tag & 0x1f,
      constructed,
      content: bytes.subarray(t.contentStart, t.end),
      der: bytes.subarray(t.start, t.end),
      children,
    };
    checkDerForm(node, what);
    for (let at = t.contentStart; constructed && at < t.end;) {
      const c = read(at, t.end, depth + 1);
      children.push(c);
      at += c.der.length;
    }
    return node;
  };
  const root = read(0, bytes.length, 0);
  if (root.der.length !== bytes.length)
    throw new Asn1DecodeError(what, `${bytes.length - root.der.length} trailing byte(s) after the value`);
  return root;
}
