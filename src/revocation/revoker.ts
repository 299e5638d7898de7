/**
 * Revoke, hold and release (RFC 5280 §5.3.1). Order of work, per docs/architecture.md: audit the intent;
 * then ONE synced commit holding the revocation record, the re-signed status artifacts (the
 * serial's OCSP responses) and the audit outcome; then hooks. When revoke() returns, the
 * revocation is durable and already visible to OCSP.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import type { CertificateRecord, RevocationReason, RevocationRecord, Store, WriteOp } from '../store/ports.js';
import type { Serial } from '../types.js';
import type { HookBus } from './hooks.js';
import { KeyedMutex } from '../store/mutex.js';
import { errorMessage, stderrLogger } from '../logger.js';
import { assertInvalidityDate } from './invalidity-date.js';
import { statusOf, type CertificateStatus } from './status.js';

/** Something that must re-sign when a status changes, in the same commit (OCSP), or after it (CRL). */
export interface StatusPublisher {
  opsFor?(cert: CertificateRecord, status: CertificateStatus): Promise<WriteOp[]>;
  afterChange?(cert: CertificateRecord, status: CertificateStatus): void;
}

export interface RevokeOptions {
  reason?: RevocationReason;
  invalidityDate?: Date;
  actor?: string;
  /** Free-form context for the audit log (e.g. the risk score that triggered it). */
  details?: Record<string, unknown>;
}

/** Options of hold and release. */
export interface StatusChangeOptions {
  actor?: string;
  details?: Record<string, unknown>;
}

/**
 * Which certificates a call may change: agent certificates only (the agent API), or also the
 * CA's own (the separately audited CA path: a CA's status cascades to everything under it).
 */
export type RevocationScope = 'agent' | 'ca';

export interface RevokerDeps {
  store: Store;
  audit: AuditLog;
  hooks: HookBus;
  clock: Clock;
  publishers: () => readonly StatusPublisher[];
  /** The revocation (or hold) of the CA that issued `cert`, which its status inherits. */
  issuerRevocationOf: (cert: CertificateRecord) => Promise<RevocationRecord | undefined>;
}

type Transition = 'revoke' | 'hold' | 'release';

export class Revoker {
  /**
   * Status changes of one serial run one at a time: each reads the current record, decides,
   * and commits; two concurrent revokes of the same certificate would otherwise both see
   * "not revoked" and both succeed, the second overwriting the first's reason and time.
   */
  private readonly perSerial = new KeyedMutex();

  constructor(private readonly d: RevokerDeps) {}

  private async load(
    serial: Serial,
    scope: RevocationScope,
  ): Promise<{ cert: CertificateRecord; existing: RevocationRecord | undefined }> {
    const cert = await this.d.store.certificates.get(serial);
    if (!cert) throw new AgentCaError('CERT_NOT_FOUND', `no certificate with serial ${serial}`, { serial });
    if (cert.profile === 'ocsp-responder') {
      // RFC 6960 §4.2.2.2.1: a responder certificate with id-pkix-ocsp-nocheck is never checked
      // for revocation, so a revocation would have no effect; replace it instead.
      throw new AgentCaError(
        'REVOKE_CA_REFUSED',
        `${serial} is an OCSP responder certificate (id-pkix-ocsp-nocheck): rotate the responder instead of revoking it`,
        { serial },
      );
    }
    if (cert.isCa && scope !== 'ca') {
      throw new AgentCaError(
        'REVOKE_CA_REFUSED',
        `${serial} is a CA certificate: CA status changes go through \`agent-ca ca revoke|hold|release intermediate\` (POST /api/v1/ca/intermediate/revoke), not the agent API`,
        { serial },
      );
    }
    return { cert, existing: await this.d.store.revocations.get(serial) };
  }

  revoke(serial: Serial, opts: RevokeOptions = {}, scope: RevocationScope = 'agent'): Promise<RevocationRecord> {
    return this.perSerial.run(serial, () => this.revokeNow(serial, opts, scope));
  }

  hold(serial: Serial, opts: StatusChangeOptions = {}, scope: RevocationScope = 'agent'): Promise<RevocationRecord> {
    return this.perSerial.run(serial, () => this.holdNow(serial, opts, scope));
  }

  release(serial: Serial, opts: StatusChangeOptions = {}, scope: RevocationScope = 'agent'): Promise<void> {
    return this.perSerial.run(serial, () => this.releaseNow(serial, opts, scope));
  }

  private async revokeNow(serial: Serial, opts: RevokeOptions, scope: RevocationScope): Promise<RevocationRecord> {
    const reason = opts.reason ?? 'unspecified';
    if (reason === 'certificateHold' || reason === 'removeFromCRL') {
      throw new AgentCaError('INPUT_REASON_UNKNOWN', `${reason} is not a reason for revoke (use hold / release)`);
    }
    const { cert, existing } = await this.load(serial, scope);
    const now = this.d.clock.now();
    let revokedAt = now;
    if (existing) {
      const upgrade = reason === 'keyCompromise' && existing.reason !== 'keyCompromise';
      if (existing.reason === 'certificateHold') {
        // A hold made permanent: the certificate stopped being trusted when it was held.
        revokedAt = existing.revokedAt;
      } else if (upgrade) {
        revokedAt = existing.revokedAt;
      } else {
        throw new AgentCaError(
          'REVOKE_ALREADY',
          `${serial} is already revoked (${existing.reason} at ${existing.revokedAt.toISOString()}); only an upgrade to keyCompromise is allowed`,
          {
            serial,
            reason: existing.reason,
          },
        );
      }
    }
    // Checked against now, the moment of this decision: an upgrade to keyCompromise may name a
    // compromise found after the original revocation (RFC 5280 §5.3.2).
    if (opts.invalidityDate !== undefined) assertInvalidityDate(opts.invalidityDate, now);
    const record: Omit<RevocationRecord, 'changeSeq'> = {
      serial,
      issuerId: cert.issuerId,
      revokedAt,
      reason,
      ...(opts.invalidityDate
        ? { invalidityDate: opts.invalidityDate }
        : existing?.invalidityDate
          ? { invalidityDate: existing.invalidityDate }
          : {}),
      actor: opts.actor ?? 'library',
    };
    return this.apply('revoke', cert, [{ op: 'putRevocation', record, at: now }], record, opts);
  }

