/**
 * Answers by request bytes, so a repeated nonce-free request (the RFC 5019 common case: every
 * relying party asks the same question) skips parsing and the store. Entries live at most
 * `ttlMs` and never past nextUpdate; invalidate() drops every entry about a serial, which the
 * revoker calls so an in-process revocation shows at once. `ttlMs` bounds how late a
 * revocation made by another process (shared PostgreSQL) is seen. Eviction is FIFO: cheap,
 * and the hot requests are simply re-inserted.
 */
export interface CacheEntry<T> {
  value: T;
  expiresAt: number;
  /** `${issuerId}\0${serial}` of every CertID the answer covers. */
  serialKeys: readonly string[];
}

export const serialKey = (issuerId: string, serial: string): string => `${issuerId}\u0000${serial}`;

export class ResponseCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  private readonly bySerial = new Map<string, Set<string>>();

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, nowMs: number): T | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= nowMs) {
      this.delete(key, e);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: T, nowMs: number, notAfterMs: number, serialKeys: readonly string[]): void {
    const expiresAt = Math.min(nowMs + this.ttlMs, notAfterMs);
    if (expiresAt <= nowMs || this.maxEntries <= 0) return;
    const old = this.entries.get(key);
    if (old) this.delete(key, old);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value, this.entries.get(oldest.value)!);
    }
    this.entries.set(key, { value, expiresAt, serialKeys });
    for (const s of serialKeys) {
      let keys = this.bySerial.get(s);
      if (!keys) this.bySerial.set(s, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Forget every answer that covers this serial (its status changed). */
  invalidate(issuerId: string, serial: string): number {
    const keys = this.bySerial.get(serialKey(issuerId, serial));
    if (!keys) return 0;
    let n = 0;
    for (const k of [...keys]) {
      const e = this.entries.get(k);
      if (e) {
        this.delete(k, e);
        n++;
      }
    }
    this.bySerial.delete(serialKey(issuerId, serial));
    return n;
  }

  clear(): void {
    this.entries.clear();
    this.bySerial.clear();
  }

  private delete(key: string, e: CacheEntry<T>): void {
    this.entries.delete(key);
    for (const s of e.serialKeys) {
      const keys = this.bySerial.get(s);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.bySerial.delete(s);
    }
  }
}
