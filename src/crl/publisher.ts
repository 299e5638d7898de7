/**
 * CrlPublisher: numbers, builds, signs and stores full and delta CRLs for an issuer.
 *
 * - One CRLNumber sequence per issuer shared by full and delta CRLs (RFC 5280 §5.2.3, §5.2.4),
 *   taken from `store.crls.nextCrlNumber` (durable, never handed out twice).
 * - A full CRL is stored together with its base marker (delta.ts), in one commit, so a delta
 *   can tell what the base holds.
 * - A delta is always built against the latest full CRL (DeltaCRLIndicator = its number).
 * - Publications of one issuer are serialised in-process, so a delta never overtakes the full
 *   CRL being built; across processes the shared number sequence keeps numbers unique.
 *
 * No HTTP and no timers here: scheduler.ts drives this, the HTTP layer serves `latest()`.
 */
import type { IssuingCa } from '../profile/build-tbs.js';
import type { Signer } from '../signer/signer.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import type { CrlKind, CrlRecord, Store, WriteOp } from '../store/ports.js';
import type { IssuerId } from '../types.js';
import { buildCrlDetailed, type CrlIssuer, type IssuingDistributionPointSpec } from './crl-builder.js';
import { computeDeltaEntries, crlBaseMetaKey, type CrlBaseMarker, type DeltaStats } from './delta.js';
import {
  certificateNotAfterLookup,
  fullCrlEntryBatches,
  newFullCrlStats,
  type FullCrlStats,
  type NotAfterLookup,
} from './full.js';

export interface CrlIssuerProfile extends CrlIssuer {
  /** Written as Freshest CRL into full CRLs (RFC 5280 §5.2.6); no Freshest CRL when absent. */
  deltaCrlUrl?: string;
  /** Same IssuingDistributionPoint on full and delta CRLs (§5.2.4 requires them to match). */
  idp?: IssuingDistributionPointSpec;
}

/** The CRL-signing view of an authority's CA (`authority.ca('intermediate')`). */
export function crlIssuerFromCa(ca: { readonly issuing: IssuingCa; readonly signer: Signer }): CrlIssuerProfile {
  return {
    nameDer: ca.issuing.subject.der,
    keyId: ca.issuing.keyId,
    signer: ca.signer,
    deltaCrlUrl: ca.issuing.urls.deltaCrl,
  };
}

export interface CrlPublisherOptions {
  store: Store;
  clock: Clock;
  issuers: ReadonlyMap<string, CrlIssuerProfile> | Readonly<Record<string, CrlIssuerProfile>>;
  /** nextUpdate - thisUpdate of full CRLs (default 24 h). */
  fullValidityMs?: number;
  /** nextUpdate - thisUpdate of delta CRLs (default 1 h). */
  deltaValidityMs?: number;
  /** List revocations of expired certificates forever (default false: RFC 5280 §3.3 removal). */
  keepExpired?: boolean;
  /** notAfter source for expiry filtering (default: store.certificates.get, batched). */
  notAfter?: NotAfterLookup;
}

export interface PublishedCrl {
  record: CrlRecord;
  entryCount: number;
  stats: FullCrlStats | DeltaStats;
}

const HOUR = 3_600_000;

/** Meta record of an issuer's latest full CRL (what the next full CRL needs of it). */
interface LatestFullMeta {
  number: string;
  thisUpdate: string;
}

export function latestFullMetaKey(issuerId: IssuerId): string {
  return `crl-latest-full:${issuerId}`;
}

