/**
 * Webhooks end to end: a real receiver (node:http on 127.0.0.1) that checks
 * every delivery with the exported verifyWebhookSignature; revocations from a real authority;
 * the admin HTTP routes through fastify; a restart over LevelDB while a delivery is pending.
 * Backoff is shortened via options so that each case takes well under a second.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { AdminTokens } from '../../src/http/plugins/admin-auth.js';
import { errorHandler } from '../../src/http/problem.js';
import { webhookRoutes } from '../../src/http/routes/webhooks.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { AttemptReport } from '../../src/webhooks/dispatcher.js';
import type { WebhookEvent } from '../../src/webhooks/events.js';
import { WebhookService, type WebhookServiceOptions } from '../../src/webhooks/service.js';
import { verifyWebhookSignature } from '../../src/webhooks/signature.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

const FAST_RETRY = { initialDelayMs: 25, maxDelayMs: 100, maxAttempts: 50 };
const ADMIN = 'test-admin-token';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
  at: number;
}

/** A webhook receiver: answers `status` (mutable), verifies each delivery's signature. */
class Receiver {
  readonly received: Received[] = [];
  status = 200;
  secret = '';
  private server: Server | undefined;
  private waiters: { n: number; resolve: () => void }[] = [];
  port = 0;

  async listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const verified = verifyWebhookSignature({
          header: req.headers['agentca-signature'],
          body,
          secret: this.secret,
        });
        this.received.push({ headers: req.headers, body, verified, at: performance.now() });
        res.statusCode = verified ? this.status : 400;
        res.end();
        this.waiters = this.waiters.filter((w) => (this.received.length >= w.n ? (w.resolve(), false) : true));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/agent-ca`;
  }

  /** Resolves when at least n requests arrived (bounded). */
  waitFor(n: number, timeoutMs = 5000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`receiver got ${this.received.length} of ${n} requests in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

async function memoryAuthority(): Promise<Authority> {
  const tmp = await makeTmpDir('agent-ca-wh-');
  const authority = await createAuthority({ dataDir: tmp.dir, store: await createMemoryStore(), env: {} });
  await authority.init();
  cleanups.push(async () => {
    await authority.close();
    await tmp.cleanup();
  });
  return authority;
}

async function startService(
  authority: Authority,
  extra: Partial<WebhookServiceOptions> = {},
): Promise<{ service: WebhookService; reports: AttemptReport[] }> {
  const reports: AttemptReport[] = [];
  const service = new WebhookService({
    authority,
    retry: FAST_RETRY,
    onAttempt: (r) => reports.push(r),
    onError: () => undefined,
    ...extra,
  });
  await service.start();
  cleanups.push(() => service.stop());
  return { service, reports };
}

async function receiver(): Promise<Receiver> {
  const r = new Receiver();
  await r.listen();
  cleanups.push(() => r.close());
  return r;
}

async function routesApp(service: WebhookService, authority: Authority): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  const tokens = new AdminTokens(authority.store, ADMIN);
  await tokens.reload();
  await app.register(webhookRoutes, { webhooks: service, tokens });
  await app.ready();
  cleanups.push(() => app.close());
  return app;
}

const auth = { authorization: `Bearer ${ADMIN}` };

describe('webhook admin routes', () => {
  it('registers (secret once), lists without secrets, deletes; bearer token required; bad URL -> 400 problem+json', async () => {
    const authority = await memoryAuthority();
    const { service } = await startService(authority);
    const app = await routesApp(service, authority);

    const anon = await app.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url: 'https://r.example/' } });
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['content-type']).toContain('application/problem+json');

    for (const url of ['ftp://r.example/', 'https://u:p@r.example/', 'nope']) {
      const bad = await app.inject({ method: 'POST', url: '/api/v1/webhooks', headers: auth, payload: { url } });
      expect(bad.statusCode, url).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(bad.json()).toMatchObject({
        status: 400,
        code: 'ACA_ERR_INPUT_INVALID',
        details: { fields: { url: expect.any(String) } },
      });
    }
    const badEvents = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: auth,
      payload: { url: 'https://r.example/', events: ['nope'] },
    });
    expect(badEvents.statusCode).toBe(400);

    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: auth,
      payload: { url: 'https://r.example/hook', events: ['certificate.revoked'] },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json<{ id: string; url: string; events: string[]; secret: string }>();
    expect(body).toMatchObject({
      id: expect.stringMatching(/^wh_/),
      url: 'https://r.example/hook',
      events: ['certificate.revoked'],
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
    });

    const listed = await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: auth });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual({
      webhooks: [{ id: body.id, url: body.url, events: body.events, createdAt: expect.any(String) }],
    });
    expect(listed.body).not.toContain('whsec_');

    const rotated = await app.inject({
      method: 'POST',
      url: `/api/v1/webhooks/${body.id}/rotate-secret`,
      headers: auth,
      payload: { graceSeconds: 60 },
    });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).not.toBe(body.secret);

    const deliveries = await app.inject({ method: 'GET', url: '/api/v1/webhooks/deliveries', headers: auth });
    expect(deliveries.json()).toEqual({ pending: [], dead: [] });

    expect((await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${body.id}`, headers: auth })).statusCode).toBe(
      204,
    );
    const again = await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${body.id}`, headers: auth });
    expect(again.statusCode).toBe(404);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect((await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: auth })).json()).toEqual({
      webhooks: [],
    });
  });
});

