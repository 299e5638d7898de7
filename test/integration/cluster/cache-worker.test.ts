/**
 * The LevelDB `serve --workers` cache worker in this process (src/cluster/cache-worker.ts),
 * with its IPC channel to the primary replaced by one the test counts and drives:
 * - beside a real primary (startServer on a LevelDB authority, its requests counted): a warm
 *   worker answers OCSP GET and POST with no request to the primary and no IPC message;
 *   misses for one answer share one request; a revocation committed through the invalidation
 *   barrier (wrapCommit, as the primary does) is answered `revoked` by both workers at once,
 *   checked by openssl;
 * - beside a primary stand-in that holds its answers: a miss arriving after an invalidation
 *   does not join a fetch started before it, and that older answer is not cached.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPem } from '../../../src/asn1/pem.js';
import type { Authority } from '../../../src/authority/authority.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { startCacheWorker, type CacheWorker, type WorkerChannel } from '../../../src/cluster/cache-worker.js';
import { invalidationFor, type ClusterMessage } from '../../../src/cluster/protocol.js';
import { caSerialsOf, wrapCommit } from '../../../src/cluster/serve-cluster.js';
import type { RunningServer } from '../../../src/http/server.js';
import { startServer } from '../../../src/http/server.js';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../../src/ocsp/request-encode.js';
import { parseOcspRequest } from '../../../src/ocsp/request.js';
import { openssl } from '../../helpers/openssl.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';

/** A channel the test drives: `deliver` plays the primary; messages both ways are counted. */
class TestChannel implements WorkerChannel {
  received = 0;
  sent: ClusterMessage[] = [];
  private handlers: ((m: unknown) => void)[] = [];
  listen(onMessage: (m: unknown) => void): () => void {
    this.handlers.push(onMessage);
    return () => (this.handlers = this.handlers.filter((h) => h !== onMessage));
  }
  send(m: ClusterMessage): void {
    this.sent.push(m);
  }
  deliver(m: ClusterMessage): void {
    this.received++;
    for (const h of this.handlers) h(m);
  }
}

interface Answer {
  status: number;
  body: Buffer;
}

/** One request on a new connection. */
function request(url: string, opts: { method?: string; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        agent: false,
        headers: opts.body ? { 'content-type': 'application/ocsp-request' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('cache worker beside a real primary', () => {
  let tmp: TmpDir;
  let a: Authority;
  let primary: RunningServer;
  let primaryRequests = 0;
  let unwrap: () => void;
  const channels = [new TestChannel(), new TestChannel()];
  const workers: CacheWorker[] = [];
  const certs: { serial: string; pem: string; der: Buffer }[] = [];

  beforeAll(async () => {
    tmp = await makeTmpDir('agent-ca-cache-worker-');
    a = await createAuthority({ dataDir: join(tmp.dir, 'data'), env: {} });
    await a.init({ keyType: 'p256' });
    const int = a.ca('intermediate').certificate;
    const issuer = { subjectDer: Buffer.from(int.subject), publicKeyInfo: Buffer.from(int.publicKeyInfo) };
    writeFileSync(join(tmp.dir, 'int.pem'), toPem(int.der));
    writeFileSync(join(tmp.dir, 'root.pem'), toPem(a.ca('root').certificate.der));
    for (let i = 0; i < 3; i++) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const c = await a.issue({
        agentId: `cache-bot-${i}`,
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
      });
      const pem = join(tmp.dir, `bot-${i}.pem`);
      writeFileSync(pem, c.pem);
      certs.push({
        serial: c.serial,
        pem,
        der: ocspRequestDer(certIdFor(issuer, Buffer.from(c.serial, 'hex'), 'sha1')),
      });
    }
    primary = await startServer({
      authority: a,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      configure: (app) => {
        app.addHook('onRequest', async () => {
          primaryRequests++;
        });
      },
    });
    // the primary's barrier: every worker has applied the invalidation before the commit returns
    const caSerials = caSerialsOf(a);
    unwrap = wrapCommit(a.store, async (batch) => {
      const inv = invalidationFor(batch, caSerials);
      if (inv) for (const ch of channels) ch.deliver({ t: 'invalidate', gen: ch.received + 1, ...inv });
    });
    for (const [i, channel] of channels.entries())
      workers.push(
        await startCacheWorker({ host: '127.0.0.1', port: 0, upstreamUrl: primary.url, workerId: i, channel }),
      );
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.close();
    unwrap?.();
    await primary?.close();
    await a?.close();
    await tmp?.cleanup();
  });

  const get = (w: CacheWorker, c: { der: Buffer }) =>
    request(`${w.url}/ocsp/${encodeURIComponent(c.der.toString('base64'))}`);
  const post = (w: CacheWorker, c: { der: Buffer }) => request(`${w.url}/ocsp`, { method: 'POST', body: c.der });

  function opensslStatus(der: Buffer, certPem: string, name: string): string {
    const f = join(tmp.dir, `${name}.der`);
    writeFileSync(f, der);
    const r = openssl(
      ['ocsp', '-respin', f, '-issuer', join(tmp.dir, 'int.pem'), '-cert', certPem].concat([
        '-CAfile',
        join(tmp.dir, 'root.pem'),
      ]),
    );
    expect(r.stderr + r.stdout).toMatch(/Response verify OK/);
    return /: (good|revoked|unknown)/.exec(r.stdout)?.[1] ?? `no status in: ${r.stdout} ${r.stderr}`;
  }

  it('answers warm OCSP GETs and POSTs with no request to the primary and no IPC message', async () => {
    const w = workers[0]!;
    const [c] = certs;
    const first = [await get(w, c!), await post(w, c!)];
    for (const [i, x] of first.entries()) {
      expect(x.status).toBe(200);
      expect(opensslStatus(x.body, c!.pem, `warm-${i}`)).toBe('good');
    }
    const before = {
      primary: primaryRequests,
      ...w.stats,
      received: channels[0]!.received,
      sent: channels[0]!.sent.length,
    };
    for (let i = 0; i < 25; i++) {
      expect((await get(w, c!)).body).toEqual(first[0]!.body);
      expect((await post(w, c!)).body).toEqual(first[1]!.body);
    }
    expect(primaryRequests).toBe(before.primary);
    expect(w.stats.hits - before.hits).toBe(50);
    expect(w.stats.fetches).toBe(before.fetches);
    expect([w.stats.messagesIn, w.stats.messagesOut]).toEqual([before.messagesIn, before.messagesOut]);
    expect([channels[0]!.received, channels[0]!.sent.length]).toEqual([before.received, before.sent]);
  });

  it('sends concurrent misses for one answer to the primary once', async () => {
    const w = workers[1]!;
    const c = certs[2]!;
    const before = { primary: primaryRequests, ...w.stats };
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(w, c)));
    for (const x of answers) expect(x.body).toEqual(answers[0]!.body);
    expect(opensslStatus(answers[0]!.body, c.pem, 'shared')).toBe('good');
    expect(primaryRequests - before.primary).toBe(1);
    expect(w.stats.fetches - before.fetches).toBe(1);
    // the others joined the fetch in flight, or (arriving after it) were hits
    expect(w.stats.joined - before.joined + (w.stats.hits - before.hits)).toBe(19);
  });

  it('answers revoked from every worker as soon as the revocation returns, checked by openssl', async () => {
    const c = certs[1]!;
    for (const w of workers) {
      expect(opensslStatus((await get(w, c)).body, c.pem, `pre-get-${w.url.length}`)).toBe('good');
      expect(opensslStatus((await post(w, c)).body, c.pem, `pre-post-${w.url.length}`)).toBe('good');
      expect(w.cache.size).toBeGreaterThan(0);
    }
    const acksBefore = channels.map((ch) => ch.sent.length);
    await a.revoke(c.serial, { reason: 'keyCompromise' });
    // every worker acknowledged before revoke() returned
    for (const [i, ch] of channels.entries()) expect(ch.sent.length).toBeGreaterThan(acksBefore[i]!);
    for (const [i, w] of workers.entries()) {
      expect(opensslStatus((await get(w, c)).body, c.pem, `revoked-get-${i}`)).toBe('revoked');
      expect(opensslStatus((await post(w, c)).body, c.pem, `revoked-post-${i}`)).toBe('revoked');
    }
  });
});

