/**
 * ResponseSource (docs/architecture.md): where a successful response comes from. The responder has
 * already filtered the request (well-formed, known issuer, one issuer for all CertIDs) and
 * tries its sources in order (precomputed, then live); a source returns undefined to pass.
 */
import type { IssuerId } from '../types.js';
import type { OcspRequest } from './request.js';

export interface SourceRequest {
  request: OcspRequest;
  /** The CA every CertID of the request names. */
  issuerId: IssuerId;
  now: Date;
  /**
   * Second pass, when no source could answer with the nonce (live signing saturated): a
   * response without the nonce is acceptable. RFC 8954 §2.1 / RFC 6960 §4.4.1 leave it to
   * the client to accept or reject such a response.
   */
  nonceOptional: boolean;
}

export interface SourceAnswer {
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Serve no longer than this (answers signed per window, window-cache.ts); default nextUpdate. */
  staleAt?: Date;
  source: 'precomputed' | 'live';
  /** The response carries the request's nonce. */
  nonceEchoed: boolean;
}

export interface ResponseSource {
  readonly name: string;
  response(req: SourceRequest): Promise<SourceAnswer | undefined>;
}
