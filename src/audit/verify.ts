/**
 * Chain verification, streaming (bounded memory): every entry's hash is recomputed, every link
 * to its predecessor checked, seqs must run without gaps, and every checkpoint in range must
 * carry a valid signature over the hash the entry at its seq actually has now.
 *
 * `firstBadSeq` means "entries from here on cannot be trusted":
 * - an altered, missing, reordered or forged entry: that entry's seq;
 * - a consistent rewrite (all later hashes recomputed) can only be seen at the next signed
 *   checkpoint, which cannot say which entry after the previous good checkpoint changed; so
 *   it names the seq just after the last checkpoint that still matches.
 * Rewriting or truncating the tail past the last stored checkpoint is not detectable from the
 * store alone: `against` takes a checkpoint kept elsewhere (GET /api/v1/audit/head), and the
 * log signs one at least every auditCheckpointIntervalMs (docs/hardening.md, D4).
 */
import { AgentCaError, isAgentCaError } from '../errors.js';
import type { AuditCheckpoint, AuditEntry, AuditHead, AuditPort } from '../store/ports.js';
import { checkpointSignatureValid } from './checkpoint.js';
import { entryHash, GENESIS_HASH } from './entry-hash.js';

export interface VerifyOptions {
  fromSeq?: number;
  toSeq?: number;
  /** SPKI DER of the checkpoint signing key. Required when a checkpoint is in range. */
  publicKeyInfo?: Uint8Array;
  /** When > 0, a checkpoint must exist at every multiple of this seq (deleting one is tampering). */
  requireCheckpointEvery?: number;
  /**
   * A checkpoint kept outside the store (e.g. fetched earlier from GET /api/v1/audit/head): the
   * log must still reach its seq with exactly its hash, so a rewrite or truncation of entries
   * after the last stored checkpoint is caught too.
   */
  against?: AuditCheckpoint;
  /**
   * Entries dated before this must be covered by a signed checkpoint (at or after their seq),
   * and none may be dated after `notAfter`: with a log that signs a checkpoint at most
   * auditCheckpointIntervalMs after each append, an uncovered old entry is a forged append
   * or a rewritten tail (docs/hardening.md, D4).
   */
  requireCoveredBefore?: Date;
  notAfter?: Date;
}

export type VerifyResult =
  | { ok: true; entries: number; checkpoints: number; head: AuditHead | null }
  | { ok: false; firstBadSeq: number; reason: string; checkpointSeq?: number };

