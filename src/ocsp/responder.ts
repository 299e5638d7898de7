/**
 * The transport-free OCSP responder (RFC 6960 §2): bytes in, DER OCSPResponse out, never a
 * throw. Order of work, cheapest first: size cap -> answer cache (by request bytes) -> parse
 * -> filter (critical extensions, CertID count, known issuer, one issuer) -> sources in order
 * (precomputed, live) -> if the request had a nonce and nobody could echo it, the sources
 * again with the nonce optional -> tryLater.
 *
 *   garbage, oversize, unknown critical extension, too many CertIDs -> malformedRequest
 *   a CertID naming none of our CAs, or CertIDs of two CAs         -> unauthorized (RFC 6960 §2.3)
 *   store/signer unavailable (or nothing could answer)             -> tryLater
 *   anything else that breaks                                      -> internalError
 */
import type { Clock } from '../clock.js';
import { isAgentCaError } from '../errors.js';
import { errorMessage } from '../logger.js';
import type { IssuerId } from '../types.js';
import type { IssuerIndex } from './issuer-index.js';
import { OcspRequestError } from './request-error.js';
import { parseOcspRequest, requestCacheKey, type OcspRequest } from './request.js';
import { ResponseCache, serialKey } from './response-cache.js';
import type { ResponseSource, SourceAnswer } from './response-source.js';
import { errorResponse } from './response.js';
import type { OcspErrorStatus, OcspResponseStatus } from './types.js';

export interface OcspResult {
  der: Buffer;
  status: OcspResponseStatus;
  source: 'precomputed' | 'live' | 'error';
  /** Served from the answer cache without parsing. */
  cached: boolean;
  /** The response echoes the request's nonce: not cacheable by HTTP (RFC 5019 §6: only nonce-free responses are cached). */
  nonce: boolean;
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** Not to be served after this (the end of a signing window); default nextUpdate. */
  staleAt?: Date;
  issuerId?: IssuerId;
  /** Why an error status was chosen (logs, metrics); never sent to the client. */
  reason?: string;
}

export interface OcspResponderOptions {
  issuers: IssuerIndex;
  /** Tried in order; docs/architecture.md order is [precomputed, live]. */
  sources: readonly ResponseSource[];
  clock: Clock;
  /** Default 8192: a single-CertID request is ~80-120 octets, a signed one carries certificates. */
  maxRequestBytes?: number;
  /** Default 16 (RFC 5019 §2.1.1 clients send exactly one). */
  maxCertIds?: number;
  /** Answer cache by request bytes; false disables it. Default { maxEntries: 10_000, ttlMs: 500 }. */
  cache?: { maxEntries?: number; ttlMs?: number } | false;
  /** Called with every unexpected error (sources, status lookup, signing). */
  onError?: (error: unknown, context: { issuerId?: IssuerId; stage: string }) => void;
}

/** Errors meaning "a dependency is down for now": the client should retry (RFC 6960 §2.3 tryLater). */
const TRANSIENT = new Set(['ACA_ERR_STORE_UNAVAILABLE', 'ACA_ERR_STORE_LOCKED', 'ACA_ERR_SIGNER_UNAVAILABLE']);

function errorResult(status: OcspErrorStatus, reason: string, issuerId?: IssuerId): OcspResult {
  return {
    der: errorResponse(status),
    status,
    source: 'error',
    cached: false,
    nonce: false,
    reason,
    ...(issuerId ? { issuerId } : {}),
  };
}

export class OcspResponder {
  private readonly maxRequestBytes: number;
  private readonly maxCertIds: number;
  private readonly cache: ResponseCache<OcspResult> | undefined;
  private readonly inflight = new Map<string, { work: Promise<OcspResult>; epoch: number }>();
  /** Bumped by every invalidate(): answers computed across a status change are not cached. */
  private epoch = 0;

