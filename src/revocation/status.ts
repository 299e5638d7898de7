/**
 * A certificate's status as every surface reports it (CLI list/show, verify endpoint, OCSP,
 * CRL): its own revocation record, else the revocation of the CA that issued it (RFC 5280
 * §6.1.3: a path through a revoked CA is invalid, so everything under it reads as revoked).
 */
import type { CertificateRecord, RevocationReason, RevocationRecord } from '../store/ports.js';

export type CertificateState = 'good' | 'revoked' | 'held' | 'expired';

export interface CertificateStatus {
  state: CertificateState;
  revokedAt?: Date;
  reason?: RevocationReason;
  invalidityDate?: Date;
  /** Set when the status comes from the issuing CA's revocation, not the certificate's own. */
  inheritedFrom?: string;
}

export function statusOf(
  cert: CertificateRecord,
  own: RevocationRecord | undefined,
  issuerRevocation: RevocationRecord | undefined,
  now: Date,
): CertificateStatus {
  if (own && own.reason !== 'certificateHold') {
    return {
      state: 'revoked',
      revokedAt: own.revokedAt,
      reason: own.reason,
      ...(own.invalidityDate ? { invalidityDate: own.invalidityDate } : {}),
    };
  }
  if (issuerRevocation && issuerRevocation.reason !== 'certificateHold') {
    return {
      state: 'revoked',
      revokedAt: issuerRevocation.revokedAt,
      reason: issuerRevocation.reason,
      inheritedFrom: issuerRevocation.serial,
    };
  }
  if (own) return { state: 'held', revokedAt: own.revokedAt, reason: 'certificateHold' };
  // A CA on hold suspends everything under it, as a relying party checking the CA's CRL sees.
  if (issuerRevocation)
    return {
      state: 'held',
      revokedAt: issuerRevocation.revokedAt,
      reason: 'certificateHold',
      inheritedFrom: issuerRevocation.serial,
    };
  if (cert.notAfter.getTime() < now.getTime()) return { state: 'expired' };
  return { state: 'good' };
}

/** Reads a certificate's current status, its issuing CA's state included (an Authority is one). */
export interface StatusReader {
  statusOf(record: CertificateRecord): Promise<CertificateStatus>;
}
