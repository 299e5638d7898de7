/**
 * What a commit means, independent of the storage engine: it validates a batch against the
 * current state (read through a small reader the adapter supplies) plus the batch's own earlier
 * ops, assigns status-change seqs, and returns an ordered list of mutations. The adapter then
 * writes the mutations in one atomic batch. Running the planner and the write under the
 * adapter's commit mutex makes check-and-write one critical section. Any refusal throws before
 * anything is written, which is what makes a batch all-or-nothing.
 */
import { AgentCaError } from '../errors.js';
import type { IssuerId, Serial } from '../types.js';
import {
  batchChangesStatus,
  isRevocationReason,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditHead,
  type CertificateRecord,
  type CommitOptions,
  type CrlKind,
  type CrlRecord,
  type OcspResponseRecord,
  type OcspCertIdHash,
  type RevocationRecord,
  type StatusChange,
  type StatusChangeKind,
  type WriteOp,
} from './ports.js';

export const GENESIS_HASH = '0'.repeat(64);

/** Reads the planner needs from committed state (adapters answer from disk or caches). */
export interface PlannerReader {
  certificateExists(serial: Serial): Promise<boolean>;
  revocation(serial: Serial): Promise<RevocationRecord | undefined>;
  ocspResponse(
    issuerId: IssuerId,
    serial: Serial,
    hashAlgorithm: OcspCertIdHash,
  ): Promise<OcspResponseRecord | undefined>;
  auditHead(): Promise<AuditHead | null>;
  lastChangeSeq(): Promise<number>;
  /** Highest CRL number handed out or stored for the issuer; 0n when none. */
  crlCounter(issuerId: IssuerId): Promise<bigint>;
  latestCrlNumber(issuerId: IssuerId, kind: CrlKind): Promise<bigint | undefined>;
  /** Optional: fetch what the batch will read in one round trip before planning starts. */
  prime?(batch: readonly WriteOp[]): Promise<void>;
}

export type Mutation =
  | { kind: 'putCertificate'; record: CertificateRecord }
  | { kind: 'putRevocation'; record: RevocationRecord; previous?: RevocationRecord }
  | { kind: 'deleteRevocation'; previous: RevocationRecord }
  | { kind: 'putStatusChange'; change: StatusChange }
  | { kind: 'putOcspResponse'; record: OcspResponseRecord; previous?: OcspResponseRecord }
  /** latest: this CRL becomes latest(issuer, kind); counter: raise the CRL number counter to it. */
  | { kind: 'putCrl'; record: CrlRecord; latest: boolean; counter?: bigint }
  | { kind: 'appendAudit'; entry: AuditEntry }
  | { kind: 'putAuditCheckpoint'; checkpoint: AuditCheckpoint }
  | { kind: 'putMeta'; key: string; value: unknown }
  | { kind: 'deleteMeta'; key: string };

export interface CommitPlan {
  mutations: Mutation[];
  changes: StatusChange[];
  /** State after the commit, for adapters that cache counters. */
  lastChangeSeq: number;
  certificatesAdded: number;
  auditHead: AuditHead | null;
  sync: boolean;
}

const SERIAL = /^[0-9a-f]{1,40}$/; // RFC 5280 §4.1.2.2: at most 20 octets

