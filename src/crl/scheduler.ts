/**
 * When CRLs are published: a full CRL every `fullEveryMs`, a delta every `deltaEveryMs`, and a
 * delta shortly after revocations (trailing debounce, bounded by `maxDelayMs` so a steady
 * stream of revocations cannot postpone it forever). Time comes from the injected Clock and
 * timers from an injected `SchedulerTimers`, so tests drive it without sleeping.
 *
 * The lead wires `revocationChanged(issuerId)` to the revocation hooks and `start()`/`stop()`
 * to the server lifecycle. Publications of one issuer run one after another.
 */
import type { Clock } from '../clock.js';
import { isAgentCaError } from '../errors.js';
import type { CrlKind, CrlRecord } from '../store/ports.js';
import type { IssuerId } from '../types.js';
import type { CrlPublisher } from './publisher.js';

export interface SchedulerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node timers, unref'd: a pending CRL publication alone does not keep the process alive. */
export const nodeTimers: SchedulerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface CrlSchedulerOptions {
  publisher: Pick<CrlPublisher, 'publishFull' | 'publishDelta' | 'latest'>;
  clock: Clock;
  issuers: readonly IssuerId[];
  /** Default 6 h. */
  fullEveryMs?: number;
  /** Default 15 min. */
  deltaEveryMs?: number;
  /** Quiet time after the last revocation before the delta is built (default 2 s). */
  debounceMs?: number;
  /** Longest wait after the first pending revocation (default 10 s). */
  maxDelayMs?: number;
  timers?: SchedulerTimers;
  /**
   * After a revocation, hold or release: publish a new *full* CRL (then a delta on it) instead
   * of only a delta. OpenSSL-based gateways (nginx ssl_crl, Apache SSLCARevocationFile) read no
   * delta CRLs, so while the full CRL is cheap to build the change must reach it
   * (docs/revocation-freshness.md). Default: never.
   */
  fullOnChange?: (issuerId: IssuerId) => boolean;
  onPublished?: (record: CrlRecord) => void;
  onError?: (error: unknown, context: { issuerId: IssuerId; kind: CrlKind }) => void;
}

interface IssuerState {
  full?: unknown;
  delta?: unknown;
  debounce?: unknown;
  debounceSince?: number;
  /** Tail of this issuer's publication chain. */
  running: Promise<void>;
}

export class CrlScheduler {
  private readonly o: Required<Omit<CrlSchedulerOptions, 'onPublished' | 'onError' | 'fullOnChange'>> &
    Pick<CrlSchedulerOptions, 'onPublished' | 'onError' | 'fullOnChange'>;
  private readonly state = new Map<IssuerId, IssuerState>();
  private started = false;
  private stopped = false;

  constructor(opts: CrlSchedulerOptions) {
    this.o = {
      ...opts,
      fullEveryMs: opts.fullEveryMs ?? 6 * 3_600_000,
      deltaEveryMs: opts.deltaEveryMs ?? 15 * 60_000,
      debounceMs: opts.debounceMs ?? 2_000,
      maxDelayMs: opts.maxDelayMs ?? 10_000,
      timers: opts.timers ?? nodeTimers,
    };
    for (const id of opts.issuers) this.state.set(id, { running: Promise.resolve() });
  }

  /** Publishes a full CRL now for issuers whose latest is missing or older than fullEveryMs, then arms the timers. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const now = this.o.clock.now().getTime();
    await Promise.all(
      [...this.state.keys()].map(async (id) => {
        const latest = await this.o.publisher.latest(id, 'full');
        const age = latest ? now - latest.thisUpdate.getTime() : Infinity;
        if (age >= this.o.fullEveryMs) await this.run(id, 'full');
        else this.arm(id, 'full', this.o.fullEveryMs - age);
        this.arm(id, 'delta', this.o.deltaEveryMs);
      }),
    );
  }

  /** A revocation, hold or release happened for this issuer: publish a delta (or a full CRL and a delta, see fullOnChange) soon. */
  revocationChanged(issuerId: IssuerId): void {
    const s = this.state.get(issuerId);
    if (!s || !this.started || this.stopped) return;
    const now = this.o.clock.now().getTime();
    if (s.debounce === undefined) s.debounceSince = now;
    else this.o.timers.clearTimeout(s.debounce);
    const wait = Math.max(0, Math.min(this.o.debounceMs, (s.debounceSince ?? now) + this.o.maxDelayMs - now));
    s.debounce = this.o.timers.setTimeout(() => {
      s.debounce = undefined;
      s.debounceSince = undefined;
      if (this.o.fullOnChange?.(issuerId)) void this.run(issuerId, 'full');
      void this.run(issuerId, 'delta');
    }, wait);
  }

  /** Publish now (also what the timers call). Errors go to onError, never reject. */
  run(issuerId: IssuerId, kind: CrlKind): Promise<void> {
    const s = this.state.get(issuerId);
    if (!s) return Promise.resolve();
    s.running = s.running.then(() => this.publish(issuerId, kind));
    return s.running;
  }

  /** Resolves when every publication started so far has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.state.values()].map((s) => s.running));
  }

  /** Clears every timer and waits for publications in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.state.values()) {
      for (const h of [s.full, s.delta, s.debounce]) if (h !== undefined) this.o.timers.clearTimeout(h);
      s.full = s.delta = s.debounce = undefined;
    }
    await this.idle();
  }

  private async publish(issuerId: IssuerId, kind: CrlKind): Promise<void> {
    if (this.stopped) return;
    let published: CrlRecord | undefined;
    let actual = kind;
    try {
      try {
        published =
          kind === 'full'
            ? await this.o.publisher.publishFull(issuerId)
            : await this.o.publisher.publishDelta(issuerId);
      } catch (e) {
        // No base yet (fresh CA, or its marker is gone): a full CRL covers the change too.
        if (kind !== 'delta' || !isAgentCaError(e) || !e.is('STORE_NOT_FOUND')) throw e;
        actual = 'full';
        published = await this.o.publisher.publishFull(issuerId);
      }
      this.o.onPublished?.(published);
    } catch (e) {
      this.o.onError?.(e, { issuerId, kind: actual });
    } finally {
      // Re-arm from now: the period counts from the last publication of that kind.
      this.arm(issuerId, actual, actual === 'full' ? this.o.fullEveryMs : this.o.deltaEveryMs);
    }
  }

  private arm(issuerId: IssuerId, kind: CrlKind, ms: number): void {
    const s = this.state.get(issuerId);
    if (!s || this.stopped) return;
    const prev = kind === 'full' ? s.full : s.delta;
    if (prev !== undefined) this.o.timers.clearTimeout(prev);
    const h = this.o.timers.setTimeout(
      () => {
        if (kind === 'full') s.full = undefined;
        else s.delta = undefined;
        void this.run(issuerId, kind);
      },
      Math.max(0, ms),
    );
    if (kind === 'full') s.full = h;
    else s.delta = h;
  }
}
