import { describe, expect, it } from 'vitest';
import { FixedClock } from '../../../src/clock.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import type { Store } from '../../../src/store/ports.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  WebhookDispatcher,
  type AttemptReport,
  type PostRequest,
  type RetryPolicy,
  type WebhookScheduler,
} from '../../../src/webhooks/dispatcher.js';
import { deliveryKey, Outbox, type DeliveryRecord } from '../../../src/webhooks/outbox.js';
import { WebhookRegistry } from '../../../src/webhooks/registry.js';
import { verifyWebhookSignature } from '../../../src/webhooks/signature.js';

/** Timers that fire only when the test says so, moving the FixedClock to their due time. */
class ManualScheduler implements WebhookScheduler {
  private seq = 0;
  readonly timers = new Map<number, { fn: () => void; due: number }>();
  readonly delays: number[] = [];
  constructor(private readonly clock: FixedClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { fn, due: this.clock.now().getTime() + ms });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Fires the earliest timer; false when none. */
  fireNext(): boolean {
    const next = [...this.timers.entries()].sort((a, b) => a[1].due - b[1].due)[0];
    if (!next) return false;
    this.timers.delete(next[0]);
    this.clock.set(Math.max(this.clock.now().getTime(), next[1].due));
    next[1].fn();
    return true;
  }
}

type Answer = number | Error | 'hang';

/** A scripted receiver: answers in order (then 200); records every request. */
function fakePost(answers: Answer[] = []) {
  const calls: PostRequest[] = [];
  let active = 0;
  let maxActive = 0;
  const post = async (req: PostRequest): Promise<{ status: number }> => {
    calls.push(req);
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      const a = answers.shift() ?? 200;
      if (a === 'hang') {
        await new Promise((_, reject) =>
          req.signal.addEventListener('abort', () => reject(req.signal.reason as Error), { once: true }),
        );
      }
      await new Promise((r) => setImmediate(r));
      if (a instanceof Error) throw a;
      return { status: a as number };
    } finally {
      active--;
    }
  };
  return { post, calls, maxActive: () => maxActive };
}

async function setup(
  opts: {
    answers?: Answer[];
    retry?: Partial<RetryPolicy>;
    store?: Store;
    timeoutMs?: number;
    perEndpointConcurrency?: number;
  } = {},
) {
  const store = opts.store ?? (await createMemoryStore());
  const clock = new FixedClock('2026-03-01T00:00:00Z');
  const scheduler = new ManualScheduler(clock);
  const registry = new WebhookRegistry(store, { clock });
  const outbox = new Outbox(store);
  const receiver = fakePost(opts.answers);
  const reports: AttemptReport[] = [];
  const dispatcher = new WebhookDispatcher({
    outbox,
    endpoint: (id) => registry.get(id),
    clock,
    scheduler,
    random: () => 0.5, // jitter factor exactly 1: the schedule is the pure doubling
    post: receiver.post,
    onAttempt: (r) => reports.push(r),
    ...(opts.retry ? { retry: opts.retry } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.perEndpointConcurrency ? { perEndpointConcurrency: opts.perEndpointConcurrency } : {}),
  });
  const endpoint = await registry.register({ url: 'https://receiver.example/hook' });
  let n = 0;
  const record = (over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
    id: `dlv_${++n}`,
    endpointId: endpoint.id,
    event: 'certificate.revoked',
    eventId: `evt_${n}`,
    payload: JSON.stringify({ id: `evt_${n}`, type: 'certificate.revoked', data: { serial: 'ab' } }),
    attempts: 0,
    nextAttemptAt: clock.now().toISOString(),
    createdAt: clock.now().toISOString(),
    state: 'pending',
    ...over,
  });
  /** Let in-flight attempts and their bookkeeping finish. */
  const settle = async () => {
    await dispatcher.idle();
    await outbox.drain();
  };
  return { store, clock, scheduler, registry, outbox, receiver, reports, dispatcher, endpoint, record, settle };
}

