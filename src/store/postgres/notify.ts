/**
 * Change notifications between peers on one PostgreSQL schema. A commit that changes status
 * sends NOTIFY inside its transaction, so listeners hear of it only once it is durable; the
 * payload names the serials (or only the seq when they would not fit NOTIFY's 8000-byte
 * limit, and listeners then drop everything). Listeners hold one dedicated connection.
 */
import type pg from 'pg';
import type { StatusChange } from '../ports.js';

/** NOTIFY payloads must stay under 8000 bytes; leave room for the JSON around the serials. */
const MAX_PAYLOAD = 7000;

export interface ChangeNotice {
  seq: number;
  /** Absent: too many to list, treat every cached status as stale. */
  serials?: string[];
}

export function channelFor(schema: string): string {
  return `agent_ca_changes_${schema}`;
}

export async function notifyChanges(q: Pick<pg.PoolClient, 'query'>, schema: string, changes: readonly StatusChange[]): Promise<void> {
  if (changes.length === 0) return;
  const notice: ChangeNotice = { seq: changes[changes.length - 1]!.seq, serials: [...new Set(changes.map((c) => c.serial))] };
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
