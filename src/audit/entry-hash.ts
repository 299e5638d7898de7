/**
 * The hash of an audit entry: SHA-256 over the canonical JSON (canonical-json.ts) of
 * { action, actor, details, prevHash, seq, subject, time (ISO 8601, ms, UTC) }. Each entry
 * carries its predecessor's hash, so changing, removing, reordering or inserting any entry
 * breaks either its own hash or the next entry's link.
 */
import { hash } from 'node:crypto';
import { GENESIS_HASH } from '../store/commit-planner.js';
import type { AuditEntry } from '../store/ports.js';
import { CanonicalText, canonicalJson } from './canonical-json.js';
import { entryJson } from '../store/audit-entry-json.js';

export { GENESIS_HASH };

export type UnhashedEntry = Omit<AuditEntry, 'hash'>;

export { entryJson };

/** `detailsJson`: canonicalJson(e.details) when the caller has it already (it is not made again). */
export function canonicalEntry(e: UnhashedEntry, detailsJson?: string): string {
  // A stored entry carries its hash, which the hash cannot cover; a new one has none to drop.
  const json = entryJson((e as Partial<AuditEntry>).hash === undefined ? e : { ...e, hash: undefined });
  if (detailsJson !== undefined) json.details = new CanonicalText(detailsJson);
  return canonicalJson(json);
}

export function entryHash(e: UnhashedEntry, detailsJson?: string): string {
  return hash('sha256', canonicalEntry(e, detailsJson), 'hex');
}

export function hashEntry(e: UnhashedEntry, detailsJson?: string): AuditEntry {
  return { ...e, hash: entryHash(e, detailsJson) };
}
