/**
 * The Store ports: small read ports per record kind plus ONE atomic write entry point
 * (`commit`). Every adapter (memory, LevelDB, PostgreSQL) implements these shapes and passes
 * the same contract suite (test/contract/store-contract.ts). The semantics of a commit (change
 * sequence numbers, serial-collision refusal, hold/release rules, audit chain linkage) live in
 * commit-planner.ts so that adapters only translate planned mutations into storage writes.
 */
import { AgentCaError } from '../errors.js';
import type { IssuerId, KeyUri, Serial, SignatureAlgorithm } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Revocation reasons (RFC 5280 §5.3.1 CRLReason). Code 7 is unused by the standard.

export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise';

export const REVOCATION_REASON_CODES: Readonly<Record<RevocationReason, number>> = Object.freeze({
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  // 7 is not used (RFC 5280 §5.3.1)
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
});

const reasonsByCode: ReadonlyMap<number, RevocationReason> = new Map(
  (Object.entries(REVOCATION_REASON_CODES) as [RevocationReason, number][]).map(([name, code]) => [code, name]),
);

export function isRevocationReason(s: unknown): s is RevocationReason {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(REVOCATION_REASON_CODES, s);
}

export function reasonCode(reason: RevocationReason): number {
  const code = REVOCATION_REASON_CODES[reason];
  if (code === undefined) throw new AgentCaError('INPUT_REASON_UNKNOWN', `unknown revocation reason ${String(reason)}`);
  return code;
}

export function reasonFromCode(code: number): RevocationReason {
  const reason = reasonsByCode.get(code);
  if (!reason)
    throw new AgentCaError('INPUT_REASON_UNKNOWN', `CRLReason code ${code} is not defined (RFC 5280 §5.3.1)`, { code });
  return reason;
}

// ---------------------------------------------------------------------------------------------
// Records

export interface CertificateRecord {
  serial: Serial;
  issuerId: IssuerId;
  der: Buffer;
  profile: string;
  subject: string;
  agentId?: string;
  tenant?: string;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
  keyUri?: KeyUri;
  renewalOf?: Serial;
  isCa: boolean;
}

/** A revocation as a full CRL lists it (RevocationPort.crlEntryBatches). */
export interface CrlRevocationEntry {
  serial: Serial;
  revokedAt: Date;
  reason: RevocationReason;
  invalidityDate?: Date;
  certificateNotAfter?: Date;
}

export interface RevocationRecord {
  serial: Serial;
  issuerId: IssuerId;
  revokedAt: Date;
  reason: RevocationReason;
  invalidityDate?: Date;
  actor: string;
  /** Seq of the latest StatusChange that touched this record; assigned by commit(). */
  changeSeq: number;
}

export type StatusChangeKind = 'revoked' | 'held' | 'released' | 'reason-changed';

/**
 * The status-change journal that delta CRLs are built from (RFC 5280 §5.2.4): every revoke,
 * hold, release (removeFromCRL) and reason change, with one global, gap-free, increasing seq.
 */
export interface StatusChange {
  seq: number;
  serial: Serial;
  issuerId: IssuerId;
  kind: StatusChangeKind;
  at: Date;
  /** Reason after the change; for 'released' the reason that was lifted (certificateHold). */
  reason: RevocationReason;
}

/** CertID hash of a pre-signed response: RFC 6960 §4.1.1 CertIDs differ per hash, so do responses. */
export type OcspCertIdHash = 'sha1' | 'sha256';

export interface OcspResponseRecord {
  issuerId: IssuerId;
  serial: Serial;
  hashAlgorithm: OcspCertIdHash;
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
}

export type CrlKind = 'full' | 'delta';

export interface CrlRecord {
  issuerId: IssuerId;
  number: bigint;
  kind: CrlKind;
  /** Delta CRLs: the CRLNumber of the full CRL they complete (DeltaCRLIndicator, RFC 5280 §5.2.4). */
  baseNumber?: bigint;
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
}

export interface AuditEntry {
  seq: number;
  time: Date;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  /** hex SHA-256 of the previous entry; 64 zeros for seq 1. */
  prevHash: string;
  /** hex SHA-256 over the canonical form of this entry (src/audit/entry-hash.ts). */
  hash: string;
}

export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: Date;
  signature: Buffer;
  algorithm: SignatureAlgorithm;
  keyUri: KeyUri;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

// ---------------------------------------------------------------------------------------------
// Writes: one discriminated union, committed all-or-nothing.

export type WriteOp =
  | { op: 'putCertificate'; record: CertificateRecord }
  | {
      op: 'putRevocation';
      /** changeSeq is assigned by commit(); any value given is ignored. */
      record: Omit<RevocationRecord, 'changeSeq'> & { changeSeq?: number };
      /** Time of the status change; defaults to record.revokedAt (set it for reason changes). */
      at?: Date;
    }
  | { op: 'deleteRevocation'; serial: Serial; issuerId: IssuerId; at: Date; actor: string }
  | {
      op: 'putOcspResponse';
      record: OcspResponseRecord;
      /**
       * Write only where no response is stored for (issuer, serial, hash) yet; otherwise this op
       * is dropped, not refused. A background backfill uses it so that it never replaces an
       * answer a status change wrote while the backfill was signing.
       */
      ifAbsent?: boolean;
    }
  | { op: 'putCrl'; record: CrlRecord }
  | { op: 'appendAudit'; entry: AuditEntry }
  | { op: 'putAuditCheckpoint'; checkpoint: AuditCheckpoint }
  | { op: 'putMeta'; key: string; value: unknown }
  | { op: 'deleteMeta'; key: string };

