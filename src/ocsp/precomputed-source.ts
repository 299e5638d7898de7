/**
 * Serves pre-signed responses (docs/architecture.md: the CA's keys are not on the request path). Only a
 * single-CertID request can be answered this way, and only without its nonce; a stale
 * response (nextUpdate passed) is never served (RFC 5019 §4: caches and clients reject it).
 */
import type { IssuerId, Serial } from '../types.js';
import { parseOcspResponse } from './response-parse.js';
import type { ResponseSource, SourceAnswer, SourceRequest } from './response-source.js';
import type { OcspHashAlgorithm } from './types.js';

export interface PrecomputedResponse {
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
  /** End of the answer's window (window-cache.ts): not served, nor cached by the responder, after it. */
  staleAt?: Date;
}

/**
 * The pre-signed response for (issuer, serial) over a CertID hashed with `hash`. Returning the
 * times with the DER saves parsing it on every request; bare DER is parsed (and its CertID
 * checked against the request) before it is served.
 */
export type PrecomputedLookup = (
  issuerId: IssuerId,
  serial: Serial,
  hash: OcspHashAlgorithm,
) => Promise<PrecomputedResponse | Buffer | undefined>;

function fromDer(der: Buffer, serial: Serial, hash: OcspHashAlgorithm): PrecomputedResponse | undefined {
  const single = parseOcspResponse(der).basic?.responses;
  const r = single?.length === 1 ? single[0] : undefined;
  if (!r || !r.nextUpdate || r.certId.serial !== serial || r.certId.hashAlgorithm !== hash) return undefined;
  return { der, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate };
}

export function createPrecomputedSource(opts: { lookup: PrecomputedLookup }): ResponseSource {
  return {
    name: 'precomputed',
    async response(req: SourceRequest): Promise<SourceAnswer | undefined> {
      const { certIds, nonce } = req.request;
      const certId = certIds[0];
      if (certIds.length !== 1 || !certId || (nonce && !req.nonceOptional)) return undefined;
      const found = await opts.lookup(req.issuerId, certId.serial, certId.hashAlgorithm);
      if (!found) return undefined;
      const r = Buffer.isBuffer(found) ? fromDer(found, certId.serial, certId.hashAlgorithm) : found;
      if (!r || (r.staleAt ?? r.nextUpdate).getTime() <= req.now.getTime()) return undefined;
      return {
        der: r.der,
        thisUpdate: r.thisUpdate,
        nextUpdate: r.nextUpdate,
        ...(r.staleAt ? { staleAt: r.staleAt } : {}),
        source: 'precomputed',
        nonceEchoed: false,
      };
    },
  };
}
