/**
 * A LevelDB `serve --workers N` worker: a node:cluster process on the public port that answers
 * the read paths counterparties hit most (OCSP GET and POST, CRLs, /api/v1/verify, CA
 * certificates) from a cache of the primary's answers, and forwards everything else (writes,
 * admin API, nonce OCSP requests) to the primary, which owns the store and the signers. The
 * primary invalidates the cache over IPC before any commit returns (protocol.ts), so a cached
 * answer is never older than the last acknowledged change. What is cacheable: cacheable.ts.
 *
 * A cache hit costs no request to the primary and no IPC message. Misses for the same answer
 * share one request to the primary (single flight): without that, clients asking for the same
 * cold serials at once (a fleet starting, a load generator's connections in step) each cost a
 * round trip to the primary, and a cold cache filled one serial per round of them. A miss does
 * not join a fetch started before an invalidation of its serials (that answer may be older than
 * the change): it starts a new one.
 *
 * Cached answers carry `Age` (RFC 9111 §5.1) so downstream caches count their max-age from the
 * primary's answer, not from the worker's; `If-None-Match` is answered here (RFC 9110 §13.1.2).
 */
import http from 'node:http';
import { cacheKeyOfGet, classifyGet, isOcspPost, ocspCacheable, ocspSuccessful, type Cacheable } from './cacheable.js';
import { endToEndHeaders, fetchWhole, forward, sendUnavailable, upstream, type ForwardedAnswer } from './forward.js';
import { isClusterMessage, type AckMessage, type ClusterMessage } from './protocol.js';
import { ResponseCache, type CachedAnswer } from './response-cache.js';

/** The worker's end of the IPC channel to the primary (node:cluster's by default). */
export interface WorkerChannel {
  /** Subscribes to messages from the primary; returns the unsubscribe function. */
  listen(onMessage: (m: unknown) => void): () => void;
  send(m: ClusterMessage): void;
}

export const processChannel: WorkerChannel = {
  listen(onMessage) {
    process.on('message', onMessage);
    return () => process.off('message', onMessage);
  },
  send(m) {
    process.send?.(m);
  },
};

export interface CacheWorkerOptions {
  host: string;
  port: number;
  /** The primary's private loopback URL. */
  upstreamUrl: string;
  /** Shown in the `x-agent-ca-worker` header of every answer. */
  workerId: number;
  maxEntries?: number;
  channel?: WorkerChannel;
}

/** What the worker did, counted (tests, operators). */
export interface CacheWorkerStats {
  /** Answers served from the cache: no request to the primary, no IPC message. */
  hits: number;
  /** Requests sent to the primary for cacheable answers (one per answer at a time). */
  fetches: number;
  /** Misses that shared a fetch already in flight for the same answer. */
  joined: number;
  /** Requests passed to the primary untouched (writes, admin API, nonces, large bodies). */
  forwarded: number;
  /** Background fetches of hot answers near their expiry, and those that failed (the entry then expires). */
  refreshes: number;
  refreshFailures: number;
  /** IPC messages received from (invalidations) and sent to (acks) the primary. */
  messagesIn: number;
  messagesOut: number;
}

export interface CacheWorker {
  url: string;
  cache: ResponseCache;
  stats: CacheWorkerStats;
  close(): Promise<void>;
}

/** Past this fraction of its TTL, a hit also fetches the answer again in the background. */
const REFRESH_AHEAD = 0.8;

/** Headers a cached answer keeps. */
const KEPT = ['content-type', 'cache-control', 'etag', 'last-modified', 'expires', 'vary'];

/** An answer fetched for every client waiting on it: cached (`entry`) or passed on as it came. */
interface Fetched {
  entry?: CachedAnswer;
  raw: ForwardedAnswer;
}

interface Flight {
  startedGeneration: number;
  answer: Promise<Fetched>;
}

