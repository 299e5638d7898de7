/** The SDK's event queue: batching, order, back-pressure, retry with Retry-After, drop on 4xx. */
import { describe, expect, it } from 'vitest';
import { EventQueue, type EventQueueOptions } from '../../../src/client/event-queue.js';
import { AgentCaHttpError } from '../../../src/client/http.js';

function queue(send: EventQueueOptions['send'], extra: Partial<EventQueueOptions> = {}) {
  const dropped: { batch: readonly Record<string, unknown>[]; error: unknown }[] = [];
  const sleeps: number[] = [];
  const q = new EventQueue({
    batchSize: 3,
    maxQueue: 5,
    flushIntervalMs: 10,
    maxRetries: 2,
    backoffMs: 1,
    maxBackoffMs: 4,
    send,
    onDrop: (batch, error) => dropped.push({ batch, error }),
    sleep: async (ms) => void sleeps.push(ms),
    ...extra,
  });
  return { q, dropped, sleeps };
}
const ev = (i: number) => ({ i });

describe('EventQueue', () => {
  it('sends in order, in batches of batchSize', async () => {
    const seen: number[][] = [];
    const { q } = queue(async (b) => void seen.push(b.map((e) => e.i as number)));
    await q.push([0, 1, 2, 3, 4].map(ev));
    await q.push([5, 6].map(ev));
    await q.flush();
    expect(seen.flat()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(seen.every((b) => b.length <= 3)).toBe(true);
    expect(q.sent).toBe(7);
    await q.close();
  });

  it('back-pressure: push waits while maxQueue events are queued, never holds more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let maxSeen = 0;
    const { q } = queue(async () => {
      await gate;
    });
    const pushing = q.push(Array.from({ length: 12 }, (_, i) => ev(i)));
    let done = false;
    void pushing.then(() => (done = true));
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setImmediate(r));
      maxSeen = Math.max(maxSeen, q.size);
    }
    expect(done).toBe(false);
    expect(maxSeen).toBe(5);
    release();
    await pushing;
    await q.flush();
    expect(q.sent).toBe(12);
  });

  it('retries 429 (honouring Retry-After) and 5xx; drops a 400 at once and reports it', async () => {
    let calls = 0;
    const { q, dropped, sleeps } = queue(async (b) => {
      calls++;
      if (b[0]!.i === 0 && calls === 1) throw new AgentCaHttpError('QUOTA_EXCEEDED', 'slow down', 429, {}, 2);
      if (b[0]!.i === 0 && calls === 2) throw new AgentCaHttpError('STORE_UNAVAILABLE', 'down', 503, {});
      if (b[0]!.i === 3) throw new AgentCaHttpError('INPUT_INVALID', 'bad', 400, {});
    });
    await q.push([0, 1, 2, 3].map(ev));
    await q.flush();
    expect(sleeps[0]).toBe(2000);
    expect(sleeps.length).toBe(2);
    expect(q.sent).toBe(3);
    expect(dropped.map((d) => d.batch.map((e) => e.i))).toEqual([[3]]);
  });

  it('gives up after maxRetries and reports the batch', async () => {
    const { q, dropped } = queue(async () => {
      throw new AgentCaHttpError('STORE_UNAVAILABLE', 'down', 0, {});
    });
    await q.push([ev(1)]);
    await q.flush();
    expect(q.dropped).toBe(1);
    expect(dropped).toHaveLength(1);
  });
});
