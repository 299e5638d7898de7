/**
 * Keeps a background re-sign (the refresh pass, the re-sign after a responder rotation) from
 * replacing the answer a status change stored with an older one.
 *
 * The pass reads a certificate's status, signs, and writes; a revocation that commits between
 * the read and the write has stored its own (revoked) answer, which the pass's write would
 * replace with the "good" it read. So the pass watches the serials it works on, and before its
 * commit drops every one that a status change touched since it started watching, or that a
 * status change is still committing (opsFor seen, afterChange not yet): that change writes its
 * own answer, and a later pass finds the serial due again if it still is. A change whose
 * opsFor comes after the check commits after the pass's write (commits are applied in the
 * order they are asked for), so its answer is the one that stays.
 *
 * In flight: from the StatusPublisher's opsFor to its afterChange. Issuance calls opsFor but
 * never afterChange, and a refused commit never reaches afterChange either: an entry older
 * than `inFlightMs` is taken as finished (commits take milliseconds, not minutes).
 */
export class ChangeGuard {
  /** key -> when its change began (ms), oldest first. */
  private readonly inFlight = new Map<string, number>();
  /** Keys a pass is working on -> touched by a status change since the pass began watching. */
  private readonly watched = new Map<string, boolean>();

  constructor(private readonly inFlightMs = 60_000) {}

  /** A status change began signing its answers (StatusPublisher.opsFor). */
  begin(key: string, nowMs: number): void {
    this.prune(nowMs);
    this.inFlight.delete(key);
    this.inFlight.set(key, nowMs);
    if (this.watched.has(key)) this.watched.set(key, true);
  }

  /** The status change committed (StatusPublisher.afterChange). */
  end(key: string): void {
    this.inFlight.delete(key);
    if (this.watched.has(key)) this.watched.set(key, true);
  }

  /** A pass starts working on these keys: call before it reads their statuses. */
  watch(keys: Iterable<string>): void {
    for (const k of keys) this.watched.set(k, false);
  }

  /** Whether the pass may write its answer for `key` now (call synchronously before the commit). */
  mayWrite(key: string, nowMs: number): boolean {
    this.prune(nowMs);
    return this.watched.get(key) === false && !this.inFlight.has(key);
  }

  unwatch(keys: Iterable<string>): void {
    for (const k of keys) this.watched.delete(k);
  }

  /** Changes still counted as in flight (tests, metrics). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private prune(nowMs: number): void {
    for (const [k, since] of this.inFlight) {
      if (nowMs - since < this.inFlightMs) break;
      this.inFlight.delete(k);
    }
  }
}
