/**
 * Compliance export as JSON Lines (one entry per line, each line ending in "\n"), streamed
 * from the store so a 7-year range never sits in memory. Each line carries the entry's hash
 * and prevHash, so a regulator can re-check the chain over the exported slice.
 */
import type { AuditEntry, AuditPort } from '../store/ports.js';
import { entryJson } from './entry-hash.js';

export interface ExportOptions {
  /** inclusive time bounds */
  from?: Date;
  to?: Date;
  fromSeq?: number;
  toSeq?: number;
  /** Only entries about this subject (or any of these subjects, e.g. an agent's serials). */
  subject?: string | readonly string[];
  /** Only entries whose subject is this agent id or whose details.agentId is. */
  agentId?: string;
  actor?: string;
  /** Only entries it accepts (a tenant's view, docs/tenancy.md). */
  filter?: (e: AuditEntry) => boolean;
}

export function entryToJsonLine(e: AuditEntry): string {
  return `${JSON.stringify(entryJson(e))}\n`;
}

export async function* exportJsonLines(audit: AuditPort, opts: ExportOptions = {}): AsyncGenerator<string> {
  const subjects =
    opts.subject === undefined ? undefined : new Set(typeof opts.subject === 'string' ? [opts.subject] : opts.subject);
  const range = {
    ...(opts.from ? { fromTime: opts.from } : {}),
    ...(opts.to ? { toTime: opts.to } : {}),
    ...(opts.fromSeq !== undefined ? { fromSeq: opts.fromSeq } : {}),
    ...(opts.toSeq !== undefined ? { toSeq: opts.toSeq } : {}),
  };
  for await (const e of audit.iterate(range)) {
    // Event batches about several certificates name them in details.serials / details.agentIds.
    const many = (k: string): unknown[] => (Array.isArray(e.details[k]) ? (e.details[k] as unknown[]) : []);
    if (subjects && !subjects.has(e.subject) && !many('serials').some((s) => subjects.has(s as string))) continue;
    if (
      opts.agentId !== undefined &&
      e.subject !== opts.agentId &&
      e.details.agentId !== opts.agentId &&
      !many('agentIds').includes(opts.agentId)
    )
      continue;
    if (opts.actor !== undefined && e.actor !== opts.actor) continue;
    if (opts.filter && !opts.filter(e)) continue;
    yield entryToJsonLine(e);
  }
}
