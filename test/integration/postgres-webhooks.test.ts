/**
 * The shared webhook outbox on PostgreSQL: two dispatching processes (two WebhookServices on
 * their own pools, in one test process) start together on 40 pending deliveries, so both try
 * every one; the claims (FOR UPDATE SKIP LOCKED + lease) let each be POSTed exactly once to a
 * real receiver on 127.0.0.1. A delivery enqueued by one and left to its peer (rescan) is
 * delivered by the peer; failures retry and dead-letter as on LevelDB.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { HookBus } from '../../src/revocation/hooks.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { DeliveryRecord } from '../../src/webhooks/outbox.js';
import { PgOutbox } from '../../src/webhooks/pg-outbox.js';
import { WebhookService } from '../../src/webhooks/service.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';

const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3, maxAgeMs: 60_000 };

describe.runIf(pgAvailable)('shared webhook outbox on PostgreSQL', () => {
  let db: PgSchema;
  let stores: PostgresStore[];
  let server: Server;
  let url: string;
  const received: string[] = [];
  let failFor = new Set<string>();

  beforeAll(async () => {
    db = await freshSchema('webhooks');
    stores = [
      await openPostgresStore({ url: db.url, poolSize: 4 }),
      await openPostgresStore({ url: db.url, poolSize: 4 }),
    ];
    server = createServer((req, res) => {
      const id = String(req.headers['agentca-delivery'] ?? '');
      req.resume();
      req.on('end', () => {
        received.push(id);
        res.statusCode = failFor.has(id) ? 503 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    for (const s of stores ?? []) await s.close();
    await db?.cleanup();
  });

  const service = (store: PostgresStore, rescanMs = 60_000) =>
    new WebhookService({
      authority: { store, hooks: new HookBus(), clock: systemClock },
      retry: FAST_RETRY,
      rescanMs,
      onError: () => undefined,
    });
  const until = async (what: string, ok: () => Promise<boolean> | boolean): Promise<void> => {
    const end = Date.now() + 10_000;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it('two dispatchers starting on the same 40 deliveries POST each exactly once', async () => {
    const [a, b] = [service(stores[0]!), service(stores[1]!)];
    const endpoint = await a.registry.register({ url, events: ['certificate.revoked'] });
    const now = new Date().toISOString();
    const records: DeliveryRecord[] = Array.from({ length: 40 }, (_, i) => ({
      id: `dlv_shared_${i}`,
      endpointId: endpoint.id,
      event: 'certificate.revoked',
      eventId: `evt_${i}`,
      payload: JSON.stringify({ i }),
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      state: 'pending',
    }));
    await a.outbox.enqueue(records);
    expect(a.outbox).toBeInstanceOf(PgOutbox);
    try {
      await Promise.all([a.start(), b.start()]);
      await until('every delivery to complete', async () => (await a.outbox.pending()).length === 0);
      await Promise.all([a.dispatcher.idle(), b.dispatcher.idle()]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const shared = received.filter((id) => id.startsWith('dlv_shared_'));
    expect(shared.sort()).toEqual(records.map((r) => r.id).sort());
  });

  it('a peer takes over what another enqueued (rescan), and failures retry then dead-letter once', async () => {
    const [a, b] = [service(stores[0]!), service(stores[1]!, 50)];
    const [endpoint] = await a.registry.list();
    const now = new Date().toISOString();
    const rec = (id: string): DeliveryRecord => ({
      id,
      endpointId: endpoint!.id,
      event: 'certificate.revoked',
      eventId: id,
      payload: '{}',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
      state: 'pending',
    });
    failFor = new Set(['dlv_failing']);
    try {
      await b.start(); // only b dispatches; a merely enqueues (as a process whose dispatcher died would have)
      await a.outbox.enqueue([rec('dlv_orphan'), rec('dlv_failing')]);
      await until('the orphan to be delivered by b', () => received.includes('dlv_orphan'));
      await until('the failing delivery to be dead-lettered', async () =>
        (await b.outbox.deadLetters()).some((d) => d.id === 'dlv_failing'),
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(received.filter((id) => id === 'dlv_orphan')).toHaveLength(1);
    expect(received.filter((id) => id === 'dlv_failing')).toHaveLength(FAST_RETRY.maxAttempts);
    const dead = (await a.outbox.deadLetters()).find((d) => d.id === 'dlv_failing')!;
    expect(dead).toMatchObject({ state: 'dead', attempts: FAST_RETRY.maxAttempts, lastStatus: 503 });
    expect(await a.outbox.redeliver('dlv_failing', new Date())).toMatchObject({ state: 'pending', attempts: 0 });
    expect((await a.outbox.pending()).map((r) => r.id)).toEqual(['dlv_failing']);
  });
});
