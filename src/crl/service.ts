/**
 * CRLs for an Authority: a full and a delta CRL per CA (the root's lists a revoked
 * intermediate), one CRLNumber sequence per CA, published on a schedule (full every 6 h, delta
 * every 5 min) and a delta within seconds of any status change (debounced). The latest bytes
 * are kept in memory for serving.
 *
 * Several processes on one PostgreSQL store: pass `leader`; only the leader signs CRLs, the
 * others run the same timers but read the leader's latest CRL from the store instead, and
 * `refresh()` (called on the store's change notices) keeps their copy current
 * (docs/storage-postgres.md).
 */
import type { Clock } from '../clock.js';
import type { IssuingCa } from '../profile/build-tbs.js';
import type { Signer } from '../signer/signer.js';
import type { CertificateStatus } from '../revocation/status.js';
import type { StatusPublisher } from '../revocation/revoker.js';
import type { CertificateRecord, CrlKind, CrlRecord, Store } from '../store/ports.js';
import { AgentCaError } from '../errors.js';
import { CA_NAMES, type CaName, type IssuerId } from '../types.js';
import { errorMessage, stderrLogger, type Logger } from '../logger.js';
import { CrlPublisher, crlIssuerFromCa } from './publisher.js';
import { CrlScheduler } from './scheduler.js';

export interface CrlServiceOptions {
  fullEveryMs?: number;
  deltaEveryMs?: number;
  debounceMs?: number;
  fullValidityMs?: number;
  deltaValidityMs?: number;
  keepExpired?: boolean;
  /** Among peers sharing a store: only while this reads true does this process sign CRLs. */
  leader?: { readonly isLeader: boolean };
  /**
   * A change publishes a new full CRL (within debounce..5 s) while the last full CRL of that
   * CA had at most this many entries; above it, only a delta. Default 100 000: built and signed
   * in about 0.4 s (npm run bench -- --only crl), under the 1 s that keeps a burst of
   * revocations from queueing full rebuilds. Negative: never (deltas only).
   */
  fullOnChangeMaxEntries?: number;
  /** Where publication failures are reported (default: stderr). */
  logger?: Logger;
}

/** A CRL that the last attempt failed to publish: an alarm until the next success of that kind. */
export interface CrlPublishProblem {
  issuerId: IssuerId;
  kind: CrlKind;
  error: string;
  since: Date;
}

export const FULL_ON_CHANGE_MAX_ENTRIES = 100_000;

/** The slice of an Authority the CRL service uses (an Authority satisfies it). */
export interface CrlAuthority {
  readonly store: Store;
  readonly clock: Clock;
  /** The CA as a CRL issuer: its name, key identifier, URLs and signer. */
  ca(name: CaName): { readonly issuing: IssuingCa; readonly signer: Signer };
  /** Registers the service to hear every status change after its commit. */
  addStatusPublisher(p: StatusPublisher): void;
}

export class CrlService implements StatusPublisher {
  readonly publisher: CrlPublisher;
  readonly scheduler: CrlScheduler;
  private readonly latestByKey = new Map<string, CrlRecord>();
  /** Entries of the last full CRL this process built, per CA (unknown after a start: the first change builds one). */
  private readonly fullEntries = new Map<string, number>();
  private readonly problems = new Map<string, CrlPublishProblem>();
  private readonly failureListeners = new Set<(p: CrlPublishProblem) => void>();

