/**
 * Short-validity OCSP answers, signed on the first request in each window and shared after.
 *
 * With a 60 s validity, pre-signing every certificate every 30 s costs 2 x N / 30 signatures
 * a second whether or not anyone asks; signing on demand costs one signature per (serial,
 * CertID hash) that is actually asked about, per window. A window is half the validity
 * (`staleAt = thisUpdate + validity / 2`), so every answer served still has at least half its
 * validity left for the client's cache (RFC 5019 §6 leaves freshness to thisUpdate/nextUpdate).
 *
 * - Single flight: concurrent requests for the same (issuer, serial, hash) wait for one
 *   signature; a (serial, hash, window) is never signed twice by this process.
 * - invalidate() (a status change): the entry goes, and a signature already in flight that read
 *   the old status is neither cached nor joined by later requests.
 * - install(): the revoker's re-signed answer, so the revocation is served without a signature
 *   on the request path.
 * - Bounded: FIFO eviction at `maxEntries` (an evicted serial is simply signed again).
 * See docs/revocation-freshness.md for the sizing.
 */
export interface WindowedAnswer {
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
  /** End of the window: after this the answer is re-signed, not served. */
  staleAt: Date;
}

export type WindowSign = (thisUpdate: Date) => Promise<{ der: Buffer; nextUpdate: Date }>;

const key = (issuerId: string, serial: string, hash: string): string => `${issuerId}\u0000${serial}\u0000${hash}`;

interface InFlight {
  work: Promise<WindowedAnswer>;
  /** Set when the status changed while signing: the answer may carry the old status. */
  void: boolean;
}

export class WindowCache {
  private readonly entries = new Map<string, WindowedAnswer>();
  private readonly inflight = new Map<string, InFlight>();
  /** Signatures made by get() (the figure docs/revocation-freshness.md budgets). */
  signatures = 0;

  constructor(readonly maxEntries = 200_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** The answer for now, signing it (once, however many ask) when the window has passed. */
  async get(issuerId: string, serial: string, hash: string, now: Date, sign: WindowSign): Promise<WindowedAnswer> {
    const k = key(issuerId, serial, hash);
    const hit = this.entries.get(k);
    if (hit && hit.staleAt.getTime() > now.getTime() && hit.thisUpdate.getTime() <= now.getTime()) return hit;
    const pending = this.inflight.get(k);
    if (pending) return pending.work;
    const entry: InFlight = {
      void: false,
      work: (async () => {
        this.signatures++;
        const { der, nextUpdate } = await sign(now);
        return {
          der,
          thisUpdate: now,
          nextUpdate,
          staleAt: new Date(now.getTime() + (nextUpdate.getTime() - now.getTime()) / 2),
        };
      })(),
    };
    this.inflight.set(k, entry);
    try {
      const answer = await entry.work;
      if (!entry.void) this.put(k, answer);
      return answer;
    } finally {
      if (this.inflight.get(k) === entry) this.inflight.delete(k);
    }
  }

  /** An answer signed elsewhere (the revoker, after a status change committed). */
  install(issuerId: string, serial: string, hash: string, answer: WindowedAnswer): void {
    this.put(key(issuerId, serial, hash), answer);
  }

  /** The status of (issuer, serial) changed: forget its answers, for every hash. */
  invalidate(issuerId: string, serial: string, hashes: readonly string[]): void {
    for (const h of hashes) {
      const k = key(issuerId, serial, h);
      this.entries.delete(k);
      this.voidInFlight(k);
    }
  }

  /** Every answer is void (a CA's status changed, a responder rotated). */
  clear(): void {
    this.entries.clear();
    for (const k of [...this.inflight.keys()]) this.voidInFlight(k);
  }

  private voidInFlight(k: string): void {
    const p = this.inflight.get(k);
    if (!p) return;
    p.void = true;
    this.inflight.delete(k);
  }

  private put(k: string, answer: WindowedAnswer): void {
    this.entries.delete(k);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    if (this.maxEntries > 0) this.entries.set(k, answer);
  }
}
