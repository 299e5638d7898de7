/**
 * A LevelDB `serve --workers N` worker: a node:cluster process on the public port that answers
 * the read paths counterparties hit most (OCSP GET and POST, CRLs, /api/v1/verify, CA
 * certificates) from a cache of the primary's answers, and forwards everything else (writes,
 * admin API, nonce OCSP requests, misses) to the primary, which owns the store and the
 * signers. The primary invalidates the cache over IPC before any commit returns
 * (protocol.ts), so a cached answer is never older than the last acknowledged change.
 *
 * Only answers that do not depend on the caller are cached: no Authorization or Cookie header,
 * OCSP requests without a nonce (RFC 8954: a nonce makes every answer unique), successful OCSP
 * responses, status 200. Cached answers carry `Age` (RFC 9111 §5.1) so downstream caches
 * count their max-age from the primary's answer, not from the worker's.
 */
import http from 'node:http';
import { parseOcspRequest } from '../ocsp/request.js';
import { parseSerial } from '../profile/serial.js';
import { forward, upstream, type ForwardedAnswer } from './forward.js';
import { isClusterMessage, type AckMessage } from './protocol.js';
import { ResponseCache, type CachedAnswer, type CachedKind } from './response-cache.js';

export interface CacheWorkerOptions {
  host: string;
  port: number;
  /** The primary's private loopback URL. */
  upstreamUrl: string;
  /** Shown in the `x-agent-ca-worker` header of every answer. */
  workerId: number;
  maxEntries?: number;
}

export interface CacheWorker {
  url: string;
  cache: ResponseCache;
  close(): Promise<void>;
}

interface Cacheable {
  key: string;
  kind: CachedKind;
  serials: string[];
  ttlMs: number;
}

const TTL: Record<CachedKind, number> = {
  // Replaced by every commit that re-signs or refreshes them (invalidation); the TTL only bounds
  // memory for serials nobody asks about any more.
  ocsp: 60_000,
  // checkedAt and the `expired` state move with time.
  verify: 5_000,
  crl: 5_000,
  ca: 3_600_000,
};

/** RFC 6960 §2.3 bodies are small; larger ones go to the primary untouched (it answers them). */
const OCSP_BODY_LIMIT = 16 * 1024;

/** Headers a cached answer keeps. */
const KEPT = ['content-type', 'cache-control', 'etag', 'last-modified', 'expires', 'vary'];

function ocspCacheable(der: Buffer, key: string): Cacheable | undefined {
  try {
    const req = parseOcspRequest(der);
    if (req.nonce) return undefined;
    return { key, kind: 'ocsp', serials: req.certIds.map((c) => c.serial), ttlMs: TTL.ocsp };
  } catch {
    return undefined; // malformed: the primary answers malformedRequest
  }
}

