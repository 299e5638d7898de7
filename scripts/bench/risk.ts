/**
 * Risk engine bench (docs/risk-engine.md). (1) Behavioural events ingested over HTTP on loopback: autocannon POSTs
 * batches of 100 events (one agent per batch, 1,000 agents in rotation) to POST /api/v1/events
 * of a child `agent-ca serve` (LevelDB, every batch audited), beside, in the same run,
 * (a) a bare fastify route in a child process that accepts the same JSON bodies (parse +
 * 202; the HTTP ceiling on this box) and (b) RiskEngine.ingest in-process on the same data
 * dir (the engine's ceiling, no HTTP). Targets: >= 10,000 events/s, batch p99 < 50 ms.
 * (2) From the event that crosses 0.85 (sent alone in its batch, after a batch that put the
 * agent at 0.81) to OCSP GET answering revoked, and to the certificate.revoked webhook arriving
 * at a receiver on 127.0.0.1: median and max over 20 agents, idle and under ingest load.
 * Targets < 1 s each (the promises are 60 s and 5 s).
 *
 * `node --import tsx scripts/bench/risk.ts --bare-events` is baseline (a) itself.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { createAuthority } from '../../src/authority/create-authority.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import { authorityRiskActions } from '../../src/risk/actions.js';
import { RiskEngine } from '../../src/risk/engine.js';
import { NotificationInbox } from '../../src/risk/notifications.js';
import { verifyWebhookSignature } from '../../src/webhooks/signature.js';
import { startChild, type Child } from './child.js';
import { fmt, header, line, ratio } from './util.js';

const TOKEN = 'bench-admin-token';
const BATCH = 100;
const LOAD_AGENTS = 1000;
const LATENCY_AGENTS = 20;
const SCOPE = ['read:accounts', 'write:payments', 'read:/data/raw/*', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] };

/** One agent's well-behaved batch: in-scope calls and trades under its limit. */
function batchFor(serial: string, time: string, seed: number): Record<string, unknown>[] {
  const actions = ['read:accounts', 'write:payments', 'read:/data/raw/2026/q1.csv'];
  return Array.from({ length: BATCH }, (_, i) => {
    const k = i + seed;
    if (k % 5 === 4)
      return {
        serial,
        type: 'transaction',
        action: 'trade:equities',
        outcome: 'success',
        time,
        amount: String(20_000 + ((k * 7919) % 25_000)),
        currency: 'USD',
        market: k % 2 ? 'XNAS' : 'XNYS',
      };
    return {
      serial,
      type: k % 3 === 0 ? 'data_access' : 'api_call',
      action: actions[k % 3]!,
      outcome: 'success',
      time,
    };
  });
}

const outOfScope = (serial: string, n: number) =>
  Array.from({ length: n }, () => ({
    serial,
    type: 'api_call',
    action: 'write:accounts',
    outcome: 'denied',
    time: new Date().toISOString(),
  }));

interface Load {
  eventsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** autocannon POSTing `bodies` in rotation across all connections. */
function loadOptions(url: string, bodies: string[], seconds: number, connections: number): autocannon.Options {
  let next = 0;
  return {
    url: `${url}/api/v1/events`,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }),
      },
    ],
  };
}

async function load(url: string, bodies: string[], seconds: number, connections: number): Promise<Load> {
  const r = await autocannon(loadOptions(url, bodies, seconds, connections));
  return {
    eventsPerSecond: r.requests.average * BATCH,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
  };
}

