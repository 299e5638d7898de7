/**
 * WebhookService: the wiring of the webhook pieces. It subscribes to the authority's revocation hooks
 * (certificate.revoked / held / released), turns each into one signed delivery per subscribed
 * endpoint, writes them to the outbox (fsynced) and attempts them at once; `publish()` is the
 * entry point for events that do not come from the hook bus (risk.warning from the risk engine).
 *
 * Durability boundary: hooks fire after the revocation has committed, so a crash in the few
 * milliseconds between that commit and the outbox write loses the webhook (not the
 * revocation). From the outbox write on, a restart loses nothing.
 *
 * On LevelDB one process dispatches (the outbox caches its index, see outbox.ts); on
 * PostgreSQL every process does, from the shared table (pg-outbox.ts): deliveries are claimed
 * once per attempt, and pending rows are rescanned every `rescanMs` so that deliveries left by
 * a process that died are taken over.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import type { CertificateEventBase, HookBus, HookEvents } from '../revocation/hooks.js';
import type { Store } from '../store/ports.js';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './dispatcher.js';
import { isWebhookEventType, type CertificateEventData, type WebhookEvent, type WebhookEventType } from './events.js';
import { Outbox, type DeliveryOutbox, type DeliveryRecord } from './outbox.js';
import { PgOutbox } from './pg-outbox.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import {
  WebhookRegistry,
  type RegisterWebhookInput,
  type RegisteredWebhook,
  type WebhookEndpointView,
} from './registry.js';
import { AgentCaError } from '../errors.js';
import { errorMessage, stderrLogger } from '../logger.js';

export interface WebhookServiceOptions extends Omit<
  WebhookDispatcherOptions,
  'outbox' | 'endpoint' | 'clock' | 'onError'
> {
  /** The authority (or anything with its store, hook bus and clock). */
  authority: { store: Store; hooks: HookBus; clock: Clock };
  /** Signing timestamps and backoff; default the authority's clock. */
  clock?: Clock;
  maxDeadLetters?: number;
  /** Shared (PostgreSQL) outbox: how often pending deliveries are rescanned (default 15 s). */
  rescanMs?: number;
  /** Failures outside an HTTP attempt (store errors); default: a line on stderr. */
  onError?: (error: unknown, context: string) => void;
}

export interface PublishResult {
  event: WebhookEvent;
  deliveries: string[];
}

const HOOKED = ['certificate.revoked', 'certificate.held', 'certificate.released'] as const;
type HookedEvent = (typeof HOOKED)[number];