  private async holdNow(serial: Serial, opts: StatusChangeOptions, scope: RevocationScope): Promise<RevocationRecord> {
    const { cert, existing } = await this.load(serial, scope);
    if (existing) {
      throw new AgentCaError(
        'REVOKE_ALREADY',
        existing.reason === 'certificateHold'
          ? `${serial} is already on hold`
          : `${serial} is revoked (${existing.reason}); a revoked certificate cannot be held`,
        { serial },
      );
    }
    const now = this.d.clock.now();
    const record: Omit<RevocationRecord, 'changeSeq'> = {
      serial,
      issuerId: cert.issuerId,
      revokedAt: now,
      reason: 'certificateHold',
      actor: opts.actor ?? 'library',
    };
    return this.apply('hold', cert, [{ op: 'putRevocation', record, at: now }], record, opts);
  }

  private async releaseNow(serial: Serial, opts: StatusChangeOptions, scope: RevocationScope): Promise<void> {
    const { cert, existing } = await this.load(serial, scope);
    if (!existing || existing.reason !== 'certificateHold') {
      throw new AgentCaError(
        'REVOKE_NOT_HELD',
        existing
          ? `${serial} is revoked (${existing.reason}), not held: revocation is permanent`
          : `${serial} is not on hold`,
        { serial },
      );
    }
    const now = this.d.clock.now();
    await this.apply(
      'release',
      cert,
      [{ op: 'deleteRevocation', serial, issuerId: cert.issuerId, at: now, actor: opts.actor ?? 'library' }],
      undefined,
      opts,
    );
  }

  private async apply(
    kind: Transition,
    cert: CertificateRecord,
    ops: WriteOp[],
    record: Omit<RevocationRecord, 'changeSeq'> | undefined,
    opts: { actor?: string; details?: Record<string, unknown> },
  ): Promise<RevocationRecord> {
    const actor = opts.actor ?? 'library';
    const details = {
      ...(cert.agentId ? { agentId: cert.agentId } : {}),
      ...(record ? { reason: record.reason, revokedAt: record.revokedAt.toISOString() } : {}),
      ...(opts.details ?? {}),
    };
    await this.d.audit.append({ actor, action: `${kind}.requested`, subject: cert.serial, details });
    const issuerRevocation = await this.d.issuerRevocationOf(cert);
    const fullRecord = record ? { ...record, changeSeq: 0 } : undefined;
    const status = statusOf(cert, fullRecord, issuerRevocation, this.d.clock.now());
    const publisherOps: WriteOp[] = [];
    for (const p of this.d.publishers()) if (p.opsFor) publisherOps.push(...(await p.opsFor(cert, status)));
    try {
      const { result } = await this.d.audit.appendWith(
        [...ops, ...publisherOps],
        { actor, action: kind, subject: cert.serial, details: { ...details, outcome: 'committed' } },
        { sync: true },
      );
      const seq = result.changes[0]?.seq ?? 0;
      for (const p of this.d.publishers()) p.afterChange?.(cert, status);
      this.emit(kind, cert, record, actor);
      return {
        ...(record ?? {
          serial: cert.serial,
          issuerId: cert.issuerId,
          revokedAt: this.d.clock.now(),
          reason: 'removeFromCRL',
          actor,
        }),
        changeSeq: seq,
      };
    } catch (e) {
      // Best effort: the store that refused the commit may refuse this too; the caller gets the
      // original error either way, and the failure to record it is logged, not swallowed.
      await this.d.audit
        .append({
          actor,
          action: `${kind}.failed`,
          subject: cert.serial,
          details: { ...details, error: errorMessage(e) },
        })
        .catch((err: unknown) =>
          stderrLogger.error(`recording ${kind}.failed in the audit log failed`, {
            serial: cert.serial,
            error: errorMessage(err),
          }),
        );
      throw e;
    }
  }

  private emit(
    kind: Transition,
    cert: CertificateRecord,
    record: Omit<RevocationRecord, 'changeSeq'> | undefined,
    actor: string,
  ): void {
    const base = {
      serial: cert.serial,
      issuerId: cert.issuerId,
      ...(cert.agentId ? { agentId: cert.agentId } : {}),
      ...(cert.tenant ? { tenant: cert.tenant } : {}),
      at: this.d.clock.now(),
      actor,
    };
    if (kind === 'revoke') {
      this.d.hooks.emit('certificate.revoked', {
        ...base,
        reason: record!.reason,
        ...(record!.invalidityDate ? { invalidityDate: record!.invalidityDate } : {}),
        ...(cert.keyUri ? { keyUri: cert.keyUri } : {}),
      });
    } else if (kind === 'hold') this.d.hooks.emit('certificate.held', base);
    else this.d.hooks.emit('certificate.released', base);
  }
}
