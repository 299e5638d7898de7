/** A request the responder cannot answer, carrying the OCSPResponseStatus to send back (RFC 6960 §2.3). */
import { AgentCaError } from '../errors.js';
import type { OcspErrorStatus } from './types.js';

export class OcspRequestError extends AgentCaError {
  readonly ocspStatus: OcspErrorStatus;
  constructor(reason: string, ocspStatus: OcspErrorStatus = 'malformedRequest', options?: { cause?: unknown }) {
    super('INPUT_OCSP_REQUEST_INVALID', `OCSP request refused: ${reason}`, { reason, ocspStatus }, options);
    this.name = 'OcspRequestError';
    this.ocspStatus = ocspStatus;
  }
}