export interface CommitOptions {
  /**
   * fsync before returning. Defaults to true when the batch holds a revocation change, so an
   * acknowledged revocation survives a crash; bulk loaders may pass false explicitly.
   */
  sync?: boolean;
}

export interface CommitResult {
  /** The status changes this commit journaled, with their assigned seqs. */
  changes: StatusChange[];
}

// ---------------------------------------------------------------------------------------------
// Read ports

export interface CertificatePort {
  get(serial: Serial): Promise<CertificateRecord | undefined>;
  has(serial: Serial): Promise<boolean>;
  listByAgent(agentId: string): Promise<CertificateRecord[]>;
  listByTenant(tenant: string): Promise<CertificateRecord[]>;
  /** notAfter < before (and >= from if given), in notAfter order. */
  listExpiringBefore(before: Date, opts?: { from?: Date; limit?: number }): Promise<CertificateRecord[]>;
  /** Streams every certificate (optionally of one issuer) without loading them all. */
  iterate(opts?: { issuerId?: IssuerId }): AsyncIterable<CertificateRecord>;
  count(): Promise<number>;
}

export interface RevocationPort {
  get(serial: Serial): Promise<RevocationRecord | undefined>;
  iterate(opts: { issuerId: IssuerId }): AsyncIterable<RevocationRecord>;
  /**
   * Optional fast path for full CRLs: what a CRL entry needs of each revocation of one issuer,
   * in serial order, in batches; with `withNotAfter`, each certificate's notAfter (absent when
   * the store does not know the certificate) for expiry filtering without a lookup per entry.
   */
  crlEntryBatches?(opts: { issuerId: IssuerId; withNotAfter: boolean }): AsyncIterable<CrlRevocationEntry[]>;
  /** Changes with seq > afterSeq for one issuer, in seq order (streaming). */
  changesSince(issuerId: IssuerId, afterSeq: number): AsyncIterable<StatusChange>;
  /** Highest change seq handed out (all issuers); 0 when none. */
  lastChangeSeq(): Promise<number>;
}

export interface OcspResponsePort {
  get(issuerId: IssuerId, serial: Serial, hashAlgorithm?: OcspCertIdHash): Promise<OcspResponseRecord | undefined>;
  iterate(issuerId: IssuerId): AsyncIterable<OcspResponseRecord>;
  /** Responses whose nextUpdate < before, earliest first (the refresher's work list). */
  listDueBefore(before: Date, opts?: { limit?: number }): Promise<OcspResponseRecord[]>;
}

export interface CrlPort {
  latest(issuerId: IssuerId, kind: CrlKind): Promise<CrlRecord | undefined>;
  get(issuerId: IssuerId, number: bigint): Promise<CrlRecord | undefined>;
  /**
   * The next CRLNumber for this issuer: ONE monotonic sequence shared by full and delta CRLs
   * (RFC 5280 §5.2.3: "monotonically increasing"; §5.2.4 deltas share it). Persisted durably
   * before returning, never handed out twice, and always above any stored CRL's number.
   */
  nextCrlNumber(issuerId: IssuerId): Promise<bigint>;
  /** The highest number handed out or stored (0n when none), without handing one out. */
  counter(issuerId: IssuerId): Promise<bigint>;
  /** Every stored CRL of the issuer (full and delta), in number order (streaming). */
  iterate(issuerId: IssuerId): AsyncIterable<CrlRecord>;
}

export interface AuditRange {
  fromSeq?: number;
  toSeq?: number;
  fromTime?: Date;
  /** inclusive */
  toTime?: Date;
}

export interface AuditPort {
  head(): Promise<AuditHead | null>;
  get(seq: number): Promise<AuditEntry | undefined>;
  /** Seq order without time bounds; (time, seq) order when fromTime/toTime is given. */
  iterate(range?: AuditRange): AsyncIterable<AuditEntry>;
  iterateCheckpoints(range?: { fromSeq?: number; toSeq?: number }): AsyncIterable<AuditCheckpoint>;
  listCheckpoints(range?: { fromSeq?: number; toSeq?: number }): Promise<AuditCheckpoint[]>;
  latestCheckpoint(): Promise<AuditCheckpoint | undefined>;
}

export interface MetaPort {
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Shorthand for commit([{ op: 'putMeta', key, value }]). */
  put(key: string, value: unknown, opts?: CommitOptions): Promise<void>;
  /** Every key and value, in key order (copying a store: CA state, tokens, webhooks). */
  iterate(): AsyncIterable<{ key: string; value: unknown }>;
}

export interface Store {
  /** 'memory' | 'level' | 'postgres' */
  readonly kind: string;
  readonly certificates: CertificatePort;
  readonly revocations: RevocationPort;
  readonly ocspResponses: OcspResponsePort;
  readonly crls: CrlPort;
  readonly audit: AuditPort;
  readonly meta: MetaPort;
  /** Idempotent. */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * The one write path: all ops land together or none do. Commits are serialised, so checks
   * (serial collision, audit linkage, hold/release state) and writes are one critical section.
   */
  commit(batch: readonly WriteOp[], opts?: CommitOptions): Promise<CommitResult>;
}

/** True when a batch changes revocation status (and so must be fsynced by default). */
export function batchChangesStatus(batch: readonly WriteOp[]): boolean {
  return batch.some((op) => op.op === 'putRevocation' || op.op === 'deleteRevocation');
}