export class CrlPublisher {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly issuers: ReadonlyMap<string, CrlIssuerProfile>;
  private readonly fullValidityMs: number;
  private readonly deltaValidityMs: number;
  private readonly keepExpired: boolean;
  /** undefined: the notAfter the store's revocations.crlEntryBatches joins in. */
  private readonly notAfter: NotAfterLookup | undefined;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(opts: CrlPublisherOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.issuers = opts.issuers instanceof Map ? opts.issuers : new Map(Object.entries(opts.issuers));
    this.fullValidityMs = positive(opts.fullValidityMs ?? 24 * HOUR, 'fullValidityMs');
    this.deltaValidityMs = positive(opts.deltaValidityMs ?? HOUR, 'deltaValidityMs');
    this.keepExpired = opts.keepExpired ?? false;
    this.notAfter =
      opts.notAfter ??
      (opts.store.revocations.crlEntryBatches ? undefined : certificateNotAfterLookup(opts.store.certificates));
  }

  async publishFull(issuerId: IssuerId): Promise<CrlRecord> {
    return (await this.publishFullDetailed(issuerId)).record;
  }

  async publishDelta(issuerId: IssuerId): Promise<CrlRecord> {
    return (await this.publishDeltaDetailed(issuerId)).record;
  }

  latest(issuerId: IssuerId, kind: CrlKind): Promise<CrlRecord | undefined> {
    return this.store.crls.latest(issuerId, kind);
  }

  latestFull(issuerId: IssuerId): Promise<CrlRecord | undefined> {
    return this.latest(issuerId, 'full');
  }

  latestDelta(issuerId: IssuerId): Promise<CrlRecord | undefined> {
    return this.latest(issuerId, 'delta');
  }

  publishFullDetailed(issuerId: IssuerId): Promise<PublishedCrl> {
    return this.serialised(issuerId, async () => {
      const issuer = this.issuer(issuerId);
      const thisUpdate = this.clock.now();
      // The previous full CRL's number and thisUpdate, kept beside it: reading its bytes (tens of
      // MiB for a million entries) only for these two fields doubled the peak memory.
      const previous = await this.previousFull(issuerId);
      const number = await this.store.crls.nextCrlNumber(issuerId);
      // §3.3: an entry may leave once it was on a CRL issued after the certificate expired;
      // the previous full CRL is that CRL for everything that expired before its thisUpdate.
      const dropExpiredBefore = this.keepExpired
        ? undefined
        : new Date(Math.min(previous?.thisUpdate.getTime() ?? thisUpdate.getTime(), thisUpdate.getTime()));
      const nextUpdate = new Date(thisUpdate.getTime() + this.fullValidityMs);
      const stats = newFullCrlStats();
      const fromSeq = await this.store.revocations.lastChangeSeq();
      const built = await buildCrlDetailed({
        issuer,
        number,
        thisUpdate,
        nextUpdate,
        entries: fullCrlEntryBatches({
          revocations: this.store.revocations,
          issuerId,
          ...(dropExpiredBefore ? { dropExpiredBefore, ...(this.notAfter ? { notAfter: this.notAfter } : {}) } : {}),
          stats,
        }),
        ...(issuer.deltaCrlUrl !== undefined ? { freshestUrl: issuer.deltaCrlUrl } : {}),
        ...(issuer.idp ? { idp: issuer.idp } : {}),
      });
      const toSeq = await this.store.revocations.lastChangeSeq();
      const record: CrlRecord = { issuerId, number, kind: 'full', der: built.der, thisUpdate, nextUpdate };
      const marker: CrlBaseMarker = { number: number.toString(), fromSeq, toSeq };
      const ops: WriteOp[] = [
        { op: 'putCrl', record },
        { op: 'putMeta', key: crlBaseMetaKey(issuerId, number), value: marker },
        {
          op: 'putMeta',
          key: latestFullMetaKey(issuerId),
          value: { number: number.toString(), thisUpdate: thisUpdate.toISOString() } satisfies LatestFullMeta,
        },
      ];
      // Deltas are only ever built against the latest full CRL: older markers are dead weight.
      if (previous && previous.number < number)
        ops.push({ op: 'deleteMeta', key: crlBaseMetaKey(issuerId, previous.number) });
      await this.store.commit(ops);
      return { record, entryCount: built.entryCount, stats };
    });
  }

