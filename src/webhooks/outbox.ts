/**
 * The persisted webhook outbox.
 *
 * Layout in store meta (the Store port has no prefix scan, so records are found by an index):
 *   webhooks:delivery:<id>  one DeliveryRecord per delivery (pending or dead-lettered)
 *   webhooks:outbox         ids of pending deliveries, oldest first
 *   webhooks:dead           ids of dead-lettered deliveries, oldest first (capped)
 * One key per delivery rather than one key holding every record because the most frequent
 * write while a receiver is down is "attempt N failed", and that then rewrites one small record,
 * not the whole list; the index holds only ids (~30 bytes each). A delivery and its index entry
 * are written in ONE commit, so there is never a record without an index entry or vice versa.
 *
 * Writes are group-committed: everything queued while a commit is in flight goes into the
 * next one, so a burst (a mass revocation, one event to many endpoints) rewrites the index once
 * per commit, not once per delivery. Enqueues are fsynced (the record must be durable before
 * the first attempt); attempt bookkeeping and completions are not, because losing one only
 * means an extra, deduplicable delivery (receivers dedupe on AgentCA-Delivery).
 *
 * The index is cached in memory: this Outbox must be the only writer of these keys, i.e. one
 * dispatching process per store (see README notes in the service).
 */
import type { Store, WriteOp } from '../store/ports.js';
import type { WebhookEventType } from './events.js';
import { logFailure } from '../logger.js';

export const OUTBOX_INDEX_KEY = 'webhooks:outbox';
export const DEAD_INDEX_KEY = 'webhooks:dead';
export const deliveryKey = (id: string): string => `webhooks:delivery:${id}`;
export const DEFAULT_MAX_DEAD_LETTERS = 1000;

export interface DeliveryRecord {
  /** dlv_...: sent as AgentCA-Delivery so receivers can drop duplicates. */
  id: string;
  endpointId: string;
  event: WebhookEventType;
  eventId: string;
  /** The exact JSON body, signed afresh (new t=) on each attempt. */
  payload: string;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAt: string;
  createdAt: string;
  state: 'pending' | 'dead';
  lastAttemptAt?: string;
  /** HTTP status of the last attempt, when there was a response. */
  lastStatus?: number;
  lastError?: string;
  deadAt?: string;
}

/**
 * What the dispatcher and service need from an outbox. `Outbox` (below) serves one process;
 * `PgOutbox` (pg-outbox.ts) is shared by every process on a PostgreSQL store and claims each
 * delivery before it is attempted.
 */
export interface DeliveryOutbox {
  /** True when other processes dispatch from the same outbox (claims apply, rescans find orphans). */
  readonly shared?: boolean;
  enqueue(records: readonly DeliveryRecord[]): Promise<void>;
  update(record: DeliveryRecord): Promise<void>;
  complete(id: string): Promise<void>;
  deadLetter(record: DeliveryRecord): Promise<void>;
  redeliver(id: string, now: Date): Promise<DeliveryRecord | undefined>;
  get(id: string): Promise<DeliveryRecord | undefined>;
  pending(): Promise<DeliveryRecord[]>;
  deadLetters(): Promise<DeliveryRecord[]>;
  drain(): Promise<void>;
  /** Shared outboxes: take the delivery for one attempt (its current record), or undefined if another process holds it. */
  claim?(record: DeliveryRecord, leaseMs: number): Promise<DeliveryRecord | undefined>;
}

interface Indexes {
  pending: Set<string>;
  dead: string[];
}

interface QueuedWrite {
  apply(idx: Indexes): WriteOp[];
  sync: boolean;
  resolve(): void;
  reject(e: unknown): void;
}

export class Outbox implements DeliveryOutbox {
  private indexes: Promise<Indexes> | undefined;
  private queue: QueuedWrite[] = [];
  private flushing: Promise<void> | undefined;
  private readonly maxDead: number;

  constructor(
    private readonly store: Store,
    opts: { maxDeadLetters?: number } = {},
  ) {
    this.maxDead = opts.maxDeadLetters ?? DEFAULT_MAX_DEAD_LETTERS;
  }

  private loadIndexes(): Promise<Indexes> {
    this.indexes ??= (async () => ({
      pending: new Set((await this.store.meta.get<string[]>(OUTBOX_INDEX_KEY)) ?? []),
      dead: (await this.store.meta.get<string[]>(DEAD_INDEX_KEY)) ?? [],
    }))();
    return this.indexes;
  }