  constructor(private readonly opts: OcspResponderOptions) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 8192;
    this.maxCertIds = opts.maxCertIds ?? 16;
    if (opts.cache !== false)
      this.cache = new ResponseCache(opts.cache?.maxEntries ?? 10_000, opts.cache?.ttlMs ?? 500);
  }

  /** Drop cached answers about a serial: call when its status changes (the revoker does). */
  invalidate(issuerId: IssuerId, serial: string): void {
    // A lookup already in flight may have read the old status: the epoch stops it from filling
    // the cache, and stops new requests from joining it.
    this.epoch++;
    this.cache?.invalidate(issuerId, serial);
  }

  clearCache(): void {
    this.epoch++;
    this.cache?.clear();
  }

  /**
   * The cached answer to these request bytes (key: requestCacheKey), synchronously: a
   * transport serves a hit without a promise or a turn of the event loop. undefined: ask respond().
   */
  cachedAnswer(cacheKey: string, nowMs: number): OcspResult | undefined {
    return this.cache?.get(cacheKey, nowMs);
  }

  /**
   * `cacheKey`: requestCacheKey(requestDer), when the caller already has it (the GET route keeps
   * it with the decoded URL), so a repeated request is not converted and hashed again.
   */
  async respond(requestDer: Uint8Array, cacheKey?: string): Promise<OcspResult> {
    try {
      return await this.handle(requestDer, cacheKey);
    } catch (e) {
      this.report(e, 'respond');
      return errorResult('internalError', 'unexpected error');
    }
  }

  private report(error: unknown, stage: string, issuerId?: IssuerId): void {
    try {
      this.opts.onError?.(error, { stage, ...(issuerId ? { issuerId } : {}) });
    } catch {
      // a failing logger must not turn an answer into a throw
    }
  }

  private async handle(der: Uint8Array, cacheKey: string | undefined): Promise<OcspResult> {
    if (der.length > this.maxRequestBytes)
      return errorResult('malformedRequest', `request of ${der.length} octets exceeds ${this.maxRequestBytes}`);
    const now = this.opts.clock.now();
    const nowMs = now.getTime();
    const key = this.cache ? (cacheKey ?? requestCacheKey(der)) : undefined;
    if (key !== undefined) {
      // Stored with cached: true already (see answer()): a hit allocates nothing.
      const hit = this.cache!.get(key, nowMs);
      if (hit) return hit;
      // Single flight: identical requests arriving together (every relying party asking about
      // the same popular certificate) share one lookup instead of stampeding the store.
      const pending = this.inflight.get(key);
      if (pending && pending.epoch === this.epoch) return { ...(await pending.work), cached: true };
      const work = this.answer(der, key, now);
      const entry = { work, epoch: this.epoch };
      this.inflight.set(key, entry);
      try {
        return await work;
      } finally {
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
      }
    }
    return this.answer(der, key, now);
  }

  private async answer(der: Uint8Array, key: string | undefined, now: Date): Promise<OcspResult> {
    const nowMs = now.getTime();
    const epoch = this.epoch;

    let request: OcspRequest;
    try {
      request = parseOcspRequest(der);
    } catch (e) {
      if (e instanceof OcspRequestError) return errorResult(e.ocspStatus, e.message);
      throw e;
    }
    // RFC 6960 §4.4: an unrecognised extension may be ignored only when it is not critical.
    if (request.hasUnknownCritical) return errorResult('malformedRequest', 'unrecognised critical extension');
    if (request.certIds.length > this.maxCertIds)
      return errorResult('malformedRequest', `${request.certIds.length} CertIDs exceed ${this.maxCertIds}`);

    let issuerId: IssuerId | undefined;
    for (const c of request.certIds) {
      const id = this.opts.issuers.lookup(c);
      if (!id) return errorResult('unauthorized', 'CertID names an issuer this responder does not serve');
      // Each CA has its own delegated responder (RFC 6960 §4.2.2.2), so one signature cannot cover two CAs.
      if (issuerId && id !== issuerId) return errorResult('unauthorized', 'CertIDs of more than one issuer', issuerId);
      issuerId = id;
    }
    const iid = issuerId!;

    const answer = await this.fromSources(request, iid, now);
    if (answer.status !== 'successful') return answer;
    if (key !== undefined && !request.nonce && answer.nextUpdate && epoch === this.epoch) {
      this.cache!.set(
        key,
        { ...answer, cached: true },
        nowMs,
        (answer.staleAt ?? answer.nextUpdate).getTime(),
        request.certIds.map((c) => serialKey(iid, c.serial)),
      );
    }
    return answer;
  }

  private async fromSources(request: OcspRequest, issuerId: IssuerId, now: Date): Promise<OcspResult> {
    let failure: unknown;
    const failed = new Set<ResponseSource>();
    const passes = request.nonce ? [false, true] : [false];
    for (const nonceOptional of passes) {
      for (const source of this.opts.sources) {
        if (failed.has(source)) continue;
        let a: SourceAnswer | undefined;
        try {
          a = await source.response({ request, issuerId, now, nonceOptional });
        } catch (e) {
          failure ??= e;
          failed.add(source);
          this.report(e, `source:${source.name}`, issuerId);
          continue;
        }
        if (a) {
          return {
            der: a.der,
            status: 'successful',
            source: a.source,
            cached: false,
            nonce: a.nonceEchoed,
            thisUpdate: a.thisUpdate,
            nextUpdate: a.nextUpdate,
            ...(a.staleAt ? { staleAt: a.staleAt } : {}),
            issuerId,
          };
        }
      }
    }
    if (failure === undefined)
      return errorResult('tryLater', 'no source could answer (live signing at its cap)', issuerId);
    const transient = isAgentCaError(failure) && TRANSIENT.has(failure.code);
    return errorResult(transient ? 'tryLater' : 'internalError', errorMessage(failure), issuerId);
  }
}