/** GET requests whose answer may be cached, and under which key. */
function classifyGet(req: http.IncomingMessage): Cacheable | undefined {
  const url = req.url ?? '';
  if (req.headers.authorization !== undefined || req.headers.cookie !== undefined) return undefined;
  if (url.startsWith('/ocsp/')) {
    const raw = url.slice(6).split('?')[0] ?? '';
    try {
      const b64 = decodeURIComponent(raw);
      if (!/^[A-Za-z0-9+/=_-]+$/.test(b64) || b64.length > OCSP_BODY_LIMIT * 2) return undefined;
      return ocspCacheable(Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64'), `G${url}`);
    } catch {
      return undefined;
    }
  }
  const accept = req.headers.accept ?? '';
  if (/^\/crl\/[a-z-]+\.(crl|pem)$/.test(url))
    return { key: `G${url}|${accept}`, kind: 'crl', serials: [], ttlMs: TTL.crl };
  if (/^\/ca\/[a-z]+\.[a-z]+$/.test(url)) return { key: `G${url}`, kind: 'ca', serials: [], ttlMs: TTL.ca };
  const v = /^\/api\/v1\/verify\/([^/?]+)$/.exec(url);
  if (v) {
    try {
      const serial = parseSerial(decodeURIComponent(v[1]!));
      return { key: `G${url}|${accept}`, kind: 'verify', serials: [serial], ttlMs: TTL.verify };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED ... }: successful (0) only. */
function ocspSuccessful(der: Buffer): boolean {
  if (der.length < 5 || der[0] !== 0x30) return false;
  const l = der[1]!;
  const at = 2 + (l & 0x80 ? l & 0x7f : 0);
  return der[at] === 0x0a && der[at + 1] === 0x01 && der[at + 2] === 0x00;
}

export async function startCacheWorker(opts: CacheWorkerOptions): Promise<CacheWorker> {
  const cache = new ResponseCache(opts.maxEntries ?? 100_000);
  const up = upstream(opts.upstreamUrl);
  const workerHeader = { 'x-agent-ca-worker': String(opts.workerId) };

  // Installed before listening: every invalidation sent once this worker can hold answers arrives.
  const onMessage = (m: unknown): void => {
    if (!isClusterMessage(m) || m.t !== 'invalidate') return;
    cache.invalidate(m);
    const ack: AckMessage = { t: 'ack', gen: m.gen };
    process.send?.(ack);
  };
  process.on('message', onMessage);

  const sendCached = (req: http.IncomingMessage, res: http.ServerResponse, e: CachedAnswer, now: number): void => {
    const headers: http.OutgoingHttpHeaders = { ...e.headers, ...workerHeader };
    headers.age = String(Math.floor((now - e.fetchedAt) / 1000));
    const etag = e.headers.etag;
    if (etag !== undefined && req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    headers['content-length'] = String(e.body.length);
    res.writeHead(e.status, headers);
    res.end(e.body);
  };

  const fetchAndCache = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    c: Cacheable,
    body: Buffer | undefined,
  ): void => {
    const startedGeneration = cache.generation;
    const started = performance.now();
    forward(up, req, res, {
      ...(body ? { body } : {}),
      extraHeaders: workerHeader,
      collect: (a: ForwardedAnswer) => {
        if (c.kind === 'ocsp' && !ocspSuccessful(a.body)) return;
        const headers: Record<string, string> = {};
        for (const k of KEPT) {
          const v = a.headers[k];
          if (typeof v === 'string') headers[k] = v;
        }
        cache.set(
          c.key,
          {
            kind: c.kind,
            status: a.status,
            headers,
            body: a.body,
            fetchedAt: started,
            expiresAt: started + c.ttlMs,
            serials: c.serials,
          },
          startedGeneration,
        );
      },
    });
  };

  const server = http.createServer((req, res) => {
    const now = performance.now();
    if (req.method === 'GET') {
      const c = classifyGet(req);
      if (c) {
        const hit = cache.get(c.key, now);
        if (hit) return sendCached(req, res, hit, now);
        return fetchAndCache(req, res, c, undefined);
      }
    } else if (
      req.method === 'POST' &&
      req.url === '/ocsp' &&
      req.headers.authorization === undefined &&
      /^application\/ocsp-request\b/i.test(req.headers['content-type'] ?? '') &&
      Number(req.headers['content-length'] ?? NaN) <= OCSP_BODY_LIMIT
    ) {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const key = `P${body.toString('latin1')}`;
        const t = performance.now();
        const hit = cache.get(key, t);
        if (hit) return sendCached(req, res, hit, t);
        const c = ocspCacheable(body, key);
        if (c) return fetchAndCache(req, res, c, body);
        forward(up, req, res, { body, extraHeaders: workerHeader });
      });
      req.on('error', () => res.destroy());
      return;
    }
    forward(up, req, res, { extraHeaders: workerHeader });
  });
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    cache,
    close: async () => {
      process.off('message', onMessage);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      up.agent.destroy();
    },
  };
}
