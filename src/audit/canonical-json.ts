/**
 * Canonical JSON for hashing: object keys sorted by UTF-16 code units, no whitespace, and
 * JSON.stringify's number and string forms, which is the JSON Canonicalization Scheme of
 * RFC 8785 (§3.2.3 sorting, §3.2.2.3 ES number serialisation) for the values we allow.
 * Values JSON cannot carry faithfully (bigint, NaN, Infinity, functions, symbols) are refused
 * rather than silently changed, so a hash never covers something other than what was stored.
 */
import { AgentCaError } from '../errors.js';

export function canonicalJson(value: unknown): string {
  trail.length = 0;
  return write(value);
}

/** The value as it will read back after a JSON round trip (what the store keeps). */
export function jsonNormalise<T>(value: T): T {
  return JSON.parse(canonicalJson(value)) as T;
}

/**
 * Text that is already canonical JSON (canonicalJson's output), written as it is where it
 * stands in a larger value: an audit entry's details are made canonical once, to store them in
 * their round-trip form, and that same text goes into the entry's hash (canonical JSON of
 * canonical JSON read back is the same text).
 */
export class CanonicalText {
  constructor(readonly text: string) {}
}

/**
 * Keys and indexes from the root to the value being written: the path of a refused value is
 * only spelt out when one is refused, not built as a string for every member of every entry
 * (two audit entries per issuance; docs/throughput.md).
 */
const trail: (string | number)[] = [];

function write(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw refuse(String(v));
      return JSON.stringify(v);
    case 'object': {
      if (v instanceof CanonicalText) return v.text;
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return write((toJSON as () => unknown).call(v));
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if (i > 0) out += ',';
          trail.push(i);
          out += x === undefined ? 'null' : write(x);
          trail.pop();
        }
        return `${out}]`;
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (const k of keys) {
        const x = obj[k];
        if (x === undefined) continue;
        if (out.length > 1) out += ',';
        trail.push(k);
        out += `${JSON.stringify(k)}:${write(x)}`;
        trail.pop();
      }
      return `${out}}`;
    }
    default:
      throw refuse(typeof v);
  }
}

function refuse(what: string): AgentCaError {
  const path = trail.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
  return new AgentCaError('INPUT_INVALID', `audit details at $${path}: ${what} cannot be stored as JSON`, {
    path: `$${path}`,
  });
}