export async function verifyAuditChain(audit: AuditPort, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const from = Math.max(opts.fromSeq ?? 1, 1);
  const every = opts.requireCheckpointEvery ?? 0;
  let expectedPrev = GENESIS_HASH;
  if (from > 1) {
    const prev = await audit.get(from - 1);
    if (!prev || prev.seq !== from - 1) return bad(from - 1, `entry ${from - 1} is missing`);
    if (entryHash(prev) !== prev.hash) return bad(from - 1, `entry ${from - 1} does not match its hash (altered)`);
    expectedPrev = prev.hash;
  }

  const cpIterable = audit.iterateCheckpoints({
    fromSeq: from,
    ...(opts.toSeq !== undefined ? { toSeq: opts.toSeq } : {}),
  });
  const cps = cpIterable[Symbol.asyncIterator]();
  let nextCp: AuditCheckpoint | undefined = (await cps.next()).value as AuditCheckpoint | undefined;
  const advanceCp = async (): Promise<void> => {
    nextCp = (await cps.next()).value as AuditCheckpoint | undefined;
  };
  const signatureOk = (cp: AuditCheckpoint): boolean => {
    if (!opts.publicKeyInfo)
      throw new AgentCaError(
        'INPUT_INVALID',
        `audit checkpoint ${cp.seq} found: pass the checkpoint key's publicKeyInfo to verify it`,
      );
    return checkpointSignatureValid(cp, opts.publicKeyInfo);
  };

  const against = opts.against;
  if (against && !signatureOk(against)) {
    throw new AgentCaError(
      'INPUT_INVALID',
      `the kept checkpoint at ${against.seq} does not verify under this CA's checkpoint key`,
    );
  }
  let lastGood = from - 1; // the last seq vouched for by a checkpoint (or the start of the range)
  let firstUncovered: { seq: number; time: Date } | undefined;
  let expectedSeq = from;
  let checkpoints = 0;
  let head: AuditHead | null = from > 1 ? { seq: from - 1, hash: expectedPrev } : null;
  const range = { fromSeq: from, ...(opts.toSeq !== undefined ? { toSeq: opts.toSeq } : {}) };
  const entries = audit.iterate(range)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let e: AuditEntry;
      try {
        const next = await entries.next();
        if (next.done) break;
        e = next.value;
        // An entry whose fields cannot even be hashed (e.g. time is not a time) is as altered
        // as one whose hash differs.
        entryHash(e);
      } catch (err) {
        await entries.return?.();
        if (isAgentCaError(err) && err.is('STORE_UNAVAILABLE')) throw err;
        return bad(
          expectedSeq,
          `entry ${expectedSeq} (or the one stored after entry ${expectedSeq - 1}) cannot be read: ${(err as Error)?.message ?? String(err)} (corrupt)`,
        );
      }
      if (e.seq !== expectedSeq) {
        return bad(
          expectedSeq,
          `expected entry ${expectedSeq}, found entry ${e.seq} in its place (entries missing or reordered)`,
        );
      }
      if (e.prevHash !== expectedPrev)
        return bad(e.seq, `entry ${e.seq} does not link to entry ${e.seq - 1} (prevHash mismatch)`);
      if (entryHash(e) !== e.hash) return bad(e.seq, `entry ${e.seq} does not match its hash (altered)`);

      if (against && against.seq === e.seq && against.hash !== e.hash) {
        return bad(
          lastGood + 1,
          `entry ${e.seq} differs from the kept checkpoint at ${e.seq}: entries after ${lastGood} were rewritten`,
          e.seq,
        );
      }
      while (nextCp && nextCp.seq < e.seq) await advanceCp(); // cannot happen with a sane store
      if (nextCp && nextCp.seq === e.seq) {
        const cp: AuditCheckpoint = nextCp;
        if (!signatureOk(cp)) {
          return bad(
            lastGood + 1,
            `checkpoint at ${cp.seq} has an invalid signature (forged or altered checkpoint)`,
            cp.seq,
          );
        }
        if (cp.hash !== e.hash) {
          return bad(
            lastGood + 1,
            `signed checkpoint at ${cp.seq} does not match entry ${cp.seq}: entries after ${lastGood} were rewritten`,
            cp.seq,
          );
        }
        lastGood = cp.seq;
        checkpoints++;
        await advanceCp();
      } else if (every > 0 && e.seq % every === 0) {
        return bad(lastGood + 1, `the checkpoint expected at ${e.seq} is missing`, e.seq);
      }
      expectedPrev = e.hash;
      if (opts.notAfter && e.time.getTime() > opts.notAfter.getTime())
        return bad(e.seq, `entry ${e.seq} is dated ${e.time.toISOString()}, in the future (forged)`);
      if (lastGood === e.seq) firstUncovered = undefined;
      else firstUncovered ??= { seq: e.seq, time: e.time };
      head = { seq: e.seq, hash: e.hash };
      expectedSeq++;
    }
    if (opts.toSeq !== undefined && expectedSeq <= opts.toSeq) {
      return bad(expectedSeq, `entries ${expectedSeq}..${opts.toSeq} are missing`);
    }
    if (against && against.seq >= expectedSeq && opts.toSeq === undefined) {
      return bad(
        expectedSeq,
        `the log ends at entry ${expectedSeq - 1} but the kept checkpoint names entry ${against.seq} (log truncated)`,
        against.seq,
      );
    }
    if (
      firstUncovered &&
      opts.requireCoveredBefore &&
      firstUncovered.time.getTime() < opts.requireCoveredBefore.getTime()
    ) {
      return bad(
        firstUncovered.seq,
        `entries ${firstUncovered.seq}..${expectedSeq - 1} are covered by no signed checkpoint although entry ${firstUncovered.seq} is dated ${firstUncovered.time.toISOString()} (forged append, or a rewritten tail)`,
      );
    }
    if (nextCp) {
      // A checkpoint beyond the last entry: the tail was cut off (or the checkpoint is forged).
      const cp: AuditCheckpoint = nextCp;
      return bad(
        signatureOk(cp) ? expectedSeq : lastGood + 1,
        `checkpoint at ${cp.seq} names an entry that is missing (log truncated after ${expectedSeq - 1})`,
        cp.seq,
      );
    }
  } finally {
    // An early verdict must still end both reads (a PostgreSQL stream holds a transaction open).
    await entries.return?.();
    await cps.return?.();
  }
  return { ok: true, entries: expectedSeq - from, checkpoints, head };
}

function bad(firstBadSeq: number, reason: string, checkpointSeq?: number): VerifyResult {
  return checkpointSeq === undefined
    ? { ok: false, firstBadSeq, reason }
    : { ok: false, firstBadSeq, reason, checkpointSeq };
}