  constructor(authority: CrlAuthority, opts: CrlServiceOptions = {}) {
    const logger = opts.logger ?? stderrLogger;
    const issuers = Object.fromEntries(CA_NAMES.map((n) => [n, crlIssuerFromCa(authority.ca(n))]));
    this.publisher = new CrlPublisher({
      store: authority.store,
      clock: authority.clock,
      issuers,
      ...(opts.fullValidityMs !== undefined ? { fullValidityMs: opts.fullValidityMs } : {}),
      ...(opts.deltaValidityMs !== undefined ? { deltaValidityMs: opts.deltaValidityMs } : {}),
      ...(opts.keepExpired !== undefined ? { keepExpired: opts.keepExpired } : {}),
    });
    const leader = opts.leader;
    const maxEntries = opts.fullOnChangeMaxEntries ?? FULL_ON_CHANGE_MAX_ENTRIES;
    const publisher = this.publisher;
    const counting: Pick<CrlPublisher, 'publishFull' | 'publishDelta' | 'latest'> = {
      latest: (id, kind) => publisher.latest(id, kind),
      publishDelta: (id) => publisher.publishDelta(id),
      publishFull: async (id) => {
        const p = await publisher.publishFullDetailed(id);
        this.fullEntries.set(id, p.entryCount);
        return p.record;
      },
    };
    this.scheduler = new CrlScheduler({
      publisher: leader ? followerAware(counting, leader) : counting,
      fullOnChange: (id) => (this.fullEntries.get(id) ?? 0) <= maxEntries,
      clock: authority.clock,
      issuers: CA_NAMES.map((n) => n as IssuerId),
      fullEveryMs: opts.fullEveryMs ?? 6 * 3_600_000,
      deltaEveryMs: opts.deltaEveryMs ?? 5 * 60_000,
      debounceMs: opts.debounceMs ?? 1_000,
      maxDelayMs: 5_000,
      onPublished: (r) => {
        this.latestByKey.set(`${r.issuerId}|${r.kind}`, r);
        this.problems.delete(`${r.issuerId}|${r.kind}`);
      },
      // A CRL that cannot be built is an alarm, never a silent stop: logged, counted by every
      // listener (metrics), and reported by publishProblems() (/readyz) until one succeeds.
      onError: (e, ctx) => {
        // A follower with nothing from the leader yet has nothing to report.
        if (leader && !leader.isLeader) return;
        const key = `${ctx.issuerId}|${ctx.kind}`;
        const problem: CrlPublishProblem = {
          issuerId: ctx.issuerId,
          kind: ctx.kind,
          error: errorMessage(e),
          since: this.problems.get(key)?.since ?? authority.clock.now(),
        };
        this.problems.set(key, problem);
        logger.error(`publishing the ${ctx.kind} CRL of ${ctx.issuerId} failed`, { error: problem.error });
        for (const l of this.failureListeners) l(problem);
      },
    });
    authority.addStatusPublisher(this);
  }

  afterChange(cert: CertificateRecord, _status: CertificateStatus): void {
    this.scheduler.revocationChanged(cert.issuerId);
  }

  /** Publishes what is missing (full, then a delta on it) and arms the timers. */
  async start(): Promise<void> {
    await this.scheduler.start();
    for (const n of CA_NAMES) {
      const id = n as IssuerId;
      for (const kind of ['full', 'delta'] as const) {
        const r = await this.publisher.latest(id, kind);
        if (r) this.latestByKey.set(`${id}|${kind}`, r);
      }
      // Always a fresh delta at start: a process killed inside the debounce window never
      // published the delta for its last revocations, and the next scheduled one is minutes away.
      await this.scheduler.run(id, 'delta');
    }
  }

  /** CRLs whose latest publication attempt failed (empty when all is well). */
  publishProblems(): CrlPublishProblem[] {
    return [...this.problems.values()];
  }

  /** Called on every failed publication (the server counts them in its metrics). */
  onPublishFailure(listener: (p: CrlPublishProblem) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
  }

  /** Re-reads the latest CRL of a kind from the store (another process published it). */
  async refresh(issuerId: string, kind: CrlKind): Promise<void> {
    const r = await this.publisher.latest(issuerId as IssuerId, kind);
    if (r) this.latestByKey.set(`${issuerId}|${kind}`, r);
  }

  /** The newest CRL of a kind, from memory (published by this process) or the store. */
  async latest(issuerId: string, kind: CrlKind): Promise<CrlRecord | undefined> {
    const hit = this.latestByKey.get(`${issuerId}|${kind}`);
    if (hit) return hit;
    const r = await this.publisher.latest(issuerId as IssuerId, kind);
    if (r) this.latestByKey.set(`${issuerId}|${kind}`, r);
    return r;
  }
}

/** A follower does not sign: "publishing" hands back what the leader stored last. */
function followerAware(
  publisher: Pick<CrlPublisher, 'publishFull' | 'publishDelta' | 'latest'>,
  leader: { readonly isLeader: boolean },
): Pick<CrlPublisher, 'publishFull' | 'publishDelta' | 'latest'> {
  const stored = async (issuerId: IssuerId, kind: CrlKind): Promise<CrlRecord> => {
    const r = await publisher.latest(issuerId, kind);
    if (!r) throw new AgentCaError('STORE_NOT_FOUND', `no ${kind} CRL of ${issuerId} published yet by the leader`);
    return r;
  };
  return {
    latest: (issuerId, kind) => publisher.latest(issuerId, kind),
    publishFull: (issuerId) => (leader.isLeader ? publisher.publishFull(issuerId) : stored(issuerId, 'full')),
    publishDelta: (issuerId) => (leader.isLeader ? publisher.publishDelta(issuerId) : stored(issuerId, 'delta')),
  };
}
