/**
 * Nesting limit for JSON request bodies. Every body the API accepts is at most four levels
 * deep ({ policy: { maxTransactionSize: { amount } } }, { events: [ { ... } ] }); a body nested
 * thousands of levels deep is refused at the edge with a 400 naming the path, before any
 * validator walks it recursively (docs/hardening.md, D2).
 */
import { AgentCaError } from '../errors.js';

export const MAX_JSON_DEPTH = 16;

/** Throws INPUT_INVALID when `body` nests objects/arrays deeper than `max` levels. Iterative: no recursion to overflow. */
export function assertJsonDepth(body: unknown, max = MAX_JSON_DEPTH): void {
  // A Buffer body (OCSP, PEM uploads) nests nothing, and walking its entries costs more than
  // answering an OCSP request from the cache.
  if (typeof body !== 'object' || body === null || ArrayBuffer.isView(body)) return;
  const stack: Array<{ v: object; depth: number; path: string }> = [{ v: body, depth: 1, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (depth > max) {
      const field = path.replace(/^\./, '') || '(body)';
      throw new AgentCaError('INPUT_INVALID', `body nests deeper than ${max} levels at ${field}`, {
        fields: { [field]: `nests deeper than ${max} levels` },
      });
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (typeof child === 'object' && child !== null)
        stack.push({ v: child, depth: depth + 1, path: Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}` });
    }
  }
}