/** OCSPResponse { responseStatus successful, ... } as the worker's check sees it, tagged. */
const fakeAnswer = (tag: number) => Buffer.from([0x30, 0x06, 0x0a, 0x01, 0x00, 0x04, 0x01, tag]);

describe('cache worker: an invalidation during a fetch', () => {
  it('does not let a later miss join the older fetch, nor cache its answer', async () => {
    const held: http.ServerResponse[] = [];
    let answered = 0;
    const upstream = http.createServer((_req, res) => {
      held.push(res);
      if (held.length === 2) {
        // the newer fetch is answered first, the older one after it
        res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(fakeAnswer(2));
        held[0]!.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(fakeAnswer(1));
        answered = 2;
      }
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const addr = upstream.address() as { port: number };
    const channel = new TestChannel();
    const w = await startCacheWorker({
      host: '127.0.0.1',
      port: 0,
      upstreamUrl: `http://127.0.0.1:${addr.port}`,
      workerId: 0,
      channel,
    });
    try {
      const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      const issuer = { subjectDer: Buffer.from([0x30, 0x00]), publicKeyInfo: spki };
      const der = ocspRequestDer(certIdFor(issuer, Buffer.from('1123456789abcdef', 'hex'), 'sha1'));
      const serial = parseOcspRequest(der).certIds[0]!.serial;
      const url = `${w.url}/ocsp/${encodeURIComponent(der.toString('base64'))}`;
      const older = request(url);
      while (held.length < 1) await new Promise((r) => setTimeout(r, 5));
      channel.deliver({ t: 'invalidate', gen: 1, serials: [serial], crls: false, all: false });
      expect(channel.sent).toEqual([{ t: 'ack', gen: 1 }]);
      const newer = request(url);
      const [o, n] = await Promise.all([older, newer]);
      expect(answered).toBe(2);
      expect(o.body).toEqual(fakeAnswer(1));
      expect(n.body).toEqual(fakeAnswer(2));
      expect(w.stats.joined).toBe(0);
      // the cache holds the newer answer: the older one, fetched across the invalidation, was refused
      expect((await request(url)).body).toEqual(fakeAnswer(2));
      expect(held.length).toBe(2);
    } finally {
      await w.close();
      upstream.closeAllConnections();
      await new Promise<void>((r) => upstream.close(() => r()));
    }
  });
});
