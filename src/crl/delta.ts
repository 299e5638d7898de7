/**
 * Entries of a delta CRL (RFC 5280 §5.2.4): what changed since the base (complete) CRL, from
 * the store's StatusChange journal.
 *
 * How we know what is on the base. When the publisher builds a full CRL it reads the journal
 * head before streaming the revocations (`fromSeq`) and again after the stream ends (`toSeq`),
 * and stores both beside the CRL (meta key `crlBaseMetaKey`, written in the same commit as
 * the CRL). Every change with seq <= fromSeq is reflected in the base; every change with seq >
 * toSeq is not; changes in (fromSeq, toSeq] raced with the stream and may or may not be.
 * (Usually fromSeq = toSeq.) The delta therefore reads changesSince(fromSeq) and, per serial:
 *
 *   - current record exists (revoked or held now)      -> entry with the current reason, dates
 *   - no record now (a hold was released), and the serial was possibly on the base
 *     (its first change in the window is 'released' or 'reason-changed', or it was put on
 *     hold at seq <= toSeq)                             -> removeFromCRL entry (§5.3.1)
 *   - no record now, and not on the base (held after toSeq, then released) -> nothing
 *
 * The current record, not the journal's last reason, decides the entry: a change that lands
 * after the journal was read is then reflected rather than contradicted. Listing a serial
 * that the base already shows with the same reason is harmless (§5.2.4 lets the delta repeat).
 * A delta is always built against the latest full CRL, so no other complete CRL with a number
 * between base and delta exists for a relying party to combine it with.
 */
import type { RevocationPort, StatusChangeKind } from '../store/ports.js';
import type { IssuerId, Serial } from '../types.js';
import type { CrlEntryInput } from './entry-writer.js';
import { entryFromRevocation } from './full.js';

/** Stored (as meta) beside each full CRL; see the file comment. */
export interface CrlBaseMarker {
  /** The full CRL's number, decimal (meta values are JSON). */
  number: string;
  /** Journal head read before the revocations were streamed. */
  fromSeq: number;
  /** Journal head read after the stream ended. */
  toSeq: number;
}

export function crlBaseMetaKey(issuerId: IssuerId | string, number: bigint): string {
  return `crl-base:${issuerId}:${number}`;
}

export interface DeltaStats {
  /** Journal changes read. */
  changes: number;
  /** Entries with a current reason (revoked, held, reason changed). */
  listed: number;
  /** removeFromCRL entries (holds released since the base). */
  removed: number;
  /** Serials held and released inside the window that were never on the base. */
  omitted: number;
}

export interface DeltaEntriesOptions {
  revocations: Pick<RevocationPort, 'changesSince' | 'get'>;
  issuerId: IssuerId;
  base: Pick<CrlBaseMarker, 'fromSeq' | 'toSeq'>;
  /** Parallel record lookups per batch (default 256). */
  batchSize?: number;
}

interface SerialChanges {
  serial: Serial;
  firstKind: StatusChangeKind;
  firstSeq: number;
  /** Time of the latest change: the removeFromCRL entry's date. */
  lastAt: Date;
}

export async function computeDeltaEntries(
  opts: DeltaEntriesOptions,
): Promise<{ entries: CrlEntryInput[]; stats: DeltaStats }> {
  const { fromSeq, toSeq } = opts.base;
  const stats: DeltaStats = { changes: 0, listed: 0, removed: 0, omitted: 0 };
  // Map preserves insertion order: entries come out in journal order of each serial's first change.
  const touched = new Map<Serial, SerialChanges>();
  for await (const c of opts.revocations.changesSince(opts.issuerId, fromSeq)) {
    stats.changes++;
    const seen = touched.get(c.serial);
    if (seen) seen.lastAt = c.at;
    else touched.set(c.serial, { serial: c.serial, firstKind: c.kind, firstSeq: c.seq, lastAt: c.at });
  }

  const entries: CrlEntryInput[] = [];
  const all = [...touched.values()];
  const batchSize = Math.max(1, opts.batchSize ?? 256);
  for (let i = 0; i < all.length; i += batchSize) {
    const batch = all.slice(i, i + batchSize);
    const records = await Promise.all(batch.map((t) => opts.revocations.get(t.serial)));
    batch.forEach((t, j) => {
      const record = records[j];
      if (record && record.issuerId === opts.issuerId) {
        stats.listed++;
        entries.push(entryFromRevocation(record));
      } else if (possiblyOnBase(t, toSeq)) {
        stats.removed++;
        entries.push({ serial: t.serial, revokedAt: t.lastAt, reason: 'removeFromCRL' });
      } else {
        stats.omitted++;
      }
    });
  }
  return { entries, stats };
}

/**
 * Was this serial (now without a revocation record) possibly listed on the base? Only holds
 * can lose their record, so the question is whether it was held when the base was streamed.
 */
function possiblyOnBase(t: SerialChanges, toSeq: number): boolean {
  // 'released' / 'reason-changed' first: the record existed before the window, so on the base.
  // 'held' first: on the base only if the hold may have been seen by the stream (seq <= toSeq).
  // 'revoked' first with no record now cannot happen (revocation is permanent, §3.3), but if
  // it did, claiming removal is the safe side for a certificate that is no longer revoked.
  return t.firstKind !== 'held' || t.firstSeq <= toSeq;
}
