/**
 * OCSP vocabulary shared by the parser, the builder and the responder (RFC 6960 §4): CertID
 * hash algorithms, the parsed CertID, a certificate's status as OCSP reports it, and the
 * OCSPResponseStatus values.
 */
import type { RevocationReason } from '../store/ports.js';
import type { Serial } from '../types.js';

/** Hash algorithms accepted in a CertID. SHA-1 here is an identifier, not a signature (RFC 6960 §4.1.1; RFC 5019 §2.1.1 makes it the client default). */
export type OcspHashAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';
export const OCSP_HASH_ALGORITHMS: readonly OcspHashAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];
export const OCSP_HASH_LENGTHS: Readonly<Record<OcspHashAlgorithm, number>> = Object.freeze({
  sha1: 20,
  sha256: 32,
  sha384: 48,
  sha512: 64,
});

/** CertID (RFC 6960 §4.1.1), with the exact DER it arrived as. */
export interface CertId {
  hashAlgorithm: OcspHashAlgorithm;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /**
   * Lowercase hex magnitude, as `serialFromMagnitude` writes it. A negative INTEGER (which no
   * conforming CA issues, RFC 5280 §4.1.2.2) is `-` + hex of its content: it can never match a
   * stored serial, so it is answered `unknown` instead of aliasing a positive serial.
   */
  serial: Serial;
  /** The CertID DER exactly as received (a view into the request bytes): echoed in the response. */
  raw: Buffer;
}

/** What the responder says about one certificate (RFC 6960 §4.2.1 CertStatus). */
export type CertStatus =
  { kind: 'good' } | { kind: 'revoked'; revokedAt: Date; reason?: RevocationReason } | { kind: 'unknown' };

/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
export const OCSP_RESPONSE_STATUS = Object.freeze({
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
});
export type OcspResponseStatus = keyof typeof OCSP_RESPONSE_STATUS;
export type OcspErrorStatus = Exclude<OcspResponseStatus, 'successful'>;