export async function startCacheWorker(opts: CacheWorkerOptions): Promise<CacheWorker> {
  const cache = new ResponseCache(opts.maxEntries ?? 100_000);
  const up = upstream(opts.upstreamUrl);
  const channel = opts.channel ?? processChannel;
  const workerHeader = { 'x-agent-ca-worker': String(opts.workerId) };
  const stats: CacheWorkerStats = {
    hits: 0,
    fetches: 0,
    joined: 0,
    forwarded: 0,
    refreshes: 0,
    refreshFailures: 0,
    messagesIn: 0,
    messagesOut: 0,
  };
  const flights = new Map<string, Flight>();

  // Installed before listening: every invalidation sent once this worker can hold answers arrives.
  const unlisten = channel.listen((m: unknown): void => {
    stats.messagesIn++;
    if (!isClusterMessage(m) || m.t !== 'invalidate') return;
    cache.invalidate(m);
    const ack: AckMessage = { t: 'ack', gen: m.gen };
    stats.messagesOut++;
    channel.send(ack);
  });

  const sendCached = (req: http.IncomingMessage, res: http.ServerResponse, e: CachedAnswer, now: number): void => {
    const headers: http.OutgoingHttpHeaders = { ...e.headers };
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

  const sendFetched = (req: http.IncomingMessage, res: http.ServerResponse, f: Fetched): void => {
    if (f.entry) return sendCached(req, res, f.entry, performance.now());
    const h = endToEndHeaders(f.raw.headers);
    Object.assign(h, workerHeader);
    h['content-length'] = String(f.raw.body.length);
    res.writeHead(f.raw.status, h);
    res.end(f.raw.body);
  };

  const fetchShared = (req: http.IncomingMessage, c: Cacheable, body: Buffer | undefined): Promise<Fetched> => {
    const inFlight = flights.get(c.key);
    if (inFlight && cache.current(c.kind, c.serials, inFlight.startedGeneration)) {
      stats.joined++;
      return inFlight.answer;
    }
    stats.fetches++;
    const startedGeneration = cache.generation;
    const started = performance.now();
    const answer = fetchWhole(up, req, body)
      .then((raw): Fetched => {
        if (raw.status !== 200 || (c.kind === 'ocsp' && !ocspSuccessful(raw.body))) return { raw };
        const headers: Record<string, string> = { ...workerHeader };
        for (const k of KEPT) {
          const v = raw.headers[k];
          if (typeof v === 'string') headers[k] = v;
        }
        const entry: CachedAnswer = {
          kind: c.kind,
          status: raw.status,
          headers,
          body: raw.body,
          fetchedAt: started,
          expiresAt: started + c.ttlMs,
          serials: c.serials,
        };
        cache.set(c.key, entry, startedGeneration);
        return { entry, raw };
      })
      .finally(() => {
        if (flights.get(c.key) === flight) flights.delete(c.key);
      });
    const flight: Flight = { startedGeneration, answer };
    flights.set(c.key, flight);
    return answer;
  };

  /**
   * Answers from the cache, or through one shared fetch (`classify` says what the request is
   * about; not called on a hit). False when the request is not cacheable after all.
   */
  const answerCacheable = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    key: string,
    body: Buffer | undefined,
    classify: () => Cacheable | undefined,
  ): boolean => {
    const now = performance.now();
    const hit = cache.get(key, now);
    if (hit) {
      stats.hits++;
      sendCached(req, res, hit, now);
      // Refresh ahead: an answer still asked for is replaced before it expires, so a hot
      // answer is never a miss (entries fetched together would otherwise expire together).
      const ttlMs = hit.expiresAt - hit.fetchedAt;
      if (now - hit.fetchedAt > ttlMs * REFRESH_AHEAD && !flights.has(key)) {
        stats.refreshes++;
        fetchShared(req, { key, kind: hit.kind, serials: hit.serials, ttlMs }, body).catch(
          () => stats.refreshFailures++,
        );
      }
      return true;
    }
    const c = classify();
    if (!c) return false;
    fetchShared(req, c, body).then(
      (f) => sendFetched(req, res, f),
      (e: Error) => sendUnavailable(res, `the owning process did not answer: ${e.message}`),
    );
    return true;
  };

  const passOn = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): void => {
    stats.forwarded++;
    forward(up, req, res, { ...(body ? { body } : {}), extraHeaders: workerHeader });
  };

  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      const key = cacheKeyOfGet(req);
      if (key !== undefined && answerCacheable(req, res, key, undefined, () => classifyGet(req, key))) return;
    } else if (isOcspPost(req)) {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const key = `P${body.toString('latin1')}`;
        if (!answerCacheable(req, res, key, body, () => ocspCacheable(body, key))) passOn(req, res, body);
      });
      req.on('error', () => res.destroy());
      return;
    }
    passOn(req, res);
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
    stats,
    close: async () => {
      unlisten();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      up.agent.destroy();
    },
  };
}
