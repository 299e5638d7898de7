/**
 * Which requests a LevelDB `serve --workers N` worker may answer from its cache, under which
 * key, about which serials and for how long (cache-worker.ts). Only answers that do not depend
 * on the caller are cacheable: no Authorization or Cookie header, OCSP requests without a nonce
 * (RFC 8954: a nonce makes every answer unique), and (checked on the answer) successful OCSP
 * responses with status 200.
 */
import type http from 'node:http';
import { readTlv } from '../asn1/der-reader.js';
import { OCSP_REQUEST_MAX_BYTES, ocspGetRequestDer } from '../ocsp/get-url.js';
import { parseOcspRequest } from '../ocsp/request.js';
import { parseSerial } from '../profile/serial.js';
import type { CachedKind } from './response-cache.js';

export interface Cacheable {
  key: string;
  kind: CachedKind;
  serials: readonly string[];
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
const OCSP_BODY_LIMIT = OCSP_REQUEST_MAX_BYTES;

export function ocspCacheable(der: Buffer, key: string): Cacheable | undefined {
  try {
    const req = parseOcspRequest(der);
    if (req.nonce) return undefined;
    return { key, kind: 'ocsp', serials: req.certIds.map((c) => c.serial), ttlMs: TTL.ocsp };
  } catch {
    return undefined; // malformed: the primary answers malformedRequest
  }
}

/**
 * The cache key of a GET whose answer may be cached, without parsing it (a hit needs no more),
 * or undefined: the OCSP GET URL; CRLs and verify answers per Accept (JSON or not).
 */
export function cacheKeyOfGet(req: http.IncomingMessage): string | undefined {
  const url = req.url ?? '';
  if (req.headers.authorization !== undefined || req.headers.cookie !== undefined) return undefined;
  if (url.startsWith('/ocsp/') || url.startsWith('/ca/')) return `G${url}`;
  if (url.startsWith('/crl/') || url.startsWith('/api/v1/verify/')) return `G${url}|${req.headers.accept ?? ''}`;
  return undefined;
}

/** What a GET with cache key `key` (cacheKeyOfGet) is about, or undefined when not cacheable. */
export function classifyGet(req: http.IncomingMessage, key: string): Cacheable | undefined {
  const url = req.url ?? '';
  if (url.startsWith('/ocsp/')) {
    const raw = url.slice(6).split('?')[0] ?? '';
    try {
      return ocspCacheable(ocspGetRequestDer(raw), key);
    } catch {
      return undefined;
    }
  }
  if (/^\/crl\/[a-z-]+\.(crl|pem)$/.test(url)) return { key, kind: 'crl', serials: [], ttlMs: TTL.crl };
  if (/^\/ca\/[a-z]+\.[a-z]+$/.test(url)) return { key, kind: 'ca', serials: [], ttlMs: TTL.ca };
  const v = /^\/api\/v1\/verify\/([^/?]+)$/.exec(url);
  if (v) {
    try {
      return { key, kind: 'verify', serials: [parseSerial(decodeURIComponent(v[1]!))], ttlMs: TTL.verify };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A POST /ocsp the worker reads and may answer: no credentials, the OCSP type, a small body. */
export function isOcspPost(req: http.IncomingMessage): boolean {
  return (
    req.method === 'POST' &&
    req.url === '/ocsp' &&
    req.headers.authorization === undefined &&
    /^application\/ocsp-request\b/i.test(req.headers['content-type'] ?? '') &&
    Number(req.headers['content-length'] ?? NaN) <= OCSP_BODY_LIMIT
  );
}

/** OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED ... }: successful (0) only. */
export function ocspSuccessful(der: Buffer): boolean {
  try {
    const outer = readTlv(der, 0, 'OCSPResponse');
    if (outer.tag !== 0x30) return false;
    const status = readTlv(der, outer.contentStart, 'OCSPResponseStatus');
    return status.tag === 0x0a && status.end - status.contentStart === 1 && der[status.contentStart] === 0x00;
  } catch {
    return false; // not DER: not an answer to keep
  }
}
