/**
 * The request inside an OCSP GET URL (RFC 6960 Appendix A.1: `{url}/{url-encoding of base-64
 * encoding of the DER OCSPRequest}`), shared by the OCSP route and the `serve --workers` cache.
 */

/** A request larger than this is answered malformedRequest (RFC 6960 §2.3), not 413 or 431. */
export const OCSP_REQUEST_MAX_BYTES = 16 * 1024;

const BASE64 = /^[A-Za-z0-9+/=_-]+$/;

/**
 * The DER carried by `segment` (the path after `/ocsp/`, without a query). Accepts base64 and
 * base64url, percent-encoded or not; throws on anything else or on an oversized request.
 */
export function ocspGetRequestDer(segment: string): Buffer {
  const b64 = decodeURIComponent(segment);
  if (!BASE64.test(b64) || b64.length > OCSP_REQUEST_MAX_BYTES * 2) throw new Error('not base64');
  return Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
