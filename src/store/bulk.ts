/**
 * Helpers for bulk loads and benchmarks (scripts/bench): deterministic synthetic records and
 * a batched committer. Not used on any request path.
 */
import type { IssuerId, Serial } from '../types.js';
import type { CertificateRecord, CommitOptions, RevocationReason, Store, WriteOp } from './ports.js';

/** A deterministic 128-bit-looking serial; `salt` separates runs writing to one store. */
export function syntheticSerial(i: number, salt = 0): Serial {
  return `${(0x40 + (salt % 0x40)).toString(16)}${i.toString(16).padStart(30, '0')}` as Serial;
}

export interface SyntheticCertificateOptions {
  issuerId: IssuerId;
  /** issuedAt / notBefore; notAfter = now + validityDays */
  now: Date;
  validityDays?: number;
  salt?: number;
  agentId?: string;
  tenant?: string;
  /** Size of the fake DER blob (real agent certificates are ~1.2 KB with RSA-2048). */
  derBytes?: number;
}

export function syntheticCertificate(i: number, o: SyntheticCertificateOptions): CertificateRecord {
  const serial = syntheticSerial(i, o.salt);
  const der = Buffer.alloc(o.derBytes ?? 1200, i & 0xff);
  der[0] = 0x30;
  return {
    serial,
    issuerId: o.issuerId,
    der,
    profile: 'agent',
    subject: `CN=agent-${i},O=bench`,
    agentId: o.agentId ?? `agent-${i}`,
    ...(o.tenant !== undefined ? { tenant: o.tenant } : {}),
    notBefore: o.now,
    notAfter: new Date(o.now.getTime() + (o.validityDays ?? 90) * 86_400_000 + i),
    issuedAt: o.now,
    isCa: false,
  };
}

export function revocationOp(
  serial: Serial,
  issuerId: IssuerId,
  revokedAt: Date,
  opts: { reason?: RevocationReason; actor?: string } = {},
): WriteOp {
  return {
    op: 'putRevocation',
    record: { serial, issuerId, revokedAt, reason: opts.reason ?? 'keyCompromise', actor: opts.actor ?? 'bench' },
  };
}

/** Commits `ops` in batches of `batchSize` (one store.commit each); returns the counts. */
export async function commitInBatches(
  store: Store,
  ops: Iterable<WriteOp>,
  opts: CommitOptions & { batchSize?: number } = {},
): Promise<{ ops: number; commits: number }> {
  const size = Math.max(1, opts.batchSize ?? 1);
  const commitOpts: CommitOptions = opts.sync === undefined ? {} : { sync: opts.sync };
  let batch: WriteOp[] = [];
  let count = 0;
  let commits = 0;
  for (const op of ops) {
    batch.push(op);
    if (batch.length >= size) {
      await store.commit(batch, commitOpts);
      count += batch.length;
      commits++;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await store.commit(batch, commitOpts);
    count += batch.length;
    commits++;
  }
  return { ops: count, commits };
}
