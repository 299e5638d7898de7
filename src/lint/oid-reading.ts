/**
 * OBJECT IDENTIFIERs as the lints read them, remembered by their content octets: a TBS carries
 * ~40 of them (algorithms, name attribute types, extnIDs, OIDs inside extension values) and
 * they are nearly always the same few dozen, so each distinct encoding is decoded and checked
 * once (X.690 §8.19) and looked up afterwards. An encoding seen for the first time, or one
 * that is not a valid OID, goes through the strict reader (src/asn1/decode.ts) as before.
 */
import { readOid, type DerNode } from '../asn1/decode.js';

const MEMO_LIMIT = 4096;
const memo = new Map<string, string>();

/** readOid(node, what), remembered for the primitive universal OBJECT IDENTIFIER nodes it accepts. */
export function lintOid(node: DerNode, what: string): string {
  if (node.tagClass !== 'universal' || node.tagNumber !== 6 || node.constructed) return readOid(node, what);
  const content = node.content;
  const key = Buffer.from(content.buffer, content.byteOffset, content.length).toString('latin1');
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const oid = readOid(node, what);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, oid);
  return oid;
}

/** Every OBJECT IDENTIFIER in `node`, in document order (as oidsIn in x509-extension-decode.ts). */
export function lintOidsIn(node: DerNode, what: string, out: string[] = []): string[] {
  if (node.tagClass === 'universal' && node.tagNumber === 6) out.push(lintOid(node, what));
  for (const c of node.children) lintOidsIn(c, what, out);
  return out;
}