describe('backoffDelay', () => {
  const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  it('doubles from 1 s and caps at 10 min, jitter within +-20%', () => {
    expect([1, 2, 3, 4].map((f) => backoffDelay(f, p, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(11, p, () => 0.5)).toBe(600_000);
    expect(backoffDelay(60, p, () => 1)).toBe(600_000);
    expect(backoffDelay(3, p, () => 0)).toBe(3200);
    expect(backoffDelay(3, p, () => 0.999999)).toBe(4800);
  });
});

describe('WebhookDispatcher', () => {
  it('delivers a signed POST once, then forgets the record', async () => {
    const t = await setup();
    await t.dispatcher.start();
    const r = t.record();
    await t.dispatcher.enqueue([r]);
    await t.settle();
    expect(t.receiver.calls).toHaveLength(1);
    const call = t.receiver.calls[0]!;
    expect(call.url).toBe('https://receiver.example/hook');
    expect(call.body).toBe(r.payload);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['AgentCA-Event']).toBe('certificate.revoked');
    expect(call.headers['AgentCA-Delivery']).toBe(r.id);
    expect(
      verifyWebhookSignature({
        header: call.headers['AgentCA-Signature'],
        body: call.body,
        secret: t.endpoint.secret,
        now: t.clock.now(),
      }),
    ).toBe(true);
    expect(t.reports.map((x) => x.outcome)).toEqual(['delivered']);
    expect(await t.outbox.pending()).toEqual([]);
    expect(await t.store.meta.get(deliveryKey(r.id))).toBeUndefined();
  });

  it('retries with exponential backoff, re-signing each attempt, then dead-letters', async () => {
    const t = await setup({
      answers: Array(10).fill(500),
      retry: { initialDelayMs: 1000, maxDelayMs: 8000, maxAttempts: 7 },
    });
    await t.dispatcher.start();
    await t.dispatcher.enqueue([t.record()]);
    await t.settle();
    while (t.scheduler.fireNext()) await t.settle();
    expect(t.receiver.calls).toHaveLength(7);
    expect(t.scheduler.delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    const sigs = t.receiver.calls.map((c) => c.headers['AgentCA-Signature']);
    expect(new Set(sigs).size).toBe(7); // fresh t= each time
    expect(new Set(t.receiver.calls.map((c) => c.headers['AgentCA-Delivery'])).size).toBe(1);
    expect(t.reports.map((x) => x.outcome)).toEqual([...Array(6).fill('retry'), 'dead']);
    expect(await t.outbox.pending()).toEqual([]);
    const dead = await t.outbox.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ state: 'dead', attempts: 7, lastStatus: 500, lastError: 'HTTP 500' });
  });

  it('persists the attempt count and next attempt time while retrying', async () => {
    const t = await setup({ answers: [503] });
    await t.dispatcher.start();
    const r = t.record();
    await t.dispatcher.enqueue([r]);
    await t.settle();
    const stored = await t.store.meta.get<DeliveryRecord>(deliveryKey(r.id));
    expect(stored).toMatchObject({ attempts: 1, lastStatus: 503, nextAttemptAt: '2026-03-01T00:00:01.000Z' });
    t.scheduler.fireNext();
    await t.settle();
    expect(t.receiver.calls).toHaveLength(2);
    expect(await t.outbox.pending()).toEqual([]);
  });

  it('stops retrying a delivery older than maxAgeMs', async () => {
    const t = await setup({
      answers: Array(10).fill(new Error('connect ECONNREFUSED')),
      retry: { initialDelayMs: 1000, maxAgeMs: 5000 },
    });
    await t.dispatcher.start();
    await t.dispatcher.enqueue([t.record()]);
    await t.settle();
    while (t.scheduler.fireNext()) await t.settle();
    // attempts at 0 s, 1 s, 3 s; the next (at 7 s) would be past 5 s
    expect(t.receiver.calls).toHaveLength(3);
    expect((await t.outbox.deadLetters())[0]).toMatchObject({
      attempts: 3,
      lastError: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('treats a timeout as a failed attempt', async () => {
    const t = await setup({ answers: ['hang'], timeoutMs: 30 });
    await t.dispatcher.start();
    await t.dispatcher.enqueue([t.record()]);
    await t.settle();
    expect(t.reports[0]).toMatchObject({ outcome: 'retry', error: 'timeout after 30 ms' });
    t.scheduler.fireNext();
    await t.settle();
    expect(t.reports.map((x) => x.outcome)).toEqual(['retry', 'delivered']);
  });

  it('resumes pending deliveries after a restart (new outbox and dispatcher over the same store)', async () => {
    const t = await setup({ answers: [500] });
    await t.dispatcher.start();
    const failed = t.record();
    await t.dispatcher.enqueue([failed]);
    await t.settle();
    await t.dispatcher.stop();
    // Enqueued while stopped: durable, attempted at the next start.
    const queued = t.record();
    await t.dispatcher.enqueue([queued]);
    expect(t.receiver.calls).toHaveLength(1);

    t.clock.advance(60_000);
    const t2Outbox = new Outbox(t.store);
    expect((await t2Outbox.pending()).map((r) => [r.id, r.attempts])).toEqual([
      [failed.id, 1],
      [queued.id, 0],
    ]);
    const calls: PostRequest[] = [];
    const d2 = new WebhookDispatcher({
      outbox: t2Outbox,
      endpoint: (id) => t.registry.get(id),
      clock: t.clock,
      scheduler: new ManualScheduler(t.clock),
      post: async (req) => (calls.push(req), { status: 204 }),
    });
    await d2.start();
    await d2.idle();
    await t2Outbox.drain();
    expect(calls.map((c) => c.headers['AgentCA-Delivery']).sort()).toEqual([failed.id, queued.id].sort());
    expect(await new Outbox(t.store).pending()).toEqual([]);
  });

  it('does not count an attempt aborted by stop()', async () => {
    const t = await setup({ answers: ['hang'] });
    await t.dispatcher.start();
    const r = t.record();
    await t.dispatcher.enqueue([r]);
    await new Promise((res) => setImmediate(res));
    expect(t.receiver.calls).toHaveLength(1);
    await t.dispatcher.stop();
    expect(await new Outbox(t.store).pending()).toEqual([expect.objectContaining({ id: r.id, attempts: 0 })]);
    expect(t.reports).toEqual([]);
  });

  it('drops deliveries of a deleted endpoint without sending them', async () => {
    const t = await setup();
    await t.registry.delete(t.endpoint.id);
    await t.dispatcher.start();
    await t.dispatcher.enqueue([t.record()]);
    await t.settle();
    expect(t.receiver.calls).toHaveLength(0);
    expect(t.reports.map((x) => x.outcome)).toEqual(['dropped']);
    expect(await t.outbox.pending()).toEqual([]);
  });

  it('caps concurrent attempts per endpoint', async () => {
    const t = await setup({ perEndpointConcurrency: 2 });
    await t.dispatcher.start();
    await t.dispatcher.enqueue(Array.from({ length: 6 }, () => t.record()));
    await t.settle();
    expect(t.receiver.calls).toHaveLength(6);
    expect(t.receiver.maxActive()).toBe(2);
  });
});

describe('Outbox', () => {
  it('group-commits a burst and keeps delivery + index consistent', async () => {
    const store = await createMemoryStore();
    let commits = 0;
    const commit = store.commit.bind(store);
    store.commit = (batch, opts) => (commits++, commit(batch, opts));
    const outbox = new Outbox(store);
    const clock = new FixedClock('2026-03-01T00:00:00Z');
    const mk = (i: number): DeliveryRecord => ({
      id: `dlv_${i}`,
      endpointId: 'wh_x',
      event: 'risk.warning',
      eventId: `evt_${i}`,
      payload: '{}',
      attempts: 0,
      nextAttemptAt: clock.now().toISOString(),
      createdAt: clock.now().toISOString(),
      state: 'pending',
    });
    await Promise.all(Array.from({ length: 50 }, (_, i) => outbox.enqueue([mk(i)])));
    expect(commits).toBeLessThanOrEqual(3);
    expect((await new Outbox(store).pending()).map((r) => r.id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `dlv_${i}`),
    );
    await Promise.all([outbox.complete('dlv_0'), outbox.deadLetter({ ...mk(1), attempts: 3 })]);
    const fresh = new Outbox(store);
    expect((await fresh.pending()).map((r) => r.id)).not.toContain('dlv_0');
    expect((await fresh.pending()).map((r) => r.id)).not.toContain('dlv_1');
    expect((await fresh.deadLetters()).map((r) => r.id)).toEqual(['dlv_1']);
    const again = await fresh.redeliver('dlv_1', clock.now());
    expect(again).toMatchObject({ state: 'pending', attempts: 0 });
    expect(await new Outbox(store).deadLetters()).toEqual([]);
  });

  it('caps dead letters, dropping the oldest records', async () => {
    const store = await createMemoryStore();
    const outbox = new Outbox(store, { maxDeadLetters: 2 });
    const mk = (i: number): DeliveryRecord => ({
      id: `dlv_${i}`,
      endpointId: 'wh_x',
      event: 'risk.warning',
      eventId: `evt_${i}`,
      payload: '{}',
      attempts: 1,
      nextAttemptAt: '2026-03-01T00:00:00Z',
      createdAt: '2026-03-01T00:00:00Z',
      state: 'pending',
    });
    for (let i = 0; i < 3; i++) {
      await outbox.enqueue([mk(i)]);
      await outbox.deadLetter(mk(i));
    }
    expect((await new Outbox(store).deadLetters()).map((r) => r.id)).toEqual(['dlv_1', 'dlv_2']);
    expect(await store.meta.get(deliveryKey('dlv_0'))).toBeUndefined();
  });
});
