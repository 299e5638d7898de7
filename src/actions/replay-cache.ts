/**
 * Remembers envelope ids (jti, RFC 7519 §4.1.7) until they could no longer pass the age check
 * anyway, so that a captured envelope cannot be presented twice to the same verifier. In
 * memory and per process: several verifier replicas need a shared store behind the same shape.
 */
export interface ReplayGuard {
  /** True if `key` was new and is now recorded until `until`; false if it was seen before. */
  claim(key: string, until: Date, now: Date): boolean | Promise<boolean>;
}

export class MemoryReplayCache implements ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  claim(key: string, until: Date, now: Date): boolean {
    const t = now.getTime();
    const prev = this.seen.get(key);
    if (prev !== undefined && prev >= t) return false;
    if (this.seen.size >= this.maxEntries) this.sweep(t);
    // Still full of live entries: forget the oldest insertion rather than grow without bound.
    if (this.seen.size >= this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, until.getTime());
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(t: number): void {
    for (const [k, exp] of this.seen) if (exp < t) this.seen.delete(k);
  }
}
