/**
 * Signs on demand: requests with a nonce (RFC 8954) or several CertIDs, and CertIDs nothing
 * was pre-signed for (a certificate issued a moment ago, SHA-384/512 CertIDs, an unknown
 * serial). Signing costs a KMS/HSM round trip or CPU, so at most `maxConcurrent` responses are
 * signed at once; over the cap the source passes, and the responder falls back to a
 * pre-signed response without the nonce, or tryLater.
 */
import type { IssuerId, Serial } from '../types.js';
import type { ResponderIdentity } from './responder-identity.js';
import { buildBasicResponse } from './response.js';
import type { ResponseSource, SourceAnswer, SourceRequest } from './response-source.js';
import type { CertStatus } from './types.js';

/** A certificate's status; a serial the CA never issued is `{ kind: 'unknown' }` (RFC 6960 §2.2). */
export type StatusLookup = (issuerId: IssuerId, serial: Serial) => Promise<CertStatus>;

export interface LiveSourceOptions {
  /** The delegated responder that signs for each CA. */
  responderFor: (issuerId: IssuerId) => ResponderIdentity | undefined;
  status: StatusLookup;
  /**
   * nextUpdate - thisUpdate of live responses: a number, or per certificate (its profile's
   * OCSP validity); a multi-CertID answer takes the shortest.
   */
  validityMs: number | ((issuerId: IssuerId, serial: Serial) => Promise<number>);
  /** Default 8. */
  maxConcurrent?: number;
}

export interface LiveSource extends ResponseSource {
  readonly inFlight: number;
}

export function createLiveSource(opts: LiveSourceOptions): LiveSource {
  const max = opts.maxConcurrent ?? 8;
  let inFlight = 0;
  return {
    name: 'live',
    get inFlight() {
      return inFlight;
    },
    async response(req: SourceRequest): Promise<SourceAnswer | undefined> {
      if (inFlight >= max) return undefined;
      const responder = opts.responderFor(req.issuerId);
      if (!responder) return undefined;
      inFlight++;
      try {
        const { certIds, nonce } = req.request;
        const statuses = await Promise.all(certIds.map((c) => opts.status(req.issuerId, c.serial)));
        const thisUpdate = req.now;
        const v = opts.validityMs;
        const validity =
          typeof v === 'number' ? v : Math.min(...(await Promise.all(certIds.map((c) => v(req.issuerId, c.serial)))));
        const nextUpdate = new Date(thisUpdate.getTime() + validity);
        const der = await buildBasicResponse({
          responder,
          producedAt: req.now,
          responses: certIds.map((c, i) => ({ certIdDer: c.raw, status: statuses[i]!, thisUpdate, nextUpdate })),
          ...(nonce ? { nonce } : {}),
        });
        return { der, thisUpdate, nextUpdate, source: 'live', nonceEchoed: nonce !== undefined };
      } finally {
        inFlight--;
      }
    },
  };
}
