/**
 * The risk engine end to end over HTTP (docs/risk-engine.md): the real server (startServer: OCSP, CRL, webhooks,
 * risk) on LevelDB, on 127.0.0.1, fed through POST /api/v1/events with the admin bearer token.
 * - a simulated agent behaves, then drifts (out-of-scope calls, over-limit trades): warned in
 *   GET /api/v1/notifications, then revoked with no human step, and `openssl ocsp` answers
 *   revoked / privilegeWithdrawn; a receiver on 127.0.0.1 gets signed risk.warning and
 *   certificate.revoked deliveries (checked with the exported verifyWebhookSignature);
 * - a steady, high-volume, in-scope agent with 26 h of history never crosses 0.3 (a burst of the
 *   same shape, 18x its own baseline, does: so the rate feature is live);
 * - per-tenant thresholds from <dataDir>/risk-config.json apply;
 * - a malformed batch gets 400 problem+json listing every bad field, and nothing is stored;
 * - a receiver that is down when the revocation happens gets it after a server restart.
 * The server runs on a FixedClock that reads the wall clock until a test pins it (the steady
 * agent's test pins it, so its "this hour" cannot roll over mid-test). Events carry the clock's
 * time; history is backdated through the events' own `time`, which the engine accepts up to the
 * 30-day window.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { FixedClock } from '../../src/clock.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { DEFAULT_TENANT_RISK_CONFIG, parseRiskConfig, tenantRiskConfig } from '../../src/risk/config.js';
import type { WebhookEvent } from '../../src/webhooks/events.js';
import { verifyWebhookSignature } from '../../src/webhooks/signature.js';
import { opensslAsync, parseAsn1 } from '../helpers/openssl.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const TOKEN = 'risk-http-admin-token';
const HOUR = 3_600_000;
const SCOPE = ['read:accounts', 'write:payments', 'read:/data/raw/*', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] };
/** Written into the data dir before the server starts: tenant "strict" revokes at 0.5. */
const RISK_CONFIG = { tenants: { strict: { thresholds: { warning: 0.4, revoke: 0.5 } } } };

/** Bodies from the wire, asserted on field by field. */
type Json = any;

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
  event: WebhookEvent<Json>;
}

