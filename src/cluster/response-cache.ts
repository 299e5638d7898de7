/**
 * A worker's cache of the primary's answers (LevelDB `serve --workers N`): whole HTTP answers
 * (status 200, the caching headers, the body) keyed by the request, indexed by the serials
 * they are about, so the primary's invalidations drop exactly what a commit changed. Entries
 * also expire after a TTL (verify answers carry a time-dependent `checkedAt` and `expired`
 * state; CRLs and pre-signed OCSP responses are replaced by commits anyway), and the cache is
 * bounded (oldest inserted first out).
 *
 * The race between a miss being fetched and an invalidation is closed by generations: a
 * fetch started before an invalidation of one of its serials (or of its kind, or of
 * everything) arrived is served but not stored. Per serial, so that a steady stream of other
 * agents' issuances and revocations does not keep every miss out of the cache.
 */

const MAX_TRACKED_SERIALS = 100_000;

export type CachedKind = 'ocsp' | 'verify' | 'crl' | 'ca';

export interface CachedAnswer {
  kind: CachedKind;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** ms (performance.now) when fetched: the Age header and the TTL count from here. */
  fetchedAt: number;
  expiresAt: number;
  serials: readonly string[];
}

export class ResponseCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private readonly bySerial = new Map<string, Set<string>>();
  /** Bumped by every invalidation. */
  generation = 0;
  /** Generation of the last invalidation naming each serial (bounded: see invalidate). */
  private readonly serialGeneration = new Map<string, number>();
  private crlGeneration = 0;
  private allGeneration = 0;

  constructor(private readonly maxEntries = 100_000) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): CachedAnswer | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (now >= e.expiresAt) {
      this.delete(key);
      return undefined;
    }
    return e;
  }

  /**
   * Whether an answer about `serials` (of `kind`) fetched from generation `startedGeneration`
   * is still current: no invalidation of those serials, of its kind or of everything since.
   */
  current(kind: CachedKind, serials: readonly string[], startedGeneration: number): boolean {
    if (this.allGeneration > startedGeneration) return false;
    if (kind === 'crl' && this.crlGeneration > startedGeneration) return false;
    for (const s of serials) if ((this.serialGeneration.get(s) ?? 0) > startedGeneration) return false;
    return true;
  }

  /** Stores `answer` unless an invalidation happened since `startedGeneration`. */
  set(key: string, answer: CachedAnswer, startedGeneration: number): boolean {
    if (!this.current(answer.kind, answer.serials, startedGeneration)) return false;
    this.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    this.entries.set(key, answer);
    for (const s of answer.serials) {
      let keys = this.bySerial.get(s);
      if (!keys) this.bySerial.set(s, (keys = new Set()));
      keys.add(key);
    }
    return true;
  }

  invalidate(opts: { serials: readonly string[]; crls: boolean; all: boolean }): void {
    const gen = ++this.generation;
    if (opts.crls) this.crlGeneration = gen;
    // Only fetches in flight need these; past a bound, forget them and refuse every fetch in flight.
    if (this.serialGeneration.size + opts.serials.length > MAX_TRACKED_SERIALS) {
      this.serialGeneration.clear();
      this.allGeneration = gen;
    }
    for (const s of opts.serials) this.serialGeneration.set(s, gen);
    if (opts.all) {
      this.allGeneration = gen;
      this.entries.clear();
      this.bySerial.clear();
      return;
    }
    for (const s of opts.serials) {
      const keys = this.bySerial.get(s);
      if (!keys) continue;
      for (const k of [...keys]) this.delete(k);
    }
    if (opts.crls) for (const [k, e] of this.entries) if (e.kind === 'crl') this.delete(k);
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    for (const s of e.serials) {
      const keys = this.bySerial.get(s);
      keys?.delete(key);
      if (keys && keys.size === 0) this.bySerial.delete(s);
    }
  }
}