  /** Durable (fsynced) before it resolves: only then may the first attempt start. */
  enqueue(records: readonly DeliveryRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.submit(true, (idx) =>
      records.map((r) => {
        idx.pending.add(r.id);
        return { op: 'putMeta', key: deliveryKey(r.id), value: r } as const;
      }),
    );
  }

  /** Attempt bookkeeping (attempts, nextAttemptAt, last error). */
  update(record: DeliveryRecord): Promise<void> {
    return this.submit(false, (idx) =>
      idx.pending.has(record.id) ? [{ op: 'putMeta', key: deliveryKey(record.id), value: record }] : [],
    );
  }

  /** Delivered (or its endpoint is gone): forget it. */
  complete(id: string): Promise<void> {
    return this.submit(false, (idx) => {
      idx.pending.delete(id);
      return [{ op: 'deleteMeta', key: deliveryKey(id) }];
    });
  }

  /** Out of attempts: keep it listable; the oldest dead letters beyond the cap are dropped. */
  deadLetter(record: DeliveryRecord): Promise<void> {
    return this.submit(true, (idx) => {
      idx.pending.delete(record.id);
      idx.dead.push(record.id);
      const ops: WriteOp[] = [{ op: 'putMeta', key: deliveryKey(record.id), value: { ...record, state: 'dead' } }];
      while (idx.dead.length > this.maxDead) ops.push({ op: 'deleteMeta', key: deliveryKey(idx.dead.shift()!) });
      return ops;
    });
  }

  /** A dead letter back into the pending set with a fresh attempt budget. */
  async redeliver(id: string, now: Date): Promise<DeliveryRecord | undefined> {
    const idx = await this.loadIndexes();
    if (!idx.dead.includes(id)) return undefined;
    const r = await this.store.meta.get<DeliveryRecord>(deliveryKey(id));
    if (!r) return undefined;
    const next: DeliveryRecord = {
      ...r,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: now.toISOString(),
      createdAt: now.toISOString(),
    };
    delete next.deadAt;
    await this.submit(true, (ix) => {
      ix.dead = ix.dead.filter((d) => d !== id);
      ix.pending.add(id);
      return [{ op: 'putMeta', key: deliveryKey(id), value: next }];
    });
    return next;
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    return this.store.meta.get<DeliveryRecord>(deliveryKey(id));
  }

  async pending(): Promise<DeliveryRecord[]> {
    return this.records([...(await this.loadIndexes()).pending]);
  }

  async deadLetters(): Promise<DeliveryRecord[]> {
    return this.records([...(await this.loadIndexes()).dead]);
  }

  /** Resolves when every write queued so far is committed. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing; // never rejects: kick() logs a flush failure
  }

  private async records(ids: string[]): Promise<DeliveryRecord[]> {
    const out: DeliveryRecord[] = [];
    for (const id of ids) {
      const r = await this.store.meta.get<DeliveryRecord>(deliveryKey(id));
      if (r) out.push(r);
    }
    return out;
  }

  private submit(sync: boolean, apply: QueuedWrite['apply']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ apply, sync, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush()
      .catch(logFailure('webhook outbox flush'))
      .finally(() => {
        this.flushing = undefined;
        // A write queued between the loop's last check and this callback would otherwise wait forever.
        if (this.queue.length > 0) this.kick();
      });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      let idx: Indexes;
      try {
        idx = await this.loadIndexes();
      } catch (e) {
        this.indexes = undefined;
        for (const w of batch) w.reject(e);
        continue;
      }
      const before = { pending: new Set(idx.pending), dead: [...idx.dead] };
      const ops: WriteOp[] = [];
      for (const w of batch) ops.push(...w.apply(idx));
      if (!sameSet(before.pending, idx.pending))
        ops.push({ op: 'putMeta', key: OUTBOX_INDEX_KEY, value: [...idx.pending] });
      if (before.dead.join() !== idx.dead.join()) ops.push({ op: 'putMeta', key: DEAD_INDEX_KEY, value: idx.dead });
      try {
        if (ops.length > 0) await this.store.commit(ops, { sync: batch.some((w) => w.sync) });
        for (const w of batch) w.resolve();
      } catch (e) {
        // Nothing landed (commits are all-or-nothing): put the cached index back as it was.
        idx.pending = before.pending;
        idx.dead = before.dead;
        for (const w of batch) w.reject(e);
      }
    }
  }
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