/** A webhook receiver on 127.0.0.1 that checks each delivery's signature with its secret. */
class Receiver {
  readonly received: Delivery[] = [];
  secret = '';
  port = 0;
  private server: Server | undefined;

  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const verified = verifyWebhookSignature({
          header: req.headers['agentca-signature'],
          body,
          secret: this.secret,
        });
        this.received.push({ headers: req.headers, body, verified, event: JSON.parse(body) as WebhookEvent<Json> });
        res.statusCode = verified ? 204 : 400;
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/agent-ca`;
  }

  of(type: string, serial: string): Delivery[] {
    return this.received.filter((d) => d.event.type === type && d.event.data.serial === serial);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A FixedClock that follows the wall clock while not pinned (OCSP, webhooks and restarts stay real-time). */
class PinnableClock extends FixedClock {
  private pinned = false;
  override now(): Date {
    return this.pinned ? super.now() : new Date();
  }
  pin(at: number): void {
    this.set(at);
    this.pinned = true;
  }
  unpin(): void {
    this.pinned = false;
  }
}
const clock = new PinnableClock(Date.now());

let tmp: TmpDir;
let dataDir: string;
let authority: Authority;
let server: RunningServer;
let url: string;
let rootPem: string;
let intermediatePem: string;
const rx = new Receiver();

async function startOnDataDir(): Promise<void> {
  authority = await createAuthority({ dataDir, env: {}, clock });
  // env {}: the risk config comes from <dataDir>/risk-config.json, whatever the test runner's env says
  server = await startServer({ authority, host: '127.0.0.1', port: 0, adminToken: TOKEN, logLevel: 'error', env: {} });
  url = server.url;
}

async function stopServer(): Promise<void> {
  await server.close();
  await authority.close();
}

async function api(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; json: Json; type: string }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Json = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, json, type: res.headers.get('content-type') ?? '' };
}

/** Issues through POST /api/v1/certificates; writes the PEM for openssl. */
async function issue(agentId: string, tenant: string): Promise<{ serial: string; path: string }> {
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    format: 'pem',
    type: 'spki',
  }) as string;
  const r = await api('POST', '/api/v1/certificates', { agentId, publicKey, scope: SCOPE, policy: POLICY, tenant });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  const path = join(tmp.dir, `${agentId}.pem`);
  writeFileSync(path, r.json.certificate as string);
  return { serial: r.json.serial as string, path };
}

interface Score {
  serial: string;
  value: number;
  band: string;
}

async function postEvents(events: unknown[]): Promise<Score[]> {
  const r = await api('POST', '/api/v1/events', { events });
  expect(r.status, JSON.stringify(r.json).slice(0, 500)).toBe(202);
  expect(r.json.accepted).toBe(events.length);
  return r.json.scores as Score[];
}

const scoreOf = (scores: Score[], serial: string): Score => scores.find((s) => s.serial === serial)!;

/** A well-behaved batch: in-scope calls and trades of 20k..45k USD on allowed markets. */
function normal(serial: string, n: number, seed = 0, time = new Date().toISOString()): Json[] {
  const actions = ['read:accounts', 'write:payments', 'read:/data/raw/2026/q1.csv'];
  return Array.from({ length: n }, (_, i) => {
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

/** Drift step k: one out-of-scope call and, every third step, a trade over the 50,000 USD limit. */
function drift(serial: string, k: number): Json[] {
  const time = new Date().toISOString();
  const events = normal(serial, 97, k, time);
  events.push({ serial, type: 'api_call', action: 'write:accounts', outcome: 'denied', time });
  if (k % 3 === 0)
    events.push({
      serial,
      type: 'transaction',
      action: 'trade:equities',
      outcome: 'success',
      time,
      amount: '55000',
      currency: 'USD',
      market: 'XNAS',
    });
  return events;
}

/**
 * `openssl ocsp` against the server for these certificates, response verified against the
 * root; its stdout. Without a nonce, i.e. the RFC 5019 way: the answer is the response the
 * revocation re-signed in its own commit, not one signed live for this request.
 */
async function ocsp(paths: string[], respout?: string): Promise<string> {
  const r = await opensslAsync(
    [
      'ocsp',
      '-issuer',
      intermediatePem,
      ...paths.flatMap((p) => ['-cert', p]),
      '-url',
      `${url}/ocsp`,
      '-CAfile',
      rootPem,
      '-no_nonce',
      ...(respout ? ['-respout', respout] : []),
    ],
    { timeoutMs: 10_000 },
  );
  expect(r.stderr).toContain('Response verify OK');
  return r.stdout;
}

/**
 * The CRLReason codes in an OCSP response, read by `openssl asn1parse`: OpenSSL 3.0's `ocsp`
 * prints "Reason: (UNKNOWN)" for privilegeWithdrawn (its OCSP reason table ends at
 * removeFromCRL), so the code itself is checked. RFC 6960 §4.2.1: RevokedInfo ::= SEQUENCE {
 * revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }.
 */
async function ocspReasonCodes(respFile: string): Promise<number[]> {
  const outer = parseAsn1((await opensslAsync(['asn1parse', '-inform', 'DER', '-in', respFile])).stdout);
  // OCSPResponse { responseStatus, responseBytes [0] { responseType, response OCTET STRING } }
  const basic = outer.find((l) => l.type.startsWith('OCTET STRING'));
  expect(basic).toBeDefined();
  const lines = parseAsn1(
    (await opensslAsync(['asn1parse', '-inform', 'DER', '-in', respFile, '-strparse', String(basic!.offset)])).stdout,
  );
  const codes: number[] = [];
  lines.forEach((l, i) => {
    const next = lines[i + 1];
    if (l.type === 'cont [ 0 ]' && l.constructed && next?.type === 'ENUMERATED') codes.push(parseInt(next.value, 16));
  });
  return codes;
}

/** RFC 5280 §5.3.1 CRLReason privilegeWithdrawn. */
const PRIVILEGE_WITHDRAWN = 9;

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-risk-http-');
  dataDir = join(tmp.dir, 'data');
  const a = await createAuthority({ dataDir, env: {} });
  await a.init({ keyType: 'p256', config: { organization: 'Example Operator' } });
  const chain = a.chain();
  rootPem = join(tmp.dir, 'root.pem');
  intermediatePem = join(tmp.dir, 'intermediate.pem');
  writeFileSync(rootPem, chain.root);
  writeFileSync(intermediatePem, chain.intermediate);
  await a.close();
  writeFileSync(join(dataDir, 'risk-config.json'), JSON.stringify(RISK_CONFIG, null, 2));
  await startOnDataDir();
  await rx.listen();
  const created = await api('POST', '/api/v1/webhooks', { url: rx.url });
  expect(created.status).toBe(201);
  rx.secret = created.json.secret as string;
});

afterAll(async () => {
  await server?.close().catch(() => undefined);
  await authority?.close().catch(() => undefined);
  await rx.close();
  await tmp?.cleanup();
});

describe('risk engine over HTTP', () => {
  it('an agent behaves, then drifts: warned in the inbox, revoked automatically, openssl ocsp answers revoked (privilegeWithdrawn), signed webhooks arrive', async () => {
    const trader = await issue('trader-1', 'acme');

    // behaves: three batches of 100 in-scope events
    for (let b = 0; b < 3; b++)
      expect(scoreOf(await postEvents(normal(trader.serial, 100, b * 100)), trader.serial)).toMatchObject({
        value: 0,
        band: 'low',
      });
    expect((await api('GET', `/api/v1/notifications?serial=${trader.serial}`)).json.notifications).toEqual([]);

    // drifts until warned
    const bands: string[] = [];
    let k = 0;
    while (!bands.includes('warning') && k < 15)
      bands.push(scoreOf(await postEvents(drift(trader.serial, ++k)), trader.serial).band);
    expect(bands.at(-1)).toBe('warning');
    expect(bands.slice(0, -1).every((b) => b === 'low' || b === 'medium')).toBe(true);
    const warned = await eventually('the warning in GET /api/v1/notifications', async () => {
      const n = (await api('GET', `/api/v1/notifications?serial=${trader.serial}`)).json.notifications as Json[];
      return n.length > 0 && n;
    });
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({
      kind: 'risk.warning',
      serial: trader.serial,
      agentId: 'trader-1',
      tenant: 'acme',
      band: 'warning',
      thresholds: { warning: 0.75, revoke: 0.85 },
    });
    expect(warned[0].score).toBeGreaterThanOrEqual(0.75);
    expect(warned[0].score).toBeLessThan(0.85);
    expect((warned[0].reasons as { feature: string }[]).map((r) => r.feature).sort()).toEqual(['policy', 'scope']);
    // warned, not revoked
    expect(await ocsp([trader.path])).toContain(`${trader.path}: good`);

    // keeps drifting until the score reaches 0.85: revoked, no human step
    while (bands.at(-1) !== 'revoke' && k < 20)
      bands.push(scoreOf(await postEvents(drift(trader.serial, ++k)), trader.serial).band);
    expect(bands.at(-1)).toBe('revoke');
    const verify = await eventually('the revocation', async () => {
      const v = await api('GET', `/api/v1/verify/${trader.serial}`);
      return v.json.status === 'revoked' && v.json;
    });
    expect(verify.revocation.reason).toBe('privilegeWithdrawn');
    const resp = join(tmp.dir, 'trader-1.ocsp.der');
    expect(await ocsp([trader.path], resp)).toContain(`${trader.path}: revoked`);
    expect(await ocspReasonCodes(resp)).toEqual([PRIVILEGE_WITHDRAWN]);
    // the explanation went into the audit log with the revocation
    const revokes: Json[] = [];
    for await (const e of authority.store.audit.iterate())
      if (e.action === 'revoke' && e.subject === trader.serial) revokes.push(e);
    expect(revokes).toHaveLength(1);
    expect(revokes[0]).toMatchObject({ actor: 'risk-engine', details: { explanation: { band: 'revoke' } } });
    expect(revokes[0].details.score).toBeGreaterThanOrEqual(0.85);

    // webhooks: risk.warning then certificate.revoked, each signed with the endpoint's secret
    const [revokedHook] = await eventually(
      'the certificate.revoked webhook',
      () => rx.of('certificate.revoked', trader.serial).length > 0 && rx.of('certificate.revoked', trader.serial),
    );
    const warningHooks = await eventually(
      'the risk.warning webhook',
      () => rx.of('risk.warning', trader.serial).length > 0 && rx.of('risk.warning', trader.serial),
    );
    expect(warningHooks).toHaveLength(1);
    for (const d of [revokedHook!, warningHooks[0]!]) {
      expect(d.verified).toBe(true);
      expect(d.headers['agentca-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(d.headers['agentca-delivery']).toMatch(/^dlv_/);
      expect(d.headers['agentca-event']).toBe(d.event.type);
      // the same bytes with another secret do not verify
      expect(
        verifyWebhookSignature({ header: d.headers['agentca-signature'], body: d.body, secret: `${rx.secret}x` }),
      ).toBe(false);
    }
    expect(revokedHook!.event.data).toMatchObject({
      serial: trader.serial,
      agentId: 'trader-1',
      tenant: 'acme',
      reason: 'privilegeWithdrawn',
      actor: 'risk-engine',
    });
    expect(warningHooks[0]!.event.data).toMatchObject({ id: warned[0].id, serial: trader.serial, band: 'warning' });

    // events keep flowing after the revocation: accepted, no second revocation or warning
    await postEvents(drift(trader.serial, k + 1));
    expect((await api('GET', `/api/v1/notifications?serial=${trader.serial}`)).json.notifications).toHaveLength(1);
  });

  it('a steady, high-volume, in-scope agent never crosses 0.3; a burst of 18x its own baseline does', async () => {
    const steady = await issue('steady-bot', 'acme');
    const burster = await issue('burst-bot', 'acme');
    const scores: number[] = [];
    let burst: Score | undefined;
    // 26 complete hours of history, backdated through the events' time: 900 events/h for the
    // steady agent, 100/h for the other, in shared batches, each hour in the middle of its bucket,
    // oldest hour first as a gateway replaying its buffer would send them. The clock is pinned:
    // every batch of "this hour" is in the same hour.
    clock.pin(Date.now());
    try {
      const thisHour = Math.floor(clock.now().getTime() / HOUR) * HOUR;
      const now = clock.now().toISOString();
      for (let h = 26; h >= 1; h--) {
        const time = new Date(thisHour - h * HOUR + 30 * 60_000).toISOString();
        const expiry = h % 12 === 0; // a token expiry now and then: one failed auth in that hour
        const batch = [...normal(steady.serial, expiry ? 899 : 900, h, time), ...normal(burster.serial, 100, h, time)];
        if (expiry) batch.push({ serial: steady.serial, type: 'auth_attempt', outcome: 'failed', time });
        const s = await postEvents(batch);
        scores.push(scoreOf(s, steady.serial).value);
      }
      // this hour: the steady agent keeps its pace (in two batches); the other sends 18x its own
      for (let b = 0; b < 2; b++)
        scores.push(scoreOf(await postEvents(normal(steady.serial, 450, b * 450, now)), steady.serial).value);
      for (let b = 0; b < 2; b++)
        burst = scoreOf(await postEvents(normal(burster.serial, 900, b * 900, now)), burster.serial);
    } finally {
      clock.unpin();
    }
    expect(scores).toHaveLength(28);
    expect(Math.max(...scores)).toBeLessThan(0.3);
    expect(burst!.value).toBeGreaterThanOrEqual(0.3); // the rate feature alone (weight 0.5): medium at most
    expect(burst!.band).toBe('medium');
    expect((await api('GET', `/api/v1/notifications?serial=${steady.serial}`)).json.notifications).toEqual([]);
    expect((await api('GET', `/api/v1/verify/${steady.serial}`)).json.status).toBe('good');
  });

  it('per-tenant thresholds from risk-config.json apply: same behaviour, the strict tenant is revoked first', async () => {
    const loose = await issue('twin-default', 'acme');
    const strict = await issue('twin-strict', 'strict');
    const steps: { loose: Score; strict: Score }[] = [];
    for (let k = 1; k <= 15; k++) {
      // the same events for both, in the same batch
      const s = await postEvents([...drift(loose.serial, k), ...drift(strict.serial, k)]);
      steps.push({ loose: scoreOf(s, loose.serial), strict: scoreOf(s, strict.serial) });
      if (steps.at(-1)!.strict.band === 'revoke') break;
    }
    const last = steps.at(-1)!;
    expect(last.strict.band).toBe('revoke');
    for (const s of steps) expect(s.strict.value).toBeCloseTo(s.loose.value, 12);
    expect(last.strict.value).toBeGreaterThanOrEqual(0.5);
    expect(last.strict.value).toBeLessThan(0.75); // below the default warning: the default tenant is untouched
    expect(['low', 'medium']).toContain(last.loose.band);

    await eventually(
      'the strict twin revoked',
      async () => (await api('GET', `/api/v1/verify/${strict.serial}`)).json.status === 'revoked',
    );
    const out = await ocsp([loose.path, strict.path]);
    expect(out).toContain(`${strict.path}: revoked`);
    expect(out).toContain(`${loose.path}: good`);
    const strictNotes = (await api('GET', '/api/v1/notifications?tenant=strict')).json.notifications as Json[];
    expect(strictNotes).toHaveLength(1);
    expect(strictNotes[0]).toMatchObject({ serial: strict.serial, thresholds: { warning: 0.4, revoke: 0.5 } });
    expect((await api('GET', `/api/v1/notifications?serial=${loose.serial}`)).json.notifications).toEqual([]);
  });

  it('a malformed batch gets 400 problem+json listing every bad field; nothing of it is stored', async () => {
    const fresh = await issue('fresh-bot', 'acme');
    const head = await authority.store.audit.head();
    const time = new Date().toISOString();
    const outOfScope = { serial: fresh.serial, type: 'api_call', action: 'delete:accounts', outcome: 'denied', time };

    // field errors, all of them, across events
    const r1 = await api('POST', '/api/v1/events', {
      events: [
        outOfScope,
        { serial: fresh.serial, type: 'api_call', outcome: 'perhaps', time: 'yesterday' },
        { type: 'Not A Type', outcome: 'success', time, colour: 'red' },
        { serial: fresh.serial, type: 'transaction', outcome: 'success', time, amount: '-5' },
        { serial: fresh.serial, type: 'api_call', outcome: 'success', time: new Date(Date.now() + HOUR).toISOString() },
      ],
    });
    expect(r1.status).toBe(400);
    expect(r1.type).toContain('application/problem+json');
    expect(r1.json).toMatchObject({ status: 400, code: 'ACA_ERR_INPUT_INVALID' });
    expect(
      (r1.json.details.errors as { index: number; field: string }[]).map((e) => `${e.index}.${e.field}`).sort(),
    ).toEqual(['1.outcome', '1.time', '2.colour', '2.serial', '2.type', '3.amount', '3.currency', '4.time'].sort());

    // attribution errors (the batch is well-formed but names what it cannot be attributed to)
    const r2 = await api('POST', '/api/v1/events', {
      events: [
        outOfScope,
        { serial: 'abcdef0123', type: 'api_call', outcome: 'success', time },
        { agentId: 'no-such-agent', type: 'api_call', outcome: 'success', time },
        { serial: fresh.serial, tenant: 'strict', type: 'api_call', outcome: 'success', time },
      ],
    });
    expect(r2.status).toBe(400);
    expect(r2.type).toContain('application/problem+json');
    expect(r2.json.details.errors).toEqual([
      { index: 1, field: 'serial', message: 'no certificate with serial abcdef0123' },
      { index: 2, field: 'agentId', message: 'agent no-such-agent has no good (or held) certificate' },
      { index: 3, field: 'tenant', message: `certificate ${fresh.serial} belongs to tenant acme` },
    ]);

    // the batch itself: not an array, too many events, no token
    const r3 = await api('POST', '/api/v1/events', { events: 'none' });
    expect(r3.status).toBe(400);
    expect(r3.json.details.fields).toEqual({ events: 'must be an array' });
    const r4 = await api('POST', '/api/v1/events', { events: Array.from({ length: 1001 }, () => outOfScope) });
    expect(r4.status).toBe(400);
    expect(r4.json.details.errors).toEqual([
      { index: -1, field: 'events', message: '1001 events; at most 1000 per batch' },
    ]);
    const r5 = await api('POST', '/api/v1/events', { events: [outOfScope] }, null);
    expect(r5.status).toBe(401);
    expect(r5.type).toContain('application/problem+json');

    expect(await authority.store.audit.head()).toEqual(head);
    // the out-of-scope call of those batches was never counted
    expect(scoreOf(await postEvents(normal(fresh.serial, 1)), fresh.serial)).toMatchObject({ value: 0, band: 'low' });
  });

  it('a receiver that is down when the agent is revoked gets the signed delivery after a server restart', async () => {
    const late = new Receiver();
    await late.listen();
    const port = late.port;
    const created = await api('POST', '/api/v1/webhooks', {
      url: late.url,
      events: ['certificate.revoked', 'risk.warning'],
    });
    expect(created.status).toBe(201);
    late.secret = created.json.secret as string;
    const endpointId = created.json.id as string;
    await late.close(); // down: connections to its port are refused

    const agent = await issue('drifter-late', 'strict');
    let band = '';
    for (let k = 1; k <= 15 && band !== 'revoke'; k++)
      band = scoreOf(await postEvents(drift(agent.serial, k)), agent.serial).band;
    expect(band).toBe('revoke');
    // the up receiver has it; the down one has attempts on record, pending in the outbox
    await eventually('the up receiver', () => rx.of('certificate.revoked', agent.serial).length === 1);
    const pending = await eventually('failed attempts to the down receiver', async () => {
      const p = ((await api('GET', '/api/v1/webhooks/deliveries')).json.pending as Json[]).filter(
        (d) => d.endpointId === endpointId,
      );
      return p.length === 2 && p.every((d) => d.attempts >= 1) && p;
    });
    expect(pending.map((d) => d.event.type).sort()).toEqual(['certificate.revoked', 'risk.warning']);
    expect(pending.every((d) => typeof d.lastError === 'string')).toBe(true);
    const notesBefore = (await api('GET', '/api/v1/notifications')).json.notifications as Json[];

    // stop the server and the authority, bring the receiver up, start a new server on the same data dir
    await stopServer();
    await late.listen(port);
    await startOnDataDir();
    try {
      const [revoked] = await eventually(
        'the delivery after the restart',
        () => late.of('certificate.revoked', agent.serial).length > 0 && late.of('certificate.revoked', agent.serial),
        8000,
      );
      expect(revoked!.verified).toBe(true);
      expect(revoked!.event.data).toMatchObject({
        serial: agent.serial,
        reason: 'privilegeWithdrawn',
        actor: 'risk-engine',
        tenant: 'strict',
      });
      const pendingRevoked = pending.find((d) => d.event.type === 'certificate.revoked')!;
      expect(revoked!.headers['agentca-delivery']).toBe(pendingRevoked.id); // the same delivery, resumed
      await eventually('the risk.warning after the restart', () => late.of('risk.warning', agent.serial).length > 0);
      expect(late.received.every((d) => d.verified)).toBe(true);
      await eventually(
        'an empty outbox',
        async () => ((await api('GET', '/api/v1/webhooks/deliveries')).json.pending as Json[]).length === 0,
      );

      // the restarted engine rebuilt its state: no second warning or revocation, inbox kept
      expect((await api('GET', '/api/v1/notifications')).json.notifications).toEqual(notesBefore);
      const resp = join(tmp.dir, 'drifter-late.ocsp.der');
      expect(await ocsp([agent.path], resp)).toContain(`${agent.path}: revoked`);
      expect(await ocspReasonCodes(resp)).toEqual([PRIVILEGE_WITHDRAWN]);
      expect(rx.of('certificate.revoked', agent.serial)).toHaveLength(1);
    } finally {
      await late.close();
    }
  });
});

describe('ca-config/risk-config.example.json', () => {
  it('parses with parseRiskConfig, spells out the real defaults, and resolves its per-tenant overrides', () => {
    const example = JSON.parse(
      readFileSync(new URL('../../ca-config/risk-config.example.json', import.meta.url), 'utf8'),
    );
    const config = parseRiskConfig(example);
    expect(config.defaults).toEqual(DEFAULT_TENANT_RISK_CONFIG);
    expect(config).toMatchObject({
      limits: { maxBatch: 1000, maxSkewMs: 300_000 },
      window: { bucketMs: HOUR, bucketCount: 720 },
    });
    const bank = tenantRiskConfig(config, 'bank-a');
    expect(bank).toMatchObject({
      thresholds: { medium: 0.25, warning: 0.5, revoke: 0.6 },
      holdOnWarning: true,
      autoRevoke: true,
      weights: DEFAULT_TENANT_RISK_CONFIG.weights,
    });
    expect(bank.features.policy.saturation).toBe(1);
    const lab = tenantRiskConfig(config, 'research-lab');
    expect(lab.weights).toEqual({ ...DEFAULT_TENANT_RISK_CONFIG.weights, rate: 0.3 });
    expect(lab.features.rate).toEqual({ ...DEFAULT_TENANT_RISK_CONFIG.features.rate, startRatio: 5, fullRatio: 20 });
    expect(tenantRiskConfig(config, 'sandbox')).toEqual({ ...DEFAULT_TENANT_RISK_CONFIG, autoRevoke: false });
    expect(tenantRiskConfig(config, 'unlisted')).toBe(config.defaults);
  });
});