/** A webhook receiver on 127.0.0.1: arrival time per `type serial`, signatures checked. */
async function receiver(): Promise<{
  url: string;
  secret: { value: string };
  arrived: Map<string, number>;
  bad: () => number;
  close(): Promise<void>;
}> {
  const arrived = new Map<string, number>();
  const secret = { value: '' };
  let bad = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      if (!verifyWebhookSignature({ header: req.headers['agentca-signature'], body, secret: secret.value })) bad++;
      const ev = JSON.parse(body) as { type: string; data: { serial: string } };
      if (!arrived.has(`${ev.type} ${ev.data.serial}`)) arrived.set(`${ev.type} ${ev.data.serial}`, at);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    secret,
    arrived,
    bad: () => bad,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export async function benchRisk(seconds: number): Promise<Record<string, number>> {
  header(
    `Risk events over HTTP (autocannon, batches of ${BATCH} events, ${fmt(LOAD_AGENTS)} agents): agent-ca vs bare fastify vs in-process ingest; then crossing 0.85 -> OCSP revoked / webhook`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'aca-bench-risk-'));
  const data = join(dir, 'data');
  const results: Record<string, number> = {};
  let ours: Child | undefined;
  let bare: Child | undefined;
  let background: ReturnType<typeof autocannon> | undefined;
  let rx: Awaited<ReturnType<typeof receiver>> | undefined;
  try {
    const a = await createAuthority({ dataDir: data, env: {} });
    await a.init({ keyType: 'p256', config: { organization: 'Bench Operator' } });
    const int = a.ca('intermediate');
    const issuerInfo = { subjectDer: int.certificate.subject, publicKeyInfo: int.certificate.publicKeyInfo };
    const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const issue = async (agentId: string) =>
      (await a.issue({ agentId, publicKey, scope: SCOPE, policy: POLICY, tenant: 'bench' })).serial;
    const loadSerials: string[] = [];
    for (let i = 0; i < LOAD_AGENTS; i++) loadSerials.push(await issue(`load-${i}`));
    const latencySerials: string[] = [];
    for (let i = 0; i < 2 * LATENCY_AGENTS; i++) latencySerials.push(await issue(`drift-${i}`));
    await a.close();

    const time = new Date().toISOString();
    const batches = loadSerials.map((s, i) => batchFor(s, time, i));
    const bodies = batches.map((events) => JSON.stringify({ events }));
    const env: NodeJS.ProcessEnv = { ...process.env, AGENT_CA_ADMIN_TOKEN: TOKEN, AGENT_CA_LOG_LEVEL: 'error' };
    delete env.AGENT_CA_RISK_CONFIG; // defaults: revoke at 0.85
    ours = await startChild(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'serve', '--data', data, '--port', '0', '--workers', '1'],
      /listening on (http:\/\/\S+)/,
      env,
    );
    // the server's own complaints (e.g. a failed automatic revocation) go into any error we throw
    let serverLog = '';
    const keep = (d: Buffer) => void (serverLog = (serverLog + d.toString()).slice(-4000));
    ours.proc.stdout?.on('data', keep);
    ours.proc.stderr?.on('data', keep);
    const failed = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\n--- agent-ca serve said:\n${serverLog}`);
    };
    bare = await startChild(
      process.execPath,
      ['--import', 'tsx', 'scripts/bench/risk.ts', '--bare-events'],
      /listening (http:\/\/\S+)/,
    );

    // warm both (JIT, connection pools), then measure
    await load(bare.url, bodies, 1, 8);
    const warm = await load(ours.url, bodies, 1, 8);
    if (warm.errors > 0) throw new Error(`agent-ca refused ${warm.errors} warm-up batches`);
    line(
      'server'.padEnd(16),
      'conns',
      'events/s'.padStart(9),
      'batch p50 ms'.padStart(13),
      'p99 ms'.padStart(7),
      'errors'.padStart(7),
      ' vs bare fastify',
    );
    for (const connections of [1, 4, 16]) {
      const b = await load(bare.url, bodies, seconds, connections);
      const o = await load(ours.url, bodies, seconds, connections);
      for (const [name, r] of [
        ['bare fastify (a)', b],
        ['agent-ca', o],
      ] as const) {
        line(
          name.padEnd(16),
          String(connections).padStart(5),
          fmt(r.eventsPerSecond).padStart(9),
          fmt(r.p50, 1).padStart(13),
          fmt(r.p99, 1).padStart(7),
          String(r.errors).padStart(7),
          r === o ? ` ${ratio(o.eventsPerSecond, b.eventsPerSecond)}` : '',
        );
      }
      results[`bare.c${connections}.events`] = b.eventsPerSecond;
      results[`agentca.c${connections}.events`] = o.eventsPerSecond;
      results[`agentca.c${connections}.p50`] = o.p50;
      results[`agentca.c${connections}.p99`] = o.p99;
      results[`agentca.c${connections}.errors`] = o.errors;
    }
    line(
      'targets: >= 10,000 events/s with batch p99 < 50 ms on one process (promise: 1,000/s per tenant, p99 < 200 ms)',
    );

    // Crossing 0.85 -> OCSP revoked and -> webhook arrival.
    rx = await receiver();
    const reg = await fetch(`${ours.url}/api/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: rx.url }),
    });
    if (reg.status !== 201) throw new Error(`webhook registration: ${reg.status} ${await reg.text()}`);
    rx.secret.value = ((await reg.json()) as { secret: string }).secret;
    const post = async (events: unknown[]) => {
      const res = await fetch(`${ours!.url}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
      if (res.status !== 202) throw new Error(`events: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { scores: { band: string }[] }).scores[0]!.band;
    };
    // An OCSP GET that started before the revocation committed can leave its "good" answer in the
    // responder's answer cache for the cache TTL (60 s): counted as stale, not folded into the figures.
    const STALE_MS = 10_000;
    const crossings = async (serials: string[]) => {
      const ocspMs: number[] = [];
      const hookMs: number[] = [];
      let stale = 0;
      for (const serial of serials) {
        const path = `${ours!.url}/ocsp/${encodeURIComponent(ocspRequestDer(certIdFor(issuerInfo, Buffer.from(serial, 'hex'), 'sha1')).toString('base64'))}`;
        const ocspKind = async () =>
          parseOcspResponse(Buffer.from(await (await fetch(path)).arrayBuffer())).basic?.responses[0]?.status.kind;
        // 9 out-of-scope calls: scope feature 0.9, score 0.9 x 0.9 = 0.81 (warning); let the warning settle
        if ((await post(outOfScope(serial, 9))) !== 'warning')
          throw new Error('priming batch did not land in the warning band');
        await until('risk.warning webhook', () => rx!.arrived.get(`risk.warning ${serial}`));
        const t0 = performance.now();
        if ((await post(outOfScope(serial, 1))) !== 'revoke')
          throw new Error('the crossing event did not reach the revoke band');
        const tOcsp = await until(
          'OCSP revoked',
          async () => ((await ocspKind()) === 'revoked' ? performance.now() : undefined),
          STALE_MS,
        ).catch(async (e: unknown) => {
          const verify = (await (await fetch(`${ours!.url}/api/v1/verify/${serial}`)).json()) as { status: string };
          if (verify.status !== 'revoked')
            throw new Error(`${(e as Error).message}: ${serial} is ${verify.status} in the store`);
          stale++;
          return undefined;
        });
        const tHook = await until('certificate.revoked webhook', () =>
          rx!.arrived.get(`certificate.revoked ${serial}`),
        );
        if (tOcsp !== undefined) ocspMs.push(tOcsp - t0);
        hookMs.push(tHook - t0);
      }
      return { ocspMs, hookMs, stale };
    };
    const report = (label: string, key: string, r: { ocspMs: number[]; hookMs: number[]; stale: number }) => {
      const staleNote = r.stale
        ? ` (${r.stale} more still "good" after ${STALE_MS / 1000} s: stale cached answer)`
        : '';
      line(
        `${label}: -> OCSP revoked median ${fmt(median(r.ocspMs), 1)} ms, max ${fmt(Math.max(...r.ocspMs), 1)} ms${staleNote}; -> webhook median ${fmt(median(r.hookMs), 1)} ms, max ${fmt(Math.max(...r.hookMs), 1)} ms`,
      );
      results[`${key}.ocsp.median.ms`] = median(r.ocspMs);
      results[`${key}.ocsp.max.ms`] = Math.max(...r.ocspMs);
      results[`${key}.ocsp.stale`] = r.stale;
      results[`${key}.webhook.median.ms`] = median(r.hookMs);
      results[`${key}.webhook.max.ms`] = Math.max(...r.hookMs);
    };
    line(`crossing 0.85 (POST of the crossing event sent) over ${LATENCY_AGENTS} agents each (targets < 1 s):`);
    report('  idle', 'crossing.idle', await crossings(latencySerials.slice(0, LATENCY_AGENTS)).catch(failed));
    background = autocannon(loadOptions(ours.url, bodies, 1000, 4));
    const loaded = await crossings(latencySerials.slice(LATENCY_AGENTS)).catch(failed);
    (background as unknown as { stop(): void }).stop();
    const bg = await background;
    background = undefined;
    report(
      `  under ingest load (4 conns, ${fmt(bg.requests.average * BATCH)} events/s, ${bg.errors + bg.non2xx} errors)`,
      'crossing.load',
      loaded,
    );
    if (rx.bad() > 0) throw new Error(`${rx.bad()} webhook deliveries failed signature verification`);
    await ours.stop();
    ours = undefined;

    // (b) the engine in-process, same data dir and bodies: no HTTP, no JSON
    const b = await createAuthority({ dataDir: data, env: {} });
    const engine = new RiskEngine({ host: b, actions: authorityRiskActions(b, await NotificationInbox.open(b.store)) });
    try {
      for (const inFlight of [1, 8]) {
        const lat: number[] = [];
        let n = 0;
        const deadline = performance.now() + seconds * 1000;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (performance.now() < deadline) {
              const s = performance.now();
              await engine.ingest(batches[n++ % batches.length]!);
              lat.push(performance.now() - s);
            }
          }),
        );
        const eps = (lat.length * BATCH) / ((performance.now() - t0) / 1000);
        lat.sort((x, y) => x - y);
        line(
          `in-process RiskEngine.ingest (b), ${inFlight} batch(es) in flight: ${fmt(eps)} events/s, batch p50 ${fmt(lat[Math.floor(lat.length * 0.5)]!, 1)} ms, p99 ${fmt(lat[Math.floor(lat.length * 0.99)]!, 1)} ms`,
        );
        results[`inprocess.f${inFlight}.events`] = eps;
      }
    } finally {
      engine.close();
      await engine.settle();
      await b.close();
    }
  } finally {
    if (background) (background as unknown as { stop(): void }).stop();
    await ours?.stop();
    await bare?.stop();
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** Baseline (a): the same route shape, no engine — parse the JSON body, check it, answer 202. */
async function bareEvents(): Promise<void> {
  const app = Fastify({ logger: false, bodyLimit: 1000 * 2048 });
  app.post('/api/v1/events', async (request, reply) => {
    const body = request.body as { events?: unknown } | undefined;
    if (!body || !Array.isArray(body.events)) return reply.code(400).send({ error: 'events' });
    return reply.code(202).send({ accepted: body.events.length, scores: [] });
  });
  process.stdout.write(`listening ${await app.listen({ host: '127.0.0.1', port: 0 })}\n`);
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv.includes('--bare-events')
)
  await bareEvents();
