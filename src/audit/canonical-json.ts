/**
 * Canonical JSON for hashing: object keys sorted by UTF-16 code units, no whitespace, and
 * JSON.stringify's number and string forms, which is the JSON Canonicalization Scheme of
 * RFC 8785 (§3.2.3 sorting, §3.2.2.3 ES number serialisation) for the values we allow.
 * Values JSON cannot carry faithfully (bigint, NaN, Infinity, functions, symbols) are refused
 * rather than silently changed, so a hash never covers something other than what was stored.
 */
import { AgentCaError } from '../errors.js';

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

/** The value as it will read back after a JSON round trip (what the store keeps). */
export function jsonNormalise<T>(value: T): T {
  return JSON.parse(canonicalJson(value)) as T;
}

function write(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw refuse(path, String(v));
      return JSON.stringify(v);
    case 'object': {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return write((toJSON as () => unknown).call(v), path);
      if (Array.isArray(v))
        return `[${v.map((x, i) => (x === undefined ? 'null' : write(x, `${path}[${i}]`))).join(',')}]`;
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw refuse(path, typeof v);
  }
}

function refuse(path: string, what: string): AgentCaError {
  return new AgentCaError('INPUT_INVALID', `audit details at ${path}: ${what} cannot be stored as JSON`, { path });
}
