/**
 * Record <-> stored JSON for the LevelDB adapter. Compact and inspectable: Buffers as base64,
 * Dates as epoch milliseconds (audit times as ISO, the form the hash covers), bigints as
 * decimal strings. Optional fields are left out rather than stored as null.
 */
import { entryJson } from '../audit-entry-json.js';
import { AgentCaError } from '../../errors.js';
import type { IssuerId, KeyUri, Serial, SignatureAlgorithm } from '../../types.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  CertificateRecord,
  CrlRecord,
  OcspResponseRecord,
  RevocationReason,
  RevocationRecord,
  StatusChange,
  StatusChangeKind,
} from '../ports.js';

type Json = Record<string, unknown>;
const b64 = (b: Buffer): string => b.toString('base64');
const buf = (s: unknown): Buffer => Buffer.from(s as string, 'base64');
const date = (v: unknown): Date => new Date(v as number | string);
const str = (v: unknown): string => v as string;
const opt = <T>(name: string, v: T | undefined): Json => (v === undefined ? {} : { [name]: v });

export function encodeCertificate(r: CertificateRecord): string {
  return JSON.stringify({
    serial: r.serial,
    issuerId: r.issuerId,
    der: b64(r.der),
    profile: r.profile,
    subject: r.subject,
    ...opt('agentId', r.agentId),
    ...opt('tenant', r.tenant),
    notBefore: r.notBefore.getTime(),
    notAfter: r.notAfter.getTime(),
    issuedAt: r.issuedAt.getTime(),
    ...opt('keyUri', r.keyUri),
    ...opt('renewalOf', r.renewalOf),
    isCa: r.isCa,
  });
}

export function decodeCertificate(s: string): CertificateRecord {
  const j = JSON.parse(s) as Json;
  return {
    serial: str(j.serial) as Serial,
    issuerId: str(j.issuerId) as IssuerId,
    der: buf(j.der),
    profile: str(j.profile),
    subject: str(j.subject),
    ...(j.agentId !== undefined ? { agentId: str(j.agentId) } : {}),
    ...(j.tenant !== undefined ? { tenant: str(j.tenant) } : {}),
    notBefore: date(j.notBefore),
    notAfter: date(j.notAfter),
    issuedAt: date(j.issuedAt),
    ...(j.keyUri !== undefined ? { keyUri: str(j.keyUri) as KeyUri } : {}),
    ...(j.renewalOf !== undefined ? { renewalOf: str(j.renewalOf) as Serial } : {}),
    isCa: j.isCa === true,
  };
}

export function encodeRevocation(r: RevocationRecord): string {
  return JSON.stringify({
    serial: r.serial,
    issuerId: r.issuerId,
    revokedAt: r.revokedAt.getTime(),
    reason: r.reason,
    ...opt('invalidityDate', r.invalidityDate?.getTime()),
    actor: r.actor,
    changeSeq: r.changeSeq,
  });
}

export function decodeRevocation(s: string): RevocationRecord {
  const j = JSON.parse(s) as Json;
  return {
    serial: str(j.serial) as Serial,
    issuerId: str(j.issuerId) as IssuerId,
    revokedAt: date(j.revokedAt),
    reason: str(j.reason) as RevocationReason,
    ...(j.invalidityDate !== undefined ? { invalidityDate: date(j.invalidityDate) } : {}),
    actor: str(j.actor),
    changeSeq: j.changeSeq as number,
  };
}

export function encodeChange(c: StatusChange): string {
  return JSON.stringify({
    seq: c.seq,
    serial: c.serial,
    issuerId: c.issuerId,
    kind: c.kind,
    at: c.at.getTime(),
    reason: c.reason,
  });
}

export function decodeChange(s: string): StatusChange {
  const j = JSON.parse(s) as Json;
  return {
    seq: j.seq as number,
    serial: str(j.serial) as Serial,
    issuerId: str(j.issuerId) as IssuerId,
    kind: str(j.kind) as StatusChangeKind,
    at: date(j.at),
    reason: str(j.reason) as RevocationReason,
  };
}

export function encodeOcsp(r: OcspResponseRecord): string {
  return JSON.stringify({
    issuerId: r.issuerId,
    serial: r.serial,
    hashAlgorithm: r.hashAlgorithm,
    der: b64(r.der),
    thisUpdate: r.thisUpdate.getTime(),
    nextUpdate: r.nextUpdate.getTime(),
  });
}

export function decodeOcsp(s: string): OcspResponseRecord {
  const j = JSON.parse(s) as Json;
  return {
    issuerId: str(j.issuerId) as IssuerId,
    serial: str(j.serial) as Serial,
    hashAlgorithm: j.hashAlgorithm === 'sha256' ? 'sha256' : 'sha1',
    der: buf(j.der),
    thisUpdate: date(j.thisUpdate),
    nextUpdate: date(j.nextUpdate),
  };
}

export function encodeCrl(r: CrlRecord): string {
  return JSON.stringify({
    issuerId: r.issuerId,
    number: r.number.toString(),
    kind: r.kind,
    ...opt('baseNumber', r.baseNumber?.toString()),
    der: b64(r.der),
    thisUpdate: r.thisUpdate.getTime(),
    nextUpdate: r.nextUpdate.getTime(),
  });
}

export function decodeCrl(s: string): CrlRecord {
  const j = JSON.parse(s) as Json;
  return {
    issuerId: str(j.issuerId) as IssuerId,
    number: BigInt(str(j.number)),
    kind: j.kind === 'delta' ? 'delta' : 'full',
    ...(j.baseNumber !== undefined ? { baseNumber: BigInt(str(j.baseNumber)) } : {}),
    der: buf(j.der),
    thisUpdate: date(j.thisUpdate),
    nextUpdate: date(j.nextUpdate),
  };
}

/** Audit entries keep the ISO time string the hash was computed over. */
export function encodeAuditEntry(e: AuditEntry): string {
  return JSON.stringify(entryJson(e));
}

export function decodeAuditEntry(s: string): AuditEntry {
  let j: Json;
  try {
    j = JSON.parse(s) as Json;
  } catch (e) {
    // A corrupt entry is evidence, not a crash: verify() reports it as the first bad seq.
    throw new AgentCaError('AUDIT_CHAIN_BROKEN', `stored audit entry is not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || typeof j.seq !== 'number')
    throw new AgentCaError('AUDIT_CHAIN_BROKEN', 'stored audit entry is not an entry object');
  return {
    seq: j.seq,
    time: date(j.time),
    actor: str(j.actor),
    action: str(j.action),
    subject: str(j.subject),
    details: (j.details ?? {}) as Record<string, unknown>,
    prevHash: str(j.prevHash),
    hash: str(j.hash),
  };
}

export function encodeCheckpoint(c: AuditCheckpoint): string {
  return JSON.stringify({
    seq: c.seq,
    hash: c.hash,
    time: c.time.toISOString(),
    signature: b64(c.signature),
    algorithm: c.algorithm,
    keyUri: c.keyUri,
  });
}

export function decodeCheckpoint(s: string): AuditCheckpoint {
  let j: Json;
  try {
    j = JSON.parse(s) as Json;
  } catch (e) {
    throw new AgentCaError('AUDIT_CHAIN_BROKEN', `stored audit checkpoint is not valid JSON (${(e as Error).message})`);
  }
  return {
    seq: j.seq as number,
    hash: str(j.hash),
    time: date(j.time),
    signature: buf(j.signature),
    algorithm: str(j.algorithm) as SignatureAlgorithm,
    keyUri: str(j.keyUri) as KeyUri,
  };
}
