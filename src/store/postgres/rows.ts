/**
 * Row <-> record for the PostgreSQL adapter. The driver returns timestamptz as Date, bytea as
 * Buffer, and bigint/numeric as strings (which we turn into numbers for seqs and bigints for
 * CRL numbers). NULL columns become absent optional fields, as in the other adapters.
 */
import type { IssuerId, KeyUri, Serial, SignatureAlgorithm } from '../../types.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  CertificateRecord,
  CrlKind,
  CrlRecord,
  OcspCertIdHash,
  OcspResponseRecord,
  RevocationReason,
  RevocationRecord,
  StatusChange,
  StatusChangeKind,
} from '../ports.js';

export type Row = Record<string, unknown>;

const s = (v: unknown): string => v as string;
/** timestamptz as the driver's Date, or as epoch milliseconds (the fast path: see REVOCATION_COLUMNS). */
const d = (v: unknown): Date => (v instanceof Date ? new Date(v) : new Date(Number(v)));
const n = (v: unknown): number => Number(v);
const opt = <K extends string, T>(name: K, v: unknown, f: (x: unknown) => T): { [P in K]?: T } =>
  (v === null || v === undefined ? {} : { [name]: f(v) }) as { [P in K]?: T };

export const CERT_COLUMNS =
  'serial, issuer_id, der, profile, subject, agent_id, tenant, not_before, not_after, issued_at, key_uri, renewal_of, is_ca';

export function certificateFromRow(r: Row): CertificateRecord {
  return {
    serial: s(r.serial) as Serial,
    issuerId: s(r.issuer_id) as IssuerId,
    der: r.der as Buffer,
    profile: s(r.profile),
    subject: s(r.subject),
    ...opt('agentId', r.agent_id, s),
    ...opt('tenant', r.tenant, s),
    notBefore: d(r.not_before),
    notAfter: d(r.not_after),
    issuedAt: d(r.issued_at),
    ...opt('keyUri', r.key_uri, (v) => s(v) as KeyUri),
    ...opt('renewalOf', r.renewal_of, (v) => s(v) as Serial),
    isCa: r.is_ca as boolean,
  };
}

/**
 * Revocation columns for streams (CRL builds read every revocation of an issuer): times as
 * epoch milliseconds, which the driver hands over as a number string, instead of timestamptz
 * text that it parses into a Date field by field (the larger part of a 1,000,000-row stream).
 */
const ms = (c: string): string => `(extract(epoch from ${c}) * 1000)::float8 as ${c}`;
export const REVOCATION_COLUMNS = `serial, issuer_id, ${ms('revoked_at')}, reason, ${ms('invalidity_date')}, actor, change_seq`;

/** The same columns for binary COPY (copy-binary.ts), table alias `r`: timestamptz and int8 as sent. */
export const REVOCATION_COPY_COLUMNS =
  'r.serial, r.issuer_id, r.revoked_at, r.reason, r.invalidity_date, r.actor, r.change_seq';

export function revocationFromRow(r: Row): RevocationRecord {
  return {
    serial: s(r.serial) as Serial,
    issuerId: s(r.issuer_id) as IssuerId,
    revokedAt: d(r.revoked_at),
    reason: s(r.reason) as RevocationReason,
    ...opt('invalidityDate', r.invalidity_date, d),
    actor: s(r.actor),
    changeSeq: n(r.change_seq),
  };
}

export function changeFromRow(r: Row): StatusChange {
  return {
    seq: n(r.seq),
    serial: s(r.serial) as Serial,
    issuerId: s(r.issuer_id) as IssuerId,
    kind: s(r.kind) as StatusChangeKind,
    at: d(r.at),
    reason: s(r.reason) as RevocationReason,
  };
}

export function ocspFromRow(r: Row): OcspResponseRecord {
  return {
    issuerId: s(r.issuer_id) as IssuerId,
    serial: s(r.serial) as Serial,
    hashAlgorithm: s(r.hash_algorithm) as OcspCertIdHash,
    der: r.der as Buffer,
    thisUpdate: d(r.this_update),
    nextUpdate: d(r.next_update),
  };
}

export function crlFromRow(r: Row): CrlRecord {
  return {
    issuerId: s(r.issuer_id) as IssuerId,
    number: BigInt(s(r.number)),
    kind: s(r.kind) as CrlKind,
    ...opt('baseNumber', r.base_number, (v) => BigInt(s(v))),
    der: r.der as Buffer,
    thisUpdate: d(r.this_update),
    nextUpdate: d(r.next_update),
  };
}

export function auditFromRow(r: Row): AuditEntry {
  return {
    seq: n(r.seq),
    time: d(r.time),
    actor: s(r.actor),
    action: s(r.action),
    subject: s(r.subject),
    details: JSON.parse(s(r.details)) as Record<string, unknown>,
    prevHash: s(r.prev_hash),
    hash: s(r.hash),
  };
}

export function checkpointFromRow(r: Row): AuditCheckpoint {
  return {
    seq: n(r.seq),
    hash: s(r.hash),
    time: d(r.time),
    signature: r.signature as Buffer,
    algorithm: s(r.algorithm) as SignatureAlgorithm,
    keyUri: s(r.key_uri) as KeyUri,
  };
}
