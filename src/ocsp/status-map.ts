/**
 * From the status every surface reports (src/revocation/status.ts) to OCSP's CertStatus
 * (RFC 6960 §2.2): a hold is `revoked` with reason certificateHold (RFC 5280 §5.3.1); an
 * expired certificate that was never revoked stays `good` (OCSP states revocation, not
 * validity); a certificate revoked through its CA carries the CA's time and reason.
 */
import { AgentCaError } from '../errors.js';
import type { RevocationReason } from '../store/ports.js';
import type { CertStatus } from './types.js';

export interface ReportedStatus {
  state: 'good' | 'revoked' | 'held' | 'expired';
  revokedAt?: Date;
  reason?: RevocationReason;
}

export function certStatusFrom(s: ReportedStatus | undefined): CertStatus {
  if (!s) return { kind: 'unknown' };
  if ((s.state === 'held' || s.state === 'revoked') && !s.revokedAt)
    throw new AgentCaError('INPUT_INVALID', `a ${s.state} status needs its revocation time`);
  switch (s.state) {
    case 'good':
    case 'expired':
      return { kind: 'good' };
    case 'held':
      return { kind: 'revoked', revokedAt: s.revokedAt!, reason: 'certificateHold' };
    case 'revoked':
      return { kind: 'revoked', revokedAt: s.revokedAt!, ...(s.reason ? { reason: s.reason } : {}) };
  }
}
