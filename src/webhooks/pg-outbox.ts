/**
 * The webhook outbox on PostgreSQL, shared by every process on the schema (outbox.ts keeps an
 * in-memory index and so allows one writer only). One row per delivery in webhook_deliveries.
 * Before each attempt a process claims the row: `SELECT … FOR UPDATE SKIP LOCKED` plus a lease
 * (`claimed_until`), so a delivery is attempted by one process at a time, and a delivery whose
 * claimant died is picked up by another once the lease runs out (the service rescans pending
 * rows periodically). Receivers still dedupe on AgentCA-Delivery: a claimant that dies after
 * the POST but before recording it causes one repeat, as with any at-least-once outbox.
 */
import type { PostgresStore } from '../store/postgres/postgres-store.js';
import {
  DEAD_INDEX_KEY,
  DEFAULT_MAX_DEAD_LETTERS,
  deliveryKey,
  OUTBOX_INDEX_KEY,
  type DeliveryRecord,
  type DeliveryOutbox,
} from './outbox.js';

type Row = Record<string, unknown>;
const record = (r: Row): DeliveryRecord => JSON.parse(r.record as string) as DeliveryRecord;

export class PgOutbox implements DeliveryOutbox {
  readonly shared = true;
  private readonly maxDead: number;

  constructor(
    private readonly store: PostgresStore,
    opts: { maxDeadLetters?: number } = {},
  ) {
    this.maxDead = opts.maxDeadLetters ?? DEFAULT_MAX_DEAD_LETTERS;
  }

  async enqueue(records: readonly DeliveryRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.store.query(
      `insert into webhook_deliveries (id, state, next_attempt_at, created_at, record)
       select id, 'pending', n, c, r from unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[]) as x(id, n, c, r)
       on conflict (id) do nothing`,
      [
        records.map((r) => r.id),
        records.map((r) => r.nextAttemptAt),
        records.map((r) => r.createdAt),
        records.map((r) => JSON.stringify(r)),
      ],
    );
  }

  /** Claims a pending delivery for one attempt; undefined when another process holds it or it is gone. */
  async claim(r: DeliveryRecord, leaseMs: number): Promise<DeliveryRecord | undefined> {
    const rows = await this.store.query(
      `update webhook_deliveries set claimed_until = now() + $2 * interval '1 millisecond'
       where id = (select id from webhook_deliveries where id = $1 and state = 'pending' and (claimed_until is null or claimed_until < now())
                   for update skip locked)
       returning record`,
      [r.id, leaseMs],
    );
    return rows[0] ? record(rows[0]) : undefined;
  }

  async update(r: DeliveryRecord): Promise<void> {
    await this.store.query(
      `update webhook_deliveries set record = $2, next_attempt_at = $3, claimed_until = null where id = $1 and state = 'pending'`,
      [r.id, JSON.stringify(r), r.nextAttemptAt],
    );
  }

  async complete(id: string): Promise<void> {
    await this.store.query('delete from webhook_deliveries where id = $1', [id]);
  }

  async deadLetter(r: DeliveryRecord): Promise<void> {
    const dead: DeliveryRecord = { ...r, state: 'dead' };
    await this.store.query(
      `with d as (update webhook_deliveries set state = 'dead', dead_at = $3, record = $2, claimed_until = null where id = $1)
       delete from webhook_deliveries where id in (select id from webhook_deliveries where state = 'dead' and id <> $1 order by dead_at desc, id desc offset $4)`,
      [r.id, JSON.stringify(dead), r.deadAt ?? new Date(0).toISOString(), Math.max(0, this.maxDead - 1)],
    );
  }

  async redeliver(id: string, now: Date): Promise<DeliveryRecord | undefined> {
    const current = await this.get(id);
    if (!current || current.state !== 'dead') return undefined;
    const next: DeliveryRecord = {
      ...current,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now.toISOString(),
      createdAt: now.toISOString(),
    };
    delete next.deadAt;
    const rows = await this.store.query(
      `update webhook_deliveries set state = 'pending', dead_at = null, next_attempt_at = $3, created_at = $3, record = $2 where id = $1 and state = 'dead' returning id`,
      [id, JSON.stringify(next), now],
    );
    return rows.length ? next : undefined;
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const rows = await this.store.query('select record from webhook_deliveries where id = $1', [id]);
    return rows[0] ? record(rows[0]) : undefined;
  }

  async pending(): Promise<DeliveryRecord[]> {
    return (
      await this.store.query(`select record from webhook_deliveries where state = 'pending' order by created_at, id`)
    ).map(record);
  }

  async deadLetters(): Promise<DeliveryRecord[]> {
    return (
      await this.store.query(`select record from webhook_deliveries where state = 'dead' order by dead_at, id`)
    ).map(record);
  }

  async drain(): Promise<void> {
    // every write above is committed before it resolves: nothing is queued
  }

  /**
   * A CA copied from LevelDB (store migrate) brings its outbox as meta keys: move those
   * deliveries into the table once, in one transaction with the removal of the keys.
   */
  async adoptLegacy(): Promise<number> {
    const pendingIds = (await this.store.meta.get<string[]>(OUTBOX_INDEX_KEY)) ?? [];
    const deadIds = (await this.store.meta.get<string[]>(DEAD_INDEX_KEY)) ?? [];
    if (pendingIds.length === 0 && deadIds.length === 0) return 0;
    const records: DeliveryRecord[] = [];
    for (const id of [...pendingIds, ...deadIds]) {
      const r = await this.store.meta.get<DeliveryRecord>(deliveryKey(id));
      if (r) records.push(r);
    }
    await this.store.query(
      `insert into webhook_deliveries (id, state, next_attempt_at, created_at, dead_at, record)
       select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::text[]) on conflict (id) do nothing`,
      [
        records.map((r) => r.id),
        records.map((r) => r.state),
        records.map((r) => r.nextAttemptAt),
        records.map((r) => r.createdAt),
        records.map((r) => r.deadAt ?? null),
        records.map((r) => JSON.stringify(r)),
      ],
    );
    await this.store.commit([
      { op: 'deleteMeta', key: OUTBOX_INDEX_KEY },
      { op: 'deleteMeta', key: DEAD_INDEX_KEY },
      ...[...pendingIds, ...deadIds].map((id) => ({ op: 'deleteMeta' as const, key: deliveryKey(id) })),
    ]);
    return records.length;
  }
}
