/**
 * OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5): POST application/ocsp-request, and GET
 * /ocsp/{url-encoded base64 DER}. Always 200 application/ocsp-response, errors included
 * (malformedRequest, unauthorized, tryLater as DER); never HTML, never problem+json.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OcspService } from '../../ocsp/service.js';
import { OCSP_REQUEST_MAX_BYTES, ocspGetRequestDer } from '../../ocsp/get-url.js';
import type { OcspResult } from '../../ocsp/responder.js';
import { errorResponse } from '../../ocsp/response.js';
import { requestCacheKey } from '../../ocsp/request.js';
import type { Clock } from '../../clock.js';
import type { CaMetrics } from '../plugins/metrics.js';
import { IpBudget } from '../plugins/ip-budget.js';
import { schemas } from '../schemas/public.js';
import { useContract } from '../schemas/validation.js';

export interface OcspRouteOptions {
  ocsp: OcspService;
  metrics: CaMetrics;
  clock: Clock;
  /** HTTP caching bound, so caches stay inside the revocation promise (60 s); capped by nextUpdate. */
  maxAgeSeconds?: number;
  /** Live (nonce) signatures per second per IP, with a burst. */
  liveRatePerIp?: { perSecond: number; burst: number };
}

/** ETag and date headers per response: the same pre-signed bytes are served many times. */
const headerMemo = new WeakMap<Buffer, { etag: string; lastModified: string; expires: string }>();

function headersFor(result: OcspResult): { etag: string; lastModified: string; expires: string } {
  let h = headerMemo.get(result.der);
  if (!h) {
    h = {
      etag: `"${createHash('sha256').update(result.der).digest('base64url').slice(0, 27)}"`,
      lastModified: result.thisUpdate!.toUTCString(),
      expires: result.nextUpdate!.toUTCString(),
    };
    headerMemo.set(result.der, h);
  }
  return h;
}

/**
 * GET path -> decoded request DER. RFC 5019 clients repeat the same URL for the life of a
 * response; remembering the decoding skips the URL-decode, the base64 check and the decode.
 */
class DecodedPaths {
  private readonly map = new Map<string, DecodedPath>();
  constructor(private readonly max: number) {}
  get(path: string): DecodedPath | undefined {
    return this.map.get(path);
  }
  set(path: string, decoded: DecodedPath): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(path, decoded);
  }
}

/** The request DER and the responder's cache key for it (requestCacheKey), made once per URL. */
interface DecodedPath {
  der: Buffer;
  key: string;
}

/**
 * No per-request child logger on the OCSP routes: nothing there logs per request (errors are
 * answered as OCSP DER), and creating a pino child with a request id for every request cost
 * more than answering from the cache.
 */
const sameLogger = <L>(logger: L): L => logger;

/** RFC 6960 §2.3: what cannot be read is answered malformedRequest, as OCSP DER with status 200. */
export function sendMalformedRequest(reply: FastifyReply): FastifyReply {
  return reply.code(200).type('application/ocsp-response').send(errorResponse('malformedRequest'));
}

const OCSP_BODY_LIMIT = OCSP_REQUEST_MAX_BYTES;

