/**
 * Entries of a complete (full) CRL: every current revocation of one issuer, streamed from
 * `revocations.iterate`, minus certificates that expired long enough ago.
 *
 * RFC 5280 §3.3: "An entry MUST NOT be removed from the CRL until it appears on one regularly
 * scheduled CRL issued beyond the revoked certificate's validity period." The caller passes
 * `dropExpiredBefore` = thisUpdate of the previous full CRL: an entry whose certificate's
 * notAfter is before that was already on a CRL issued after it expired, so it may go. Omit it
 * (keepExpired) to list every revocation.
 *
 * RevocationRecord carries no notAfter, so it is looked up per batch of records through a
 * `NotAfterLookup` (default: parallel `certificates.get` per batch); a certificate the store
 * does not know stays listed, since dropping a revocation on missing data would be unsafe.
 */
import { AgentCaError } from '../errors.js';
import type { CertificatePort, RevocationPort, RevocationRecord } from '../store/ports.js';
import type { IssuerId, Serial } from '../types.js';
import type { CrlEntryInput } from './entry-writer.js';
import { encodableInvalidityDate } from '../revocation/invalidity-date.js';

/** notAfter of each serial, in order; undefined when the certificate is unknown. */
export type NotAfterLookup = (serials: readonly Serial[]) => Promise<ReadonlyArray<Date | undefined>>;

/** Default lookup: one `certificates.get` per serial, a batch at a time, in parallel. */
export function certificateNotAfterLookup(certificates: Pick<CertificatePort, 'get'>): NotAfterLookup {
  return (serials) => Promise.all(serials.map(async (s) => (await certificates.get(s))?.notAfter));
}

export interface FullCrlStats {
  /** Revocation records read. */
  read: number;
  /** Entries yielded. */
  listed: number;
  /** Records left out because the certificate expired before `dropExpiredBefore`. */
  droppedExpired: number;
  /** Lookup calls made (batches). */
  lookups: number;
}

export interface FullCrlEntriesOptions {
  revocations: Pick<RevocationPort, 'iterate' | 'crlEntryBatches'>;
  issuerId: IssuerId;
  /** Leave out revocations of certificates whose notAfter < this. Absent: keep everything. */
  dropExpiredBefore?: Date;
  /**
   * With dropExpiredBefore: this lookup, or, when absent, the notAfter the store's
   * `crlEntryBatches` joins in (fullCrlEntryBatches only); one of the two is required.
   */
  notAfter?: NotAfterLookup;
  /** Records per lookup batch (default 512). */
  batchSize?: number;
  /** Filled in while iterating. */
  stats?: FullCrlStats;
}

export function newFullCrlStats(): FullCrlStats {
  return { read: 0, listed: 0, droppedExpired: 0, lookups: 0 };
}

export function entryFromRevocation(r: RevocationRecord): CrlEntryInput {
  const invalidityDate = encodableInvalidityDate(r.invalidityDate);
  return { serial: r.serial, revokedAt: r.revokedAt, reason: r.reason, ...(invalidityDate ? { invalidityDate } : {}) };
}

export async function* fullCrlEntries(opts: FullCrlEntriesOptions): AsyncGenerator<CrlEntryInput> {
  const stats = opts.stats ?? newFullCrlStats();
  const cutoff = opts.dropExpiredBefore?.getTime();
  const source = opts.revocations.iterate({ issuerId: opts.issuerId });
  if (cutoff === undefined) {
    for await (const r of source) {
      stats.read++;
      stats.listed++;
      yield entryFromRevocation(r);
    }
    return;
  }
  const lookup = opts.notAfter;
  if (!lookup) throw new AgentCaError('INPUT_INVALID', 'fullCrlEntries: dropExpiredBefore needs a notAfter lookup');
  const batchSize = Math.max(1, opts.batchSize ?? 512);
  let batch: RevocationRecord[] = [];
  const flush = async function* (records: RevocationRecord[]): AsyncGenerator<CrlEntryInput> {
    stats.lookups++;
    const notAfters = await lookup(records.map((r) => r.serial));
    for (let i = 0; i < records.length; i++) {
      const na = notAfters[i];
      if (na !== undefined && na.getTime() < cutoff) {
        stats.droppedExpired++;
        continue;
      }
      stats.listed++;
      yield entryFromRevocation(records[i]!);
    }
  };
  for await (const r of source) {
    stats.read++;
    batch.push(r);
    if (batch.length >= batchSize) {
      const full = batch;
      batch = [];
      yield* flush(full);
    }
  }
  if (batch.length > 0) yield* flush(batch);
}

/** Entries per batch when a store has no batch stream (the per-entry stream, grouped). */
const GROUP = 1024;

/**
 * The entries of fullCrlEntries in batches: from the store's `crlEntryBatches` when it has
 * one (PostgreSQL: binary COPY, notAfter joined in; no per-entry async step, no lookups), else
 * fullCrlEntries grouped. Same entries, same order, same stats.
 */
export async function* fullCrlEntryBatches(opts: FullCrlEntriesOptions): AsyncGenerator<CrlEntryInput[]> {
  const stats = opts.stats ?? newFullCrlStats();
  const cutoff = opts.dropExpiredBefore?.getTime();
  const batches = opts.revocations.crlEntryBatches;
  if (batches && (cutoff === undefined || opts.notAfter === undefined)) {
    const source = batches.call(opts.revocations, { issuerId: opts.issuerId, withNotAfter: cutoff !== undefined });
    for await (const batch of source) {
      const out: CrlEntryInput[] = [];
      for (const r of batch) {
        stats.read++;
        const na = r.certificateNotAfter;
        if (cutoff !== undefined && na !== undefined && na.getTime() < cutoff) {
          stats.droppedExpired++;
          continue;
        }
        stats.listed++;
        out.push(
          r.invalidityDate === undefined
            ? r
            : { serial: r.serial, revokedAt: r.revokedAt, reason: r.reason, ...invalidity(r.invalidityDate) },
        );
      }
      if (out.length > 0) yield out;
    }
    return;
  }
  let group: CrlEntryInput[] = [];
  for await (const e of fullCrlEntries({ ...opts, stats })) {
    group.push(e);
    if (group.length >= GROUP) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}

function invalidity(d: Date): { invalidityDate?: Date } {
  const ok = encodableInvalidityDate(d);
  return ok ? { invalidityDate: ok } : {};
}
