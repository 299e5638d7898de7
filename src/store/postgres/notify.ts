/**
 * Change notifications between peers on one PostgreSQL schema. A commit that changes status or
 * stores a newer CRL sends NOTIFY inside its transaction, so listeners hear of it only once it
 * is durable; the payload names the serials and CRLs (or only the seq when it would not fit
 * NOTIFY's 8000-byte limit, and listeners then drop everything). Listeners hold one dedicated
 * connection (change-listener.ts).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { CrlKind } from '../ports.js';
import type { Mutation } from '../commit-planner.js';

/** NOTIFY payloads must stay under 8000 bytes; leave room for the JSON around the lists. */
const MAX_PAYLOAD = 7000;

export interface ChangeNotice {
  /** Last change seq of the commit; -1 after a listener reconnect (notices may have been missed). */
  seq: number;
  /** Absent: unknown (too many, or missed), treat every cached status as stale. */
  serials?: string[];
  /** CRLs that became the latest of their kind. */
  crls?: { issuerId: string; kind: CrlKind }[];
}

/** A channel name within PostgreSQL's 63-byte identifier limit. */
export function channelFor(schema: string): string {
  const name = `agent_ca_changes_${schema}`;
  return name.length <= 63
    ? name
    : `agent_ca_changes_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

export async function notifyCommit(
  q: Pick<pg.PoolClient, 'query'>,
  schema: string,
  mutations: readonly Mutation[],
  lastChangeSeq: number,
): Promise<void> {
  const serials = new Set<string>();
  const crls: { issuerId: string; kind: CrlKind }[] = [];
  for (const m of mutations) {
    if (m.kind === 'putStatusChange') serials.add(m.change.serial);
    else if (m.kind === 'putCrl' && m.latest) crls.push({ issuerId: m.record.issuerId, kind: m.record.kind });
  }
  if (serials.size === 0 && crls.length === 0) return;
  const notice: ChangeNotice = { seq: lastChangeSeq, serials: [...serials], ...(crls.length ? { crls } : {}) };
  let payload = JSON.stringify(notice);
  if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ seq: notice.seq });
  await q.query('select pg_notify($1, $2)', [channelFor(schema), payload]);
}

export function parseNotice(payload: string | undefined): ChangeNotice | undefined {
  try {
    const j = JSON.parse(payload ?? '') as ChangeNotice;
    return typeof j.seq === 'number' ? j : undefined;
  } catch {
    return undefined;
  }
}
