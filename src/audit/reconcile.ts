/**
 * Replays the audit log and compares what it says about every certificate's status with what
 * the store holds. The hash chain proves the log was not changed; it says nothing about the
 * store tables beside it, where deleting a revocation record would silently un-revoke a
 * certificate. Every committed status change is in the log (its outcome entry lands in the
 * same batch as the record), so the log is the reference:
 *
 * - `issue` / `renew` (outcome committed) -> the certificate must exist;
 * - `revoke` -> revoked with that reason; `hold` -> held; `release` -> good (RFC 5280 §5.3.1);
 * - a revocation record in the store that no committed log entry explains is a mismatch too.
 *
 * Streaming over the log; memory is one small record per certificate that changed status.
 */
import type { AuditPort, CertificatePort, RevocationPort, RevocationReason } from '../store/ports.js';
import type { IssuerId, Serial } from '../types.js';

type Expected = { state: 'good' | 'held' | 'revoked'; reason?: string; seq: number };

export interface ReconcileMismatch {
  serial: string;
  /** What the log's last committed entry for this serial says (e.g. "revoked keyCompromise (seq 812)"). */
  audit: string;
  /** What the store holds ("good", "held", "revoked superseded", "missing"). */
  store: string;
}

export interface ReconcileResult {
  ok: boolean;
  /** Audit entries read. */
  entries: number;
  /** Certificates whose issuance the log records. */
  issued: number;
  /** Serials with at least one committed status change. */
  statusChanges: number;
  mismatches: ReconcileMismatch[];
}

export interface ReconcilePorts {
  audit: Pick<AuditPort, 'iterate'>;
  certificates: Pick<CertificatePort, 'has'>;
  revocations: Pick<RevocationPort, 'get' | 'iterate'>;
}

/** Mismatches beyond this many are counted, not listed (the report stays readable). */
const MAX_LISTED = 1000;

export async function reconcileAuditWithStore(
  ports: ReconcilePorts,
  issuerIds: readonly IssuerId[],
): Promise<ReconcileResult> {
  const expected = new Map<string, Expected>();
  const issued: string[] = [];
  let entries = 0;
  for await (const e of ports.audit.iterate()) {
    entries++;
    if (e.details.outcome !== 'committed') continue;
    if (e.action === 'issue' || e.action === 'renew') {
      if (typeof e.details.serial === 'string') issued.push(e.details.serial);
    } else if (e.action === 'revoke') {
      expected.set(e.subject, {
        state: 'revoked',
        reason: typeof e.details.reason === 'string' ? e.details.reason : 'unspecified',
        seq: e.seq,
      });
    } else if (e.action === 'hold') {
      expected.set(e.subject, { state: 'held', seq: e.seq });
    } else if (e.action === 'release') {
      expected.set(e.subject, { state: 'good', seq: e.seq });
    }
  }

  const mismatches: ReconcileMismatch[] = [];
  let total = 0;
  const report = (m: ReconcileMismatch): void => {
    total++;
    if (mismatches.length < MAX_LISTED) mismatches.push(m);
  };
  for (const serial of issued) {
    if (!(await ports.certificates.has(serial as Serial))) report({ serial, audit: 'issued', store: 'missing' });
  }
  for (const [serial, want] of expected) {
    const rec = await ports.revocations.get(serial as Serial);
    const have = rec ? stateOf(rec.reason) : 'good';
    const wantText = describe(want.state, want.reason);
    if (have !== wantText) report({ serial, audit: `${wantText} (seq ${want.seq})`, store: have });
  }
  // The other direction: a record the log never committed (inserted into the store by hand).
  for (const issuerId of issuerIds) {
    for await (const rec of ports.revocations.iterate({ issuerId })) {
      if (!expected.has(rec.serial))
        report({ serial: rec.serial, audit: 'no committed status change', store: stateOf(rec.reason) });
    }
  }
  if (total > mismatches.length)
    mismatches.push({ serial: '…', audit: `${total - mismatches.length} more mismatches not listed`, store: '' });
  return { ok: total === 0, entries, issued: issued.length, statusChanges: expected.size, mismatches };
}

function stateOf(reason: RevocationReason): string {
  return reason === 'certificateHold' ? 'held' : describe('revoked', reason);
}

function describe(state: Expected['state'], reason?: string): string {
  return state === 'revoked' ? `revoked ${reason ?? 'unspecified'}` : state;
}