  publishDeltaDetailed(issuerId: IssuerId): Promise<PublishedCrl> {
    return this.serialised(issuerId, async () => {
      const issuer = this.issuer(issuerId);
      const base = await this.store.crls.latest(issuerId, 'full');
      if (!base) {
        throw new AgentCaError(
          'STORE_NOT_FOUND',
          `no full CRL for issuer ${issuerId} yet: a delta CRL needs a base (RFC 5280 §5.2.4)`,
          { issuerId },
        );
      }
      const marker = await this.store.meta.get<CrlBaseMarker>(crlBaseMetaKey(issuerId, base.number));
      if (!marker || typeof marker.fromSeq !== 'number' || typeof marker.toSeq !== 'number') {
        throw new AgentCaError(
          'STORE_NOT_FOUND',
          `full CRL ${base.number} of issuer ${issuerId} has no base marker: publish a full CRL first`,
          {
            issuerId,
            baseNumber: base.number.toString(),
          },
        );
      }
      const thisUpdate = this.clock.now();
      const number = await this.store.crls.nextCrlNumber(issuerId);
      const { entries, stats } = await computeDeltaEntries({
        revocations: this.store.revocations,
        issuerId,
        base: marker,
      });
      const nextUpdate = new Date(thisUpdate.getTime() + this.deltaValidityMs);
      const built = await buildCrlDetailed({
        issuer,
        number,
        thisUpdate,
        nextUpdate,
        entries,
        delta: { baseNumber: base.number },
        ...(issuer.idp ? { idp: issuer.idp } : {}),
      });
      const record: CrlRecord = {
        issuerId,
        number,
        kind: 'delta',
        baseNumber: base.number,
        der: built.der,
        thisUpdate,
        nextUpdate,
      };
      await this.store.commit([{ op: 'putCrl', record }]);
      return { record, entryCount: built.entryCount, stats };
    });
  }

  /**
   * Number and thisUpdate of the latest full CRL: from its meta record, or (CRLs stored before
   * that record existed, or by other code) from the CRL itself. A stale record is safe: an
   * older thisUpdate only keeps more expired entries listed (RFC 5280 §3.3 allows, never
   * requires, their removal).
   */
  private async previousFull(issuerId: IssuerId): Promise<{ number: bigint; thisUpdate: Date } | undefined> {
    const m = await this.store.meta.get<LatestFullMeta>(latestFullMetaKey(issuerId));
    if (m && typeof m.number === 'string' && typeof m.thisUpdate === 'string') {
      const thisUpdate = new Date(m.thisUpdate);
      if (/^[0-9]+$/.test(m.number) && !Number.isNaN(thisUpdate.getTime()))
        return { number: BigInt(m.number), thisUpdate };
    }
    const full = await this.store.crls.latest(issuerId, 'full');
    return full && { number: full.number, thisUpdate: full.thisUpdate };
  }

  private issuer(issuerId: IssuerId): CrlIssuerProfile {
    const issuer = this.issuers.get(issuerId);
    if (!issuer)
      throw new AgentCaError(
        'INPUT_INVALID',
        `no CRL issuer ${JSON.stringify(issuerId)} (known: ${[...this.issuers.keys()].join(', ')})`,
        { issuerId },
      );
    return issuer;
  }

  /** Runs `fn` after every earlier publication of the same issuer has settled. */
  private serialised<T>(issuerId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(issuerId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(issuerId, settled);
    void settled.then(() => {
      if (this.queues.get(issuerId) === settled) this.queues.delete(issuerId);
    });
    return run;
  }
}

function positive(ms: number, name: string): number {
  if (!Number.isFinite(ms) || ms <= 0)
    throw new AgentCaError('CONFIG_INVALID', `CRL publisher ${name} must be a positive number of milliseconds`, {
      field: name,
    });
  return ms;
}
