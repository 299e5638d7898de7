/**
 * An audit entry as plain JSON (ISO time): the one form that is hashed (src/audit/entry-hash.ts),
 * stored (store adapters) and exported. It lives in the store layer so that adapters need
 * nothing from src/audit (which builds on the store).
 */
import type { AuditEntry } from './ports.js';

export function entryJson(e: Omit<AuditEntry, 'hash'> & { hash?: string }): Record<string, unknown> {
  return {
    seq: e.seq,
    time: e.time.toISOString(),
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    details: e.details,
    prevHash: e.prevHash,
    ...(e.hash !== undefined ? { hash: e.hash } : {}),
  };
}