export async function ocspRoutes(app: FastifyInstance, opts: OcspRouteOptions): Promise<void> {
  useContract(app);
  const maxAge = opts.maxAgeSeconds ?? 60;
  const fullCacheControl = `max-age=${maxAge}, public, no-transform, must-revalidate`;
  const decoded = new DecodedPaths(10_000);
  const budget = new IpBudget(opts.liveRatePerIp?.perSecond ?? 50, opts.liveRatePerIp?.burst ?? 100, opts.clock);

  app.addContentTypeParser(
    ['application/ocsp-request', 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT * 4 },
    (_req, body, done) => done(null, body),
  );
  // Whatever goes wrong on this route (oversize body, wrong content type), the answer is OCSP DER.
  app.setErrorHandler((_error, _request, reply) => {
    void sendMalformedRequest(reply);
  });

  /** Status 200, the cache headers (RFC 5019 §6.2) or no-cache, the DER. */
  const send = (
    request: FastifyRequest,
    reply: FastifyReply,
    result: OcspResult,
    viaGet: boolean,
    now: number,
  ): FastifyReply => {
    opts.metrics.ocspResponses.inc({ source: result.source, status: result.status });
    reply.code(200).type('application/ocsp-response');
    if (viaGet && result.status === 'successful' && !result.nonce && result.nextUpdate && result.thisUpdate) {
      // RFC 5019 §6.2: cache headers from the response's own validity.
      const secondsLeft = Math.max(0, Math.floor((result.nextUpdate.getTime() - now) / 1000));
      const h = headersFor(result);
      reply.headers({
        'cache-control':
          secondsLeft >= maxAge ? fullCacheControl : `max-age=${secondsLeft}, public, no-transform, must-revalidate`,
        etag: h.etag,
        'last-modified': h.lastModified,
        expires: h.expires,
      });
      if (request.headers['if-none-match'] === h.etag) return reply.code(304).send();
    } else {
      reply.header('cache-control', 'no-cache, no-store, must-revalidate');
    }
    return reply.send(result.der);
  };

  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    der: Buffer,
    viaGet: boolean,
    cacheKey?: string,
  ): Promise<FastifyReply> => {
    const ip = request.ip;
    const mayLive = budget.has(ip);
    const result: OcspResult = await (mayLive ? opts.ocsp.responder : opts.ocsp.precomputedOnly).respond(der, cacheKey);
    if (result.source === 'live') budget.spend(ip);
    return send(request, reply, result, viaGet, opts.clock.now().getTime());
  };

  /**
   * An answer in the responder's cache (the common case: relying parties repeat the same
   * request) is sent in the handler's own turn: no promise, no microtask, as a bare route
   * sends fixed bytes. Serving a cached answer signs nothing, so the live budget is not asked.
   * Returns undefined once sent (fastify: a sync handler that has sent), else the pending answer.
   */
  const respond = (
    request: FastifyRequest,
    reply: FastifyReply,
    der: Buffer,
    viaGet: boolean,
    cacheKey: string,
  ): Promise<FastifyReply> | undefined => {
    const now = opts.clock.now().getTime();
    const hit = opts.ocsp.responder.cachedAnswer(cacheKey, now);
    if (!hit) return answer(request, reply, der, viaGet, cacheKey);
    send(request, reply, hit, viaGet, now);
    return undefined;
  };

  app.post(
    '/ocsp',
    { bodyLimit: OCSP_BODY_LIMIT, schema: schemas.ocspPost, childLoggerFactory: sameLogger },
    (request, reply) => {
      const body = request.body;
      if (Buffer.isBuffer(body)) return respond(request, reply, body, false, requestCacheKey(body));
      sendMalformedRequest(reply);
      return undefined;
    },
  );

  // RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}
  // Sync: returns undefined once it has sent (see respond()), else the pending answer.
  const get = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined => {
    const url = request.url;
    const start = url.indexOf('/ocsp/') + 6;
    const q = url.indexOf('?', start);
    const raw = q < 0 ? url.slice(start) : url.slice(start, q);
    let hit = decoded.get(raw);
    if (!hit) {
      let der: Buffer;
      try {
        der = ocspGetRequestDer(raw);
      } catch {
        opts.metrics.ocspResponses.inc({ source: 'error', status: 'malformedRequest' });
        sendMalformedRequest(reply);
        return undefined;
      }
      hit = { der, key: requestCacheKey(der) };
      decoded.set(raw, hit);
    }
    return respond(request, reply, hit.der, true, hit.key);
  };
  app.get('/ocsp/*', { schema: schemas.ocspGet, childLoggerFactory: sameLogger }, get);
}