export async function planCommit(
  batch: readonly WriteOp[],
  reader: PlannerReader,
  opts: CommitOptions = {},
): Promise<CommitPlan> {
  const mutations: Mutation[] = [];
  const changes: StatusChange[] = [];
  const newSerials = new Set<string>();
  const revocations = new Map<string, RevocationRecord | null>();
  const ocsp = new Map<string, OcspResponseRecord>();
  const crlCounters = new Map<string, bigint>();
  const crlLatest = new Map<string, bigint | undefined>();
  let head: AuditHead | null | undefined;
  let changeSeq: number | undefined;

  const currentRevocation = async (serial: Serial): Promise<RevocationRecord | undefined> =>
    revocations.has(serial) ? (revocations.get(serial) ?? undefined) : reader.revocation(serial);
  const nextChangeSeq = async (): Promise<number> => {
    changeSeq = (changeSeq ?? (await reader.lastChangeSeq())) + 1;
    return changeSeq;
  };

  await reader.prime?.(batch);
  for (const op of batch) {
    switch (op.op) {
      case 'putCertificate': {
        const r = op.record;
        checkSerial(r.serial);
        checkDates('certificate', r.notBefore, r.notAfter, r.issuedAt);
        if (!Buffer.isBuffer(r.der) || r.der.length === 0) throw invalid('certificate record without DER', r.serial);
        if (newSerials.has(r.serial) || (await reader.certificateExists(r.serial))) {
          throw new AgentCaError(
            'ISSUE_SERIAL_COLLISION',
            `serial ${r.serial} is already in use; nothing of this batch was written`,
            {
              serial: r.serial,
            },
          );
        }
        newSerials.add(r.serial);
        mutations.push({ kind: 'putCertificate', record: r });
        break;
      }
      case 'putRevocation': {
        const r = op.record;
        checkSerial(r.serial);
        checkDates('revocation', r.revokedAt, ...(r.invalidityDate ? [r.invalidityDate] : []));
        if (!isRevocationReason(r.reason))
          throw new AgentCaError('INPUT_REASON_UNKNOWN', `unknown revocation reason ${String(r.reason)}`);
        // removeFromCRL only ever appears in a delta CRL entry (RFC 5280 §5.3.1); the stored
        // state of a released hold is "no revocation record", written by deleteRevocation.
        if (r.reason === 'removeFromCRL') {
          throw new AgentCaError(
            'REVOKE_INVALID_STATE',
            'removeFromCRL is not a revocation state: release a hold with deleteRevocation',
          );
        }
        const previous = await currentRevocation(r.serial);
        let kind: StatusChangeKind;
        if (!previous) kind = r.reason === 'certificateHold' ? 'held' : 'revoked';
        else if (previous.reason === 'certificateHold' && r.reason !== 'certificateHold') kind = 'revoked';
        else if (previous.reason !== 'certificateHold' && r.reason === 'certificateHold') {
          // Revocation is permanent; only a hold is reversible (RFC 5280 §3.3).
          throw new AgentCaError(
            'REVOKE_INVALID_STATE',
            `serial ${r.serial} is revoked (${previous.reason}); it cannot be put on hold`,
            {
              serial: r.serial,
            },
          );
        } else kind = 'reason-changed';
        const seq = await nextChangeSeq();
        const record: RevocationRecord = { ...r, changeSeq: seq };
        const change: StatusChange = {
          seq,
          serial: r.serial,
          issuerId: r.issuerId,
          kind,
          at: op.at ?? r.revokedAt,
          reason: r.reason,
        };
        revocations.set(r.serial, record);
        mutations.push(previous ? { kind: 'putRevocation', record, previous } : { kind: 'putRevocation', record });
        mutations.push({ kind: 'putStatusChange', change });
        changes.push(change);
        break;
      }
      case 'deleteRevocation': {
        checkSerial(op.serial);
        checkDates('release', op.at);
        const previous = await currentRevocation(op.serial);
        if (!previous || previous.issuerId !== op.issuerId) {
          throw new AgentCaError('REVOKE_NOT_HELD', `serial ${op.serial} is not on hold`, { serial: op.serial });
        }
        if (previous.reason !== 'certificateHold') {
          throw new AgentCaError(
            'REVOKE_INVALID_STATE',
            `serial ${op.serial} is revoked (${previous.reason}), not held: it cannot be released`,
            {
              serial: op.serial,
            },
          );
        }
        const seq = await nextChangeSeq();
        const change: StatusChange = {
          seq,
          serial: op.serial,
          issuerId: op.issuerId,
          kind: 'released',
          at: op.at,
          reason: 'certificateHold',
        };
        revocations.set(op.serial, null);
        mutations.push({ kind: 'deleteRevocation', previous }, { kind: 'putStatusChange', change });
        changes.push(change);
        break;
      }
      case 'putOcspResponse': {
        const r = op.record;
        checkSerial(r.serial);
        checkDates('OCSP response', r.thisUpdate, r.nextUpdate);
        if (r.hashAlgorithm !== 'sha1' && r.hashAlgorithm !== 'sha256')
          throw new AgentCaError(
            'INPUT_INVALID',
            `OCSP response hash must be sha1 or sha256, got ${String(r.hashAlgorithm)}`,
          );
        const key = `${r.issuerId}\u0000${r.serial}\u0000${r.hashAlgorithm}`;
        const previous = ocsp.get(key) ?? (await reader.ocspResponse(r.issuerId, r.serial, r.hashAlgorithm));
        if (op.ifAbsent && previous) break;
        ocsp.set(key, r);
        mutations.push(
          previous ? { kind: 'putOcspResponse', record: r, previous } : { kind: 'putOcspResponse', record: r },
        );
        break;
      }
      case 'putCrl': {
        const r = op.record;
        checkDates('CRL', r.thisUpdate, r.nextUpdate);
        if (typeof r.number !== 'bigint' || r.number < 1n) throw invalid(`CRL number must be a positive bigint`);
        if (r.kind === 'delta' && (typeof r.baseNumber !== 'bigint' || r.baseNumber >= r.number)) {
          throw invalid(`delta CRL ${r.number} needs a baseNumber below its own number (RFC 5280 §5.2.4)`);
        }
        if (r.kind === 'full' && r.baseNumber !== undefined)
          throw invalid(`full CRL ${r.number} must not carry a baseNumber`);
        const latestKey = `${r.issuerId}\u0000${r.kind}`;
        const latest = crlLatest.has(latestKey)
          ? crlLatest.get(latestKey)
          : await reader.latestCrlNumber(r.issuerId, r.kind);
        const isLatest = latest === undefined || r.number > latest;
        if (isLatest) crlLatest.set(latestKey, r.number);
        const counter = crlCounters.get(r.issuerId) ?? (await reader.crlCounter(r.issuerId));
        const raise = r.number > counter;
        if (raise) crlCounters.set(r.issuerId, r.number);
        mutations.push({ kind: 'putCrl', record: r, latest: isLatest, ...(raise ? { counter: r.number } : {}) });
        break;
      }
      case 'appendAudit': {
        const e = op.entry;
        if (head === undefined) head = await reader.auditHead();
        const wantSeq = (head?.seq ?? 0) + 1;
        const wantPrev = head?.hash ?? GENESIS_HASH;
        // The store refuses a fork: two writers that both think they are at the head cannot
        // both land (the loser re-reads the head and retries).
        if (e.seq !== wantSeq || e.prevHash !== wantPrev) {
          throw new AgentCaError(
            'AUDIT_CHAIN_BROKEN',
            `audit entry ${e.seq} does not extend the head (expected seq ${wantSeq})`,
            {
              seq: e.seq,
              expectedSeq: wantSeq,
            },
          );
        }
        checkDates('audit entry', e.time);
        head = { seq: e.seq, hash: e.hash };
        mutations.push({ kind: 'appendAudit', entry: e });
        break;
      }
      case 'putAuditCheckpoint':
        if (!Number.isSafeInteger(op.checkpoint.seq) || op.checkpoint.seq < 1)
          throw invalid('checkpoint seq must be a positive integer');
        checkDates('checkpoint', op.checkpoint.time);
        mutations.push({ kind: 'putAuditCheckpoint', checkpoint: op.checkpoint });
        break;
      case 'putMeta':
        if (!op.key) throw invalid('meta key must not be empty');
        if (op.value === undefined) throw invalid(`meta ${op.key}: value must not be undefined (use deleteMeta)`);
        mutations.push({ kind: 'putMeta', key: op.key, value: op.value });
        break;
      case 'deleteMeta':
        mutations.push({ kind: 'deleteMeta', key: op.key });
        break;
      default:
        throw invalid(`unknown write op ${(op as { op: unknown }).op as string}`);
    }
  }

  return {
    mutations,
    changes,
    lastChangeSeq: changeSeq ?? (await reader.lastChangeSeq()),
    certificatesAdded: newSerials.size,
    auditHead: head === undefined ? await reader.auditHead() : head,
    sync: opts.sync ?? batchChangesStatus(batch),
  };
}

function checkSerial(serial: string): void {
  if (typeof serial !== 'string' || !SERIAL.test(serial)) {
    throw new AgentCaError(
      'INPUT_SERIAL_MALFORMED',
      `serial must be 1-40 lowercase hex digits, got ${JSON.stringify(serial)}`,
    );
  }
}

function checkDates(what: string, ...dates: Date[]): void {
  for (const d of dates) {
    if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw invalid(`${what}: invalid date`);
  }
}

function invalid(message: string, serial?: string): AgentCaError {
  return new AgentCaError('INPUT_INVALID', message, serial ? { serial } : {});
}
