/**
 * The SDK's event queue: events are batched (up to `batchSize`, or every `flushIntervalMs`),
 * sent in order, retried with exponential backoff (and the server's Retry-After on 429) on
 * 429 / 5xx / network errors, dropped (and reported) on any other refusal, which retrying
 * cannot fix. The queue is bounded: when it holds `maxQueue` events, `push` waits for room
 * (back-pressure) instead of growing without limit; `flush` resolves once everything queued
 * before it was sent or dropped.
 */
import { AgentCaHttpError } from './http.js';

export interface EventQueueOptions {
  batchSize: number;
  maxQueue: number;
  flushIntervalMs: number;
  maxRetries: number;
  backoffMs: number;
  maxBackoffMs: number;
  send(batch: readonly Record<string, unknown>[]): Promise<void>;
  /** A batch given up on: its events and why. */
  onDrop(batch: readonly Record<string, unknown>[], error: unknown): void;
  sleep(ms: number): Promise<void>;
}

export class EventQueue {
  private readonly items: Record<string, unknown>[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  /** Events sent and accepted; events dropped. */
  sent = 0;
  dropped = 0;

  constructor(private readonly o: EventQueueOptions) {}

  get size(): number {
    return this.items.length;
  }

  /** Queues the events, waiting for room when the queue is full (back-pressure). */
  async push(events: readonly Record<string, unknown>[]): Promise<void> {
    for (const e of events) {
      while (this.items.length >= this.o.maxQueue) {
        this.kick();
        await new Promise<void>((r) => this.roomWaiters.push(r));
      }
      this.items.push(e);
    }
    if (this.items.length >= this.o.batchSize) this.kick();
    else this.arm();
  }

  /** Resolves when the queue is empty and nothing is in flight. */
  flush(): Promise<void> {
    if (this.items.length === 0 && !this.sending) return Promise.resolve();
    const p = new Promise<void>((r) => this.idleWaiters.push(r));
    this.kick();
    return p;
  }

  /** Sends what is queued, then stops the timer. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.o.flushIntervalMs);
    this.timer.unref?.();
  }

  private kick(): void {
    if (this.sending) return;
    this.sending = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      const batch = this.items.slice(0, this.o.batchSize);
      await this.sendWithRetry(batch);
      this.items.splice(0, batch.length);
      for (const w of this.roomWaiters.splice(0)) w();
    }
    this.sending = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async sendWithRetry(batch: Record<string, unknown>[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.send(batch);
        this.sent += batch.length;
        return;
      } catch (e) {
        const status = e instanceof AgentCaHttpError ? e.status : 0;
        const retryable = status === 0 || status === 429 || status >= 500;
        if (!retryable || attempt >= this.o.maxRetries) {
          this.dropped += batch.length;
          this.o.onDrop(batch, e);
          return;
        }
        const backoff = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** attempt);
        const hinted =
          e instanceof AgentCaHttpError && e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : 0;
        // Jitter keeps many agents of one tenant from retrying in lockstep after a 429.
        await this.o.sleep(Math.max(hinted, backoff * (0.5 + Math.random() / 2)));
      }
    }
  }
}
