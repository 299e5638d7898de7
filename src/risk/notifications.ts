/**
 * The notifications inbox behind `GET /api/v1/notifications`: risk warnings,
 * newest first, bounded. Persisted in the store's meta: one key per notification `<key>.<seq>`,
 * the head `<key>.head` = { seq }, and the deletion of `<key>.<seq - capacity>`, in one commit,
 * so adding costs one small write however full the inbox is, and a restart (open()) finds the
 * same list. The list is
 * held in memory after open(); a second process on the same store sees its own additions and
 * whatever was there when it opened.
 */
import { AgentCaError } from '../errors.js';
import type { Store } from '../store/ports.js';
import type { RiskBand, RiskReason } from './score.js';

export interface RiskNotification {
  /** `risk-<seq>`, increasing */
  id: string;
  seq: number;
  kind: 'risk.warning';
  /** ISO 8601 */
  at: string;
  serial: string;
  agentId?: string;
  tenant?: string;
  score: number;
  band: RiskBand;
  thresholds: { warning: number; revoke: number };
  /** 'hold' when the engine decided to place a certificateHold with this warning (holdOnWarning). */
  action?: 'hold';
  reasons: RiskReason[];
}

export type NewRiskNotification = Omit<RiskNotification, 'id' | 'seq'>;

export interface NotificationFilter {
  serial?: string;
  tenant?: string;
  agentId?: string;
  /** only notifications with seq > after (polling) */
  after?: number;
  /** default 100 */
  limit?: number;
}

export interface InboxOptions {
  /** most notifications kept (default 1000) */
  capacity?: number;
  /** meta key prefix (default 'risk.notifications') */
  key?: string;
}

export class NotificationInbox {
  private readonly items: RiskNotification[] = []; // newest first
  private seq = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private failedAdds = 0;

  private constructor(
    private readonly store: Store,
    readonly capacity: number,
    readonly key: string,
  ) {}

  /** Opens the inbox, loading what an earlier run persisted. */
  static async open(store: Store, opts: InboxOptions = {}): Promise<NotificationInbox> {
    const capacity = opts.capacity ?? 1000;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100_000)
      throw new AgentCaError('CONFIG_INVALID', `notification inbox capacity must be 1..100000, got ${capacity}`);
    const inbox = new NotificationInbox(store, capacity, opts.key ?? 'risk.notifications');
    await inbox.load();
    return inbox;
  }

  private async load(): Promise<void> {
    const head = await this.store.meta.get<{ seq: number }>(`${this.key}.head`);
    this.seq = head?.seq ?? 0;
    for (let s = this.seq; s > 0 && s > this.seq - this.capacity; s--) {
      // Missing when an earlier run had a smaller capacity and deleted it.
      const n = await this.store.meta.get<RiskNotification>(`${this.key}.${s}`);
      if (n && n.seq === s) this.items.push(n);
    }
  }

  /** Persists and lists a notification; additions are serialised so seq order is storage order. */
  add(n: NewRiskNotification): Promise<RiskNotification> {
    const run = async (): Promise<RiskNotification> => {
      const seq = this.seq + 1;
      const full: RiskNotification = { id: `risk-${seq}`, seq, ...n };
      await this.store.commit([
        { op: 'putMeta', key: `${this.key}.${seq}`, value: full },
        { op: 'putMeta', key: `${this.key}.head`, value: { seq } },
        ...(seq > this.capacity ? [{ op: 'deleteMeta' as const, key: `${this.key}.${seq - this.capacity}` }] : []),
      ]);
      this.seq = seq;
      this.items.unshift(full);
      if (this.items.length > this.capacity) this.items.length = this.capacity;
      return full;
    };
    const p = this.tail.then(run, run);
    // The caller gets the failure from `p`; the chain counts it and lets the next addition run.
    this.tail = p.then(
      () => undefined,
      () => void this.failedAdds++,
    );
    return p;
  }

  /** Additions that failed to persist (each rejected to its caller, and nothing was listed). */
  get failures(): number {
    return this.failedAdds;
  }

  /** Newest first. */
  list(filter: NotificationFilter = {}): RiskNotification[] {
    const limit = Math.max(0, Math.min(filter.limit ?? 100, this.capacity));
    const out: RiskNotification[] = [];
    for (const n of this.items) {
      if (out.length >= limit) break;
      if (filter.after !== undefined && n.seq <= filter.after) break; // newest first: the rest are older
      if (filter.serial !== undefined && n.serial !== filter.serial) continue;
      if (filter.tenant !== undefined && n.tenant !== filter.tenant) continue;
      if (filter.agentId !== undefined && n.agentId !== filter.agentId) continue;
      out.push(n);
    }
    return out;
  }

  get size(): number {
    return this.items.length;
  }
}