describe('webhook delivery to a receiver on 127.0.0.1', () => {
  it('revocation -> exactly one correctly signed delivery, quickly', async () => {
    const authority = await memoryAuthority();
    const rx = await receiver();
    const { service, reports } = await startService(authority);
    const app = await routesApp(service, authority);
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks',
      headers: auth,
      payload: { url: rx.url },
    });
    rx.secret = created.json<{ secret: string }>().secret;

    const { serial } = await authority.issue({ agentId: 'trading-bot-v2', publicKey, tenant: 'acme' });
    const t0 = performance.now();
    await authority.revoke(serial, { reason: 'keyCompromise', actor: 'admin:test' });
    const tReturned = performance.now();
    await rx.waitFor(1);
    const latency = rx.received[0]!.at - t0;
    await authority.hooks.settle();
    await service.dispatcher.idle();
    await new Promise((r) => setTimeout(r, 150)); // room for a duplicate to show up (there must be none)

    expect(rx.received).toHaveLength(1);
    const d = rx.received[0]!;
    // Warm path (connection pool and code already loaded): a few more revocations, one at a time.
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = (await authority.issue({ agentId: `warm-${i}`, publicKey })).serial;
      const t = performance.now();
      await authority.revoke(s);
      await rx.waitFor(2 + i);
      warm.push(rx.received[1 + i]!.at - t);
    }
    warm.sort((a, b) => a - b);
    await service.dispatcher.idle();
    await service.outbox.drain();
    expect(d.verified).toBe(true);
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.headers['agentca-event']).toBe('certificate.revoked');
    expect(d.headers['agentca-delivery']).toMatch(/^dlv_/);
    expect(d.headers['agentca-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const ev = JSON.parse(d.body) as WebhookEvent<Record<string, unknown>>;
    expect(ev).toMatchObject({
      type: 'certificate.revoked',
      data: { serial, agentId: 'trading-bot-v2', tenant: 'acme', reason: 'keyCompromise', actor: 'admin:test' },
    });
    expect(reports.map((r) => r.outcome)).toEqual(Array(6).fill('delivered'));
    expect(await service.deliveries()).toEqual({ pending: [], dead: [] });
    console.log(
      `[webhooks] revoke() call -> arrival: first ${latency.toFixed(1)} ms (revoke() return -> arrival ${(d.at - tReturned).toFixed(1)} ms); ` +
        `next 5: median ${warm[2]!.toFixed(1)} ms, max ${warm[4]!.toFixed(1)} ms`,
    );
    expect(rx.received.every((r) => r.verified)).toBe(true);
    expect(new Set(rx.received.map((r) => r.headers['agentca-delivery'])).size).toBe(6);
  });

  it('receiver answering 500 -> retried with the same delivery id until it answers 2xx', async () => {
    const authority = await memoryAuthority();
    const rx = await receiver();
    rx.status = 500;
    const { service, reports } = await startService(authority);
    rx.secret = (await service.register({ url: rx.url })).secret;
    const { serial } = await authority.issue({ agentId: 'bot-500', publicKey });
    await authority.revoke(serial);
    await rx.waitFor(3);
    rx.status = 204;
    await rx.waitFor(4);
    await authority.hooks.settle();
    await service.dispatcher.idle();
    await service.outbox.drain();

    expect(rx.received.every((r) => r.verified)).toBe(true);
    expect(new Set(rx.received.map((r) => r.headers['agentca-delivery'])).size).toBe(1);
    expect(new Set(rx.received.map((r) => r.body)).size).toBe(1);
    expect(reports.slice(0, 3).map((r) => [r.outcome, r.status])).toEqual([
      ['retry', 500],
      ['retry', 500],
      ['retry', 500],
    ]);
    expect(reports.at(-1)?.outcome).toBe('delivered');
    expect((await service.deliveries()).pending).toEqual([]);
  });

  it('receiver down (port closed) -> retried, delivered once it listens again', async () => {
    const authority = await memoryAuthority();
    const rx = await receiver();
    const port = rx.port;
    await rx.close();
    const { service, reports } = await startService(authority);
    rx.secret = (await service.register({ url: rx.url })).secret;
    const { serial } = await authority.issue({ agentId: 'bot-down', publicKey });
    await authority.hold(serial);
    await waitUntil(() => reports.filter((r) => r.outcome === 'retry').length >= 2);
    expect(reports[0]?.error).toMatch(/ECONNREFUSED|fetch failed/);
    await rx.listen(port);
    await rx.waitFor(1);
    expect(rx.received[0]!.verified).toBe(true);
    expect(JSON.parse(rx.received[0]!.body)).toMatchObject({
      type: 'certificate.held',
      data: { serial, reason: 'certificateHold' },
    });
  });

  it('restart: pending delivery survives stop + close of a LevelDB authority and arrives after reopening', async () => {
    const tmp = await makeTmpDir('agent-ca-wh-level-');
    cleanups.push(() => tmp.cleanup());
    const rx = await receiver();
    rx.status = 503;

    // First life: the receiver refuses, the delivery stays pending.
    let authority = await createAuthority({ dataDir: tmp.dir, env: {} });
    await authority.init();
    let reports: AttemptReport[] = [];
    // The first retry is due 400 ms after the failure: after the restart, not before it.
    let service = new WebhookService({
      authority,
      retry: { initialDelayMs: 400, jitter: 0 },
      onAttempt: (r) => reports.push(r),
      onError: () => undefined,
    });
    await service.start();
    rx.secret = (await service.register({ url: rx.url })).secret;
    const { serial } = await authority.issue({ agentId: 'bot-restart', publicKey });
    const t0 = performance.now();
    await authority.revoke(serial);
    await rx.waitFor(1);
    console.log(
      `[webhooks] LevelDB store (fsynced revocation + fsynced outbox): revoke() call -> first arrival ${(rx.received[0]!.at - t0).toFixed(1)} ms`,
    );
    await waitUntil(() => reports.length >= 1);
    expect(reports[0]).toMatchObject({ outcome: 'retry', status: 503 });
    const deliveryId = rx.received[0]!.headers['agentca-delivery'];
    await service.stop();
    await authority.close();

    // Second life: new process state over the same data directory; the receiver is back.
    rx.status = 200;
    authority = await createAuthority({ dataDir: tmp.dir, env: {} });
    cleanups.push(() => authority.close());
    reports = [];
    service = new WebhookService({
      authority,
      retry: FAST_RETRY,
      onAttempt: (r) => reports.push(r),
      onError: () => undefined,
    });
    const pending = (await service.deliveries()).pending;
    expect(pending).toEqual([expect.objectContaining({ id: deliveryId, attempts: 1, lastStatus: 503 })]);
    expect(Date.parse(pending[0]!.nextAttemptAt)).toBeGreaterThan(authority.clock.now().getTime());
    expect(rx.received).toHaveLength(1);
    // Resumed at its persisted nextAttemptAt (not re-sent at once, not lost).
    await service.start();
    cleanups.push(() => service.stop());
    await rx.waitFor(2);
    expect(rx.received[1]!.at).toBeGreaterThanOrEqual(performance.now() - 5000);
    await service.dispatcher.idle();
    await service.outbox.drain();

    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]!.verified).toBe(true);
    expect(rx.received[1]!.headers['agentca-delivery']).toBe(deliveryId);
    expect(JSON.parse(rx.received[1]!.body)).toMatchObject({ type: 'certificate.revoked', data: { serial } });
    expect(reports.map((r) => r.outcome)).toEqual(['delivered']);
    expect((await service.deliveries()).pending).toEqual([]);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
