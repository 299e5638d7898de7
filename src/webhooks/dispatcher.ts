/**
 * Delivers outbox records: POST the stored JSON body, signed afresh on every
 * attempt, 5 s per attempt; 2xx => delivered and removed; anything else (non-2xx, redirect,
 * timeout, connection refused) => retried with exponential backoff and jitter
 * (1 s, 2 s, 4 s ... capped at 10 min) until `maxAttempts` or `maxAgeMs` (24 h), then
 * dead-lettered and kept listable. Delivery is at-least-once: a crash after the receiver said
 * 2xx but before the removal is committed re-sends the same AgentCA-Delivery id.
 *
 * Timers come from an injected scheduler and time from the injected Clock, so tests step
 * through the backoff without sleeping. Concurrency is capped globally and per endpoint, so a
 * receiver that hangs for 5 s per attempt cannot hold every slot.
 */
import { systemClock, type Clock } from '../clock.js';
import type { WebhookEndpoint } from './registry.js';
import { signingSecrets } from './registry.js';
import type { DeliveryOutbox, DeliveryRecord } from './outbox.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signPayload } from './signature.js';

export interface WebhookScheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: a pending retry must not keep an embedding process alive on its own. */
export const realScheduler: WebhookScheduler = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface RetryPolicy {
  /** Delay after the first failure; doubles after each further one. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** A delivery older than this is not retried again. */
  maxAgeMs: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter] (then capped). */
  jitter: number;
}

/** 1 s doubling to a 10 min cap reaches 24 h after ~150 attempts; whichever limit comes first wins. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 10 * 60_000,
  maxAttempts: 150,
  maxAgeMs: 24 * 3600_000,
  jitter: 0.2,
});

export const DEFAULT_ATTEMPT_TIMEOUT_MS = 5_000;

/** Delay before attempt `failures + 1`, after `failures` (>= 1) failed attempts. */
export function backoffDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failures - 1));
  const factor = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base * factor)));
}

export interface PostRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** The HTTP call: resolves with the status (any status), rejects on network errors/timeouts. */
export type WebhookPost = (req: PostRequest) => Promise<{ status: number }>;

/** Global fetch, no redirects followed (a 3xx is a failure, the signed body must not wander). */
export const fetchPost: WebhookPost = async ({ url, headers, body, signal }) => {
  const res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  // Read (a bounded amount of) the body so the keep-alive connection can be reused.
  const reader = res.body?.getReader();
  if (reader) {
    let n = 0;
    for (;;) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done || !value) break;
      n += value.byteLength;
      if (n > 64 * 1024) {
        await reader.cancel();
        break;
      }
    }
  }
  return { status: res.status };
};

export type AttemptOutcome = 'delivered' | 'retry' | 'dead' | 'dropped';

export interface AttemptReport {
  delivery: DeliveryRecord;
  outcome: AttemptOutcome;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface WebhookDispatcherOptions {
  outbox: DeliveryOutbox;
  /** Looks an endpoint up (with secrets) at each attempt; undefined = deleted, drop the delivery. */
  endpoint: (id: string) => Promise<WebhookEndpoint | undefined>;
  clock?: Clock;
  scheduler?: WebhookScheduler;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  concurrency?: number;
  perEndpointConcurrency?: number;
  random?: () => number;
  post?: WebhookPost;
  /** Observer for logs and metrics (never throws into the dispatcher). */
  onAttempt?: (report: AttemptReport) => void;
  onError?: (error: unknown, delivery: DeliveryRecord) => void;
}

interface InFlight {
  endpointId: string;
  controller: AbortController;
  done: Promise<void>;
}

export class WebhookDispatcher {
  readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly scheduler: WebhookScheduler;
  private readonly post: WebhookPost;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly perEndpoint: number;
  /** Every delivery this dispatcher is responsible for: scheduled, ready or in flight. */
  private readonly records = new Map<string, DeliveryRecord>();
  private readonly timers = new Map<string, unknown>();
  private readonly ready: string[] = [];
  private readonly inflight = new Map<string, InFlight>();
  private readonly endpointLoad = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];
  private running = false;