export class WebhookService {
  readonly registry: WebhookRegistry;
  readonly outbox: DeliveryOutbox;
  readonly dispatcher: WebhookDispatcher;
  private readonly store: Store;
  private readonly hooks: HookBus;
  private readonly clock: Clock;
  private readonly onError: (error: unknown, context: string) => void;
  private unsubscribe: (() => void)[] = [];
  private readonly publishing = new Set<Promise<unknown>>();
  private readonly rescanMs: number;
  private rescanTimer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: WebhookServiceOptions) {
    this.store = opts.authority.store;
    this.hooks = opts.authority.hooks;
    this.clock = opts.clock ?? opts.authority.clock ?? systemClock;
    this.onError = opts.onError ?? ((e, ctx) => stderrLogger.error(`webhooks: ${ctx}`, { error: errorMessage(e) }));
    this.registry = new WebhookRegistry(this.store, { clock: this.clock });
    const limits = opts.maxDeadLetters !== undefined ? { maxDeadLetters: opts.maxDeadLetters } : {};
    this.outbox =
      this.store instanceof PostgresStore ? new PgOutbox(this.store, limits) : new Outbox(this.store, limits);
    this.rescanMs = opts.rescanMs ?? 15_000;
    this.dispatcher = new WebhookDispatcher({
      outbox: this.outbox,
      endpoint: (id) => this.registry.get(id),
      clock: this.clock,
      ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.perEndpointConcurrency !== undefined ? { perEndpointConcurrency: opts.perEndpointConcurrency } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.post ? { post: opts.post } : {}),
      ...(opts.onAttempt ? { onAttempt: opts.onAttempt } : {}),
      onError: (e, d) => this.onError(e, `delivery ${d.id}`),
    });
  }

  /** Subscribes to the hooks and resumes every pending delivery. */
  async start(): Promise<void> {
    if (this.unsubscribe.length === 0) {
      for (const name of HOOKED) this.unsubscribe.push(this.hooks.on(name, (e) => this.fromHook(name, e)));
    }
    if (this.outbox instanceof PgOutbox) await this.outbox.adoptLegacy();
    await this.dispatcher.start();
    if (this.outbox.shared && !this.rescanTimer) {
      this.rescanTimer = setInterval(
        () => void this.rescan().catch((e: unknown) => this.onError(e, 'rescanning the shared outbox')),
        this.rescanMs,
      );
      this.rescanTimer.unref();
    }
  }

  /** Shared outbox: track pending deliveries this process does not know (enqueued by a peer, or left by one that died). */
  async rescan(): Promise<void> {
    for (const r of await this.outbox.pending()) this.dispatcher.resume(r);
  }

  /** Unsubscribes, finishes publishes already started (their deliveries are persisted), stops the dispatcher. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    await Promise.allSettled([...this.publishing]);
    await this.dispatcher.stop();
  }

  /**
   * One event to every endpoint subscribed to `type`: persisted before this resolves, then
   * attempted at once when the service is running (else at the next start()).
   */
  async publish(type: WebhookEventType, data: Record<string, unknown>): Promise<PublishResult> {
    if (!isWebhookEventType(type))
      throw new AgentCaError('INPUT_INVALID', `unknown webhook event type ${JSON.stringify(type)}`);
    const p = this.doPublish(type, data);
    this.publishing.add(p);
    try {
      return await p;
    } finally {
      this.publishing.delete(p);
    }
  }

  private async doPublish(type: WebhookEventType, data: Record<string, unknown>): Promise<PublishResult> {
    const now = this.clock.now();
    const event: WebhookEvent = {
      id: `evt_${randomBytes(16).toString('base64url')}`,
      type,
      createdAt: now.toISOString(),
      data,
    };
    const endpoints = await this.registry.subscribers(type, typeof data.tenant === 'string' ? data.tenant : null);
    if (endpoints.length === 0) return { event, deliveries: [] };
    const payload = JSON.stringify(event);
    const records: DeliveryRecord[] = endpoints.map((e) => ({
      id: `dlv_${randomBytes(16).toString('base64url')}`,
      endpointId: e.id,
      event: type,
      eventId: event.id,
      payload,
      attempts: 0,
      nextAttemptAt: now.toISOString(),
      createdAt: now.toISOString(),
      state: 'pending',
    }));
    await this.dispatcher.enqueue(records);
    return { event, deliveries: records.map((r) => r.id) };
  }

  private async fromHook(name: HookedEvent, e: HookEvents[HookedEvent]): Promise<void> {
    try {
      await this.publish(name, (await this.certificateData(name, e)) as unknown as Record<string, unknown>);
    } catch (err) {
      // Already logged here; the hook bus must not log it twice.
      this.onError(err, `${name} ${e.serial}`);
    }
  }

  private async certificateData(
    name: HookedEvent,
    e: CertificateEventBase & { reason?: string; invalidityDate?: Date },
  ): Promise<CertificateEventData> {
    const base = {
      serial: e.serial,
      issuerId: e.issuerId,
      agentId: e.agentId ?? null,
      tenant: e.tenant ?? null,
      actor: e.actor,
    };
    if (name === 'certificate.released')
      return { ...base, reason: 'removeFromCRL', revokedAt: null, releasedAt: e.at.toISOString() };
    // The hook's `at` is when it fired; the stored record has the revocation time itself.
    const record = await this.store.revocations.get(e.serial).catch((err: unknown) => {
      this.onError(err, `reading the revocation of ${e.serial} (the event uses the hook's time)`);
      return undefined;
    });
    const revokedAt = (record?.revokedAt ?? e.at).toISOString();
    const reason = name === 'certificate.held' ? 'certificateHold' : (e.reason ?? record?.reason ?? 'unspecified');
    return {
      ...base,
      reason,
      revokedAt,
      ...(e.invalidityDate ? { invalidityDate: e.invalidityDate.toISOString() } : {}),
    };
  }

  // Admin operations (the HTTP routes call these).
  register(input: RegisterWebhookInput): Promise<RegisteredWebhook> {
    return this.registry.register(input);
  }
  list(): Promise<WebhookEndpointView[]> {
    return this.registry.list();
  }
  delete(id: string): Promise<boolean> {
    return this.registry.delete(id);
  }
  rotateSecret(id: string, opts?: { graceSeconds?: number }): Promise<RegisteredWebhook | undefined> {
    return this.registry.rotateSecret(id, opts);
  }
  async deliveries(): Promise<{ pending: DeliveryRecord[]; dead: DeliveryRecord[] }> {
    return { pending: await this.outbox.pending(), dead: await this.outbox.deadLetters() };
  }
  /** A dead letter back into the queue with a fresh attempt budget. */
  async redeliver(id: string): Promise<DeliveryRecord | undefined> {
    const r = await this.outbox.redeliver(id, this.clock.now());
    if (r) this.dispatcher.resume(r);
    return r;
  }
}