  constructor(private readonly opts: WebhookDispatcherOptions) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.clock = opts.clock ?? systemClock;
    this.scheduler = opts.scheduler ?? realScheduler;
    this.post = opts.post ?? fetchPost;
    this.random = opts.random ?? Math.random;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    this.concurrency = opts.concurrency ?? 16;
    this.perEndpoint = opts.perEndpointConcurrency ?? 4;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Loads every pending delivery from the outbox and resumes it at its nextAttemptAt (overdue: now). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const r of await this.opts.outbox.pending()) this.track(r);
  }

  /** Stops timers and aborts attempts in flight; an aborted attempt is not counted and stays pending. */
  async stop(): Promise<void> {
    this.running = false;
    for (const h of this.timers.values()) this.scheduler.clearTimeout(h);
    this.timers.clear();
    this.ready.length = 0;
    for (const f of this.inflight.values()) f.controller.abort(new Error('dispatcher stopped'));
    await Promise.allSettled([...this.inflight.values()].map((f) => f.done));
    this.records.clear();
    await this.opts.outbox.drain();
    this.notifyIdle();
  }

  /** Persists (fsynced) and then, if running, attempts at once. */
  async enqueue(records: readonly DeliveryRecord[]): Promise<void> {
    await this.opts.outbox.enqueue(records);
    if (this.running) for (const r of records) this.track(r);
  }

  /** Takes over a record already in the outbox (e.g. a redelivered dead letter); no-op when stopped. */
  resume(r: DeliveryRecord): void {
    if (this.running) this.track(r);
  }

  /** Resolves when nothing is due or in flight (scheduled retries may remain). */
  idle(): Promise<void> {
    if (this.ready.length === 0 && this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deliveries waiting for a retry timer. */
  get scheduledCount(): number {
    return this.timers.size;
  }

  private track(r: DeliveryRecord): void {
    if (this.records.has(r.id)) return;
    this.records.set(r.id, r);
    this.schedule(r);
  }

  private schedule(r: DeliveryRecord): void {
    const delay = Date.parse(r.nextAttemptAt) - this.clock.now().getTime();
    if (!(delay > 0)) return this.makeReady(r.id);
    this.timers.set(
      r.id,
      this.scheduler.setTimeout(() => {
        this.timers.delete(r.id);
        this.makeReady(r.id);
      }, delay),
    );
  }

  private makeReady(id: string): void {
    if (!this.running || this.inflight.has(id) || this.ready.includes(id)) return;
    this.ready.push(id);
    this.pump();
  }

  private pump(): void {
    for (let i = 0; i < this.ready.length && this.inflight.size < this.concurrency;) {
      const id = this.ready[i]!;
      const r = this.records.get(id);
      if (!r) {
        this.ready.splice(i, 1);
        continue;
      }
      if ((this.endpointLoad.get(r.endpointId) ?? 0) >= this.perEndpoint) {
        i++;
        continue;
      }
      this.ready.splice(i, 1);
      this.launch(r);
    }
    this.notifyIdle();
  }

  private launch(r: DeliveryRecord): void {
    const controller = new AbortController();
    this.endpointLoad.set(r.endpointId, (this.endpointLoad.get(r.endpointId) ?? 0) + 1);
    const entry: InFlight = { endpointId: r.endpointId, controller, done: Promise.resolve() };
    this.inflight.set(r.id, entry);
    entry.done = this.attempt(r, controller.signal)
      .catch((e: unknown) => this.opts.onError?.(e, r))
      .finally(() => {
        this.inflight.delete(r.id);
        const n = (this.endpointLoad.get(r.endpointId) ?? 1) - 1;
        if (n > 0) this.endpointLoad.set(r.endpointId, n);
        else this.endpointLoad.delete(r.endpointId);
        // Scheduled here, not inside attempt(): makeReady() ignores ids still in flight.
        const current = this.records.get(r.id);
        if (this.running && current && !this.timers.has(r.id)) {
          if (current !== r) this.schedule(current);
          // attempt() threw before its bookkeeping (e.g. store unavailable): retry later, in memory only.
          else
            this.timers.set(
              r.id,
              this.scheduler.setTimeout(
                () => (this.timers.delete(r.id), this.makeReady(r.id)),
                this.policy.initialDelayMs,
              ),
            );
        }
        this.pump();
      });
  }

  private async attempt(tracked: DeliveryRecord, stopSignal: AbortSignal): Promise<void> {
    const started = performance.now();
    let r = tracked;
    if (this.opts.outbox.claim) {
      // Shared outbox: one process per attempt. The lease outlasts the attempt's timeout.
      const claimed = await this.opts.outbox.claim(tracked, this.timeoutMs + 30_000);
      if (!claimed) {
        this.records.delete(tracked.id); // another process has it (or it is done)
        return;
      }
      r = claimed;
      if (Date.parse(r.nextAttemptAt) > this.clock.now().getTime() + 1000) {
        // another process attempted it meanwhile and scheduled a retry: follow its schedule
        await this.opts.outbox.update(r);
        if (this.running) this.records.set(r.id, r);
        return;
      }
    }
    const report = (
      outcome: AttemptOutcome,
      delivery: DeliveryRecord,
      extra: { status?: number; error?: string } = {},
    ): void => {
      try {
        this.opts.onAttempt?.({ delivery, outcome, ...extra, durationMs: performance.now() - started });
      } catch {
        // an observer must not break delivery
      }
    };
    const endpoint = await this.opts.endpoint(r.endpointId);
    if (!endpoint) {
      // Endpoint deleted: nobody to deliver to, and keeping it would retry for 24 h.
      await this.opts.outbox.complete(r.id);
      this.records.delete(r.id);
      report('dropped', r);
      return;
    }
    const now = this.clock.now();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'agent-ca-webhooks/1',
      [SIGNATURE_HEADER]: signPayload(signingSecrets(endpoint, now), r.payload, Math.floor(now.getTime() / 1000)),
      [EVENT_HEADER]: r.event,
      [DELIVERY_HEADER]: r.id,
    };
    let status: number | undefined;
    let error: string | undefined;
    try {
      const signal = AbortSignal.any([stopSignal, AbortSignal.timeout(this.timeoutMs)]);
      status = (await this.post({ url: endpoint.url, headers, body: r.payload, signal })).status;
    } catch (e) {
      error = describeError(e, this.timeoutMs);
    }
    if (status !== undefined && status >= 200 && status < 300) {
      await this.opts.outbox.complete(r.id);
      this.records.delete(r.id);
      report('delivered', r, { status });
      return;
    }
    // Stopped mid-attempt: not the receiver's fault; the record stays as it was for the next start.
    if (stopSignal.aborted) return;

    const at = this.clock.now();
    const attempts = r.attempts + 1;
    const next: DeliveryRecord = {
      ...r,
      attempts,
      lastAttemptAt: at.toISOString(),
      ...(status !== undefined ? { lastStatus: status } : {}),
    };
    if (error !== undefined) next.lastError = error;
    else if (status !== undefined) next.lastError = `HTTP ${status}`;
    const delay = backoffDelay(attempts, this.policy, this.random);
    const age = at.getTime() - Date.parse(r.createdAt);
    const extra = { ...(status !== undefined ? { status } : {}), ...(error !== undefined ? { error } : {}) };
    if (attempts >= this.policy.maxAttempts || age + delay > this.policy.maxAgeMs) {
      next.deadAt = at.toISOString();
      await this.opts.outbox.deadLetter(next);
      this.records.delete(r.id);
      report('dead', next, extra);
      return;
    }
    next.nextAttemptAt = new Date(at.getTime() + delay).toISOString();
    await this.opts.outbox.update(next);
    report('retry', next, extra);
    if (this.running) this.records.set(r.id, next);
  }

  private notifyIdle(): void {
    if (this.ready.length > 0 || this.inflight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function describeError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  const cause = err?.cause?.code ?? err?.cause?.message;
  return `${err?.message ?? String(e)}${cause ? ` (${cause})` : ''}`.slice(0, 300);
}
