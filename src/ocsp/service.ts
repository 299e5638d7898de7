/**
 * OCSP for an Authority. Each certificate's answers are valid for its profile's
 * `ocspValiditySeconds` (RFC 6960 §4.2.2.1 nextUpdate), in one of two regimes
 * (docs/revocation-freshness.md):
 *
 * - long validity (CA and responder statuses, any profile above `refreshAheadMs`): pre-signed
 *   on issue and in the same commit as a status change, re-signed by a background pass before
 *   nextUpdate;
 * - short validity (agents: 60 s, so a cache that keeps an answer until nextUpdate still honours
 *   the revocation promise): signed on the first request of each window and shared
 *   (window-cache.ts); a status change signs the new answer before the commit and installs it
 *   before revoke() returns. Nothing is pre-signed for them: at 1M agents that would be 66k
 *   signatures a second whether or not anyone asks.
 *
 * The request path parses, looks up bytes, signs at most once per (serial, hash, window), and
 * signs live for nonces under a cap.
 */
import type { ParsedCertificate } from '../asn1/certificate-parse.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import type { CertificateStatus, StatusReader } from '../revocation/status.js';
import type { StatusPublisher } from '../revocation/revoker.js';
import type { Signer } from '../signer/signer.js';
import type { CertificateRecord, OcspCertIdHash, Store, WriteOp } from '../store/ports.js';
import { CA_NAMES, type CaName, type IssuerId, type Serial } from '../types.js';
import { IssuerIndex } from './issuer-index.js';
import { createLiveSource } from './live-source.js';
import { createPrecomputedSource } from './precomputed-source.js';
import { presignForSerial } from './presign.js';
import { responderIdentity, type ResponderIdentity } from './responder-identity.js';
import { OcspResponder } from './responder.js';
import { certStatusFrom } from './status-map.js';
import type { CertStatus } from './types.js';
import { WindowCache, type WindowedAnswer } from './window-cache.js';
import { ChangeGuard } from './change-guard.js';
import { errorResponse } from './response.js';
import { errorMessage, stderrLogger, type Logger } from '../logger.js';

export interface OcspServiceOptions {
  /** Where background failures (the refresh pass, responder rotation) are reported. Default: stderr. */
  logger?: Logger;
  /** Validity for a certificate whose profile is gone from the config (each profile sets its own). Default 24 h. */
  validityMs?: number;
  /**
   * Re-sign a pre-signed answer when less than this is left before nextUpdate. Default half of
   * validityMs. Profiles whose validity is at most this are signed per window instead.
   */
  refreshAheadMs?: number;
  /** Rotate a responder certificate when it has less than this left. Default 7 days. */
  rotateResponderAheadMs?: number;
  /** Live (nonce) signing concurrency cap. Default 8. */
  liveConcurrency?: number;
  /** How often the background pass runs. Default 60 s. */
  refreshIntervalMs?: number;
  /** Answer cache lifetime (default 60 s; lower it when several processes share one store). */
  answerCacheTtlMs?: number;
  /** Short-validity answers kept in memory (default 200 000; an evicted one is signed again). */
  windowCacheEntries?: number;
}

/**
 * Stored in place of a pre-signed answer that must never be served again (its certificate
 * moved to signing per window): an unsigned `unauthorized` with a far nextUpdate, so the
 * refresher leaves it alone. The store has no delete for OCSP records.
 */
const RETIRED_DER = errorResponse('unauthorized');
const RETIRED_FOR_MS = 365 * 86_400_000;

const HASHES: readonly OcspCertIdHash[] = ['sha1', 'sha256'];

/**
 * Meta key: the certificate count at which every stored certificate had its pre-signed
 * answers (or needed none). A start that finds the same count skips the backfill scan.
 */
const BACKFILL_KEY = 'ocsp.backfill';
interface BackfillMarker {
  certCount: number;
}
const DAY = 86_400_000;

/** What OCSP reads of one CA: its certificate and its delegated responder (RFC 6960 §4.2.2.2). */
export interface OcspIssuer {
  readonly name: CaName;
  readonly certificate: ParsedCertificate;
  readonly responder: { readonly certificate: ParsedCertificate; readonly signer: Signer };
}

/** The CAs as OCSP sees them; read again after a responder rotation. */
export interface OcspIssuerView {
  ca(name: CaName): OcspIssuer;
  /** Set while the CA itself is revoked or held: its children's pre-signed answers no longer hold. */
  caSuspended(name: CaName): 'revoked' | 'held' | undefined;
  rotateResponder(name: CaName, opts: { actor?: string }): Promise<unknown>;
}

/** The slice of an Authority the OCSP service uses (an Authority satisfies it). */
export interface OcspAuthority extends OcspIssuerView, StatusReader {
  readonly store: Pick<Store, 'kind' | 'certificates' | 'ocspResponses' | 'meta' | 'commit'>;
  readonly clock: Clock;
  profile(name: string): { readonly ocspValiditySeconds: number };
  /** Registers the service to sign the new answers inside every status change's commit. */
  addStatusPublisher(p: StatusPublisher): void;
}

export class OcspService implements StatusPublisher {
  readonly validityMs: number;
  private readonly refreshAheadMs: number;
  private readonly rotateAheadMs: number;
  private responders = new Map<IssuerId, ResponderIdentity>();
  private index!: IssuerIndex;
  /** Full responder (precomputed + live) and one that never signs (per-IP live budget spent). */
  responder!: OcspResponder;
  precomputedOnly!: OcspResponder;
  private timer: NodeJS.Timeout | undefined;
  /** Set by stop(): a pass in flight ends at its next batch instead of scanning on. */
  private stopping = false;
  /** The certificate count the last complete backfill (or a matching marker) vouched for. */
  private backfilledAt: number | undefined;
  private running: Promise<void> | undefined;
  /** Short-validity answers, per (issuer, serial, hash), one signature per window. */
  readonly windows: WindowCache;
  /** Answers signed for a status change, installed once its commit is durable (afterChange). */
  private readonly pendingInstall = new Map<string, { status: CertificateStatus; answers: WindowedAnswer[] }>();
  /** Status changes in flight, so a background re-sign never replaces their answers (change-guard.ts). */
  private readonly changes = new ChangeGuard();
  private readonly logger: Logger;

  constructor(
    private readonly authority: OcspAuthority,
    private readonly opts: OcspServiceOptions = {},
  ) {
    this.validityMs = opts.validityMs ?? DAY;
    this.refreshAheadMs = opts.refreshAheadMs ?? this.validityMs / 2;
    this.rotateAheadMs = opts.rotateResponderAheadMs ?? 7 * DAY;
    this.windows = new WindowCache(opts.windowCacheEntries ?? 200_000);
    this.logger = opts.logger ?? stderrLogger;
    this.rebuild();
    authority.addStatusPublisher(this);
  }

  /** (Re)load responder identities and the issuer index from the authority (after rotation). */
  private rebuild(): void {
    const cas = CA_NAMES.map((n) => this.authority.ca(n));
    this.responders = new Map(
      cas.map((c) => [c.name as IssuerId, responderIdentity(c.responder.signer, c.responder.certificate.der)]),
    );
    this.index = new IssuerIndex(
      cas.map((c) => ({
        id: c.name as IssuerId,
        subjectDer: c.certificate.subject,
        publicKeyInfo: c.certificate.publicKeyInfo,
      })),
    );
    const store = this.authority.store;
    const precomputed = createPrecomputedSource({
      lookup: async (issuerId, serial, hash) => {
        if (hash !== 'sha1' && hash !== 'sha256') return undefined;
        // A revoked CA: its children's pre-signed "good" no longer holds; answer live (revoked via CA).
        if (this.authority.caSuspended(issuerId as CaName)) return undefined;
        const cert = await store.certificates.get(serial);
        if (!cert || cert.issuerId !== issuerId) return undefined; // live answers `unknown`
        if (this.isWindowed(cert)) return this.windowed(cert, hash);
        const r = await store.ocspResponses.get(issuerId, serial, hash);
        return r && !r.der.equals(RETIRED_DER)
          ? { der: r.der, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate }
          : undefined;
      },
    });
    const live = createLiveSource({
      responderFor: (id) => this.responders.get(id),
      status: (issuerId, serial) => this.statusFor(issuerId, serial),
      validityMs: async (_issuerId, serial) => {
        const cert = await store.certificates.get(serial);
        return cert ? this.validityFor(cert) : this.validityMs;
      },
      maxConcurrent: this.opts.liveConcurrency ?? 8,
    });
    // Answers are cached by request bytes. Every status change in this process invalidates the
    // serial's entries synchronously (afterChange), so the TTL only bounds how long a refreshed
    // response may lag (both are valid until nextUpdate) and what another process sharing the
    // store could miss; the LevelDB store is single-process by its lock.
    const common = {
      issuers: this.index,
      clock: this.authority.clock,
      cache: { maxEntries: 100_000, ttlMs: this.opts.answerCacheTtlMs ?? 60_000 },
    };
    this.responder = new OcspResponder({ ...common, sources: [precomputed, live] });
    this.precomputedOnly = new OcspResponder({ ...common, sources: [precomputed] });
    this.windows.clear();
  }

  /** nextUpdate - thisUpdate for this certificate's answers: its profile's, else the default. */
  validityFor(cert: CertificateRecord): number {
    try {
      return this.authority.profile(cert.profile).ocspValiditySeconds * 1000;
    } catch {
      return this.validityMs; // a profile removed from the config since issue
    }
  }

  /** Signed per window instead of pre-signed: the refresher would find it always due. */
  isWindowed(cert: CertificateRecord): boolean {
    return this.validityFor(cert) <= this.refreshAheadMs;
  }

  private async windowed(cert: CertificateRecord, hash: OcspCertIdHash): Promise<WindowedAnswer> {
    return this.windows.get(cert.issuerId, cert.serial, hash, this.authority.clock.now(), async (thisUpdate) => {
      const [r] = await this.sign(cert, await this.authority.statusOf(cert), thisUpdate, [hash]);
      return r!;
    });
  }

  private async statusFor(issuerId: IssuerId, serial: Serial): Promise<CertStatus> {
    const record = await this.authority.store.certificates.get(serial);
    if (!record || record.issuerId !== issuerId) return { kind: 'unknown' };
    return certStatusFrom(await this.authority.statusOf(record));
  }

  /** One answer per hash, signed by the CA's delegated responder, valid for the profile's validity. */
  private async sign(
    cert: CertificateRecord,
    status: CertificateStatus,
    thisUpdate: Date,
    hashes: readonly OcspCertIdHash[],
  ) {
    const responder = this.responders.get(cert.issuerId);
    if (!responder) throw new AgentCaError('INTERNAL', `no OCSP responder for issuer ${cert.issuerId}`);
    const ca = this.authority.ca(cert.issuerId as CaName);
    return presignForSerial({
      responder,
      issuer: { subjectDer: ca.certificate.subject, publicKeyInfo: ca.certificate.publicKeyInfo },
      serial: cert.serial,
      status: certStatusFrom(status),
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + this.validityFor(cert)),
      hashes,
    });
  }

  private async presign(cert: CertificateRecord, status: CertificateStatus): Promise<WriteOp[]> {
    const signed = await this.sign(cert, status, this.authority.clock.now(), HASHES);
    return signed.map((r) => ({
      op: 'putOcspResponse' as const,
      record: {
        issuerId: cert.issuerId,
        serial: cert.serial,
        hashAlgorithm: r.hashAlgorithm as OcspCertIdHash,
        der: r.der,
        thisUpdate: r.thisUpdate,
        nextUpdate: r.nextUpdate,
      },
    }));
  }

  /**
   * StatusPublisher: called by issue (status good) and by revoke/hold/release, inside their
   * commit. Short-validity certificates store nothing: a new one is signed on its first
   * request; a revocation or hold is signed here, before the commit, and installed in
   * afterChange so that it is served the moment revoke() returns.
   */
  async opsFor(cert: CertificateRecord, status: CertificateStatus): Promise<WriteOp[]> {
    if (!this.isWindowed(cert)) {
      this.changes.begin(`${cert.issuerId}|${cert.serial}`, this.authority.clock.now().getTime());
      return this.presign(cert, status);
    }
    if (status.state !== 'good') {
      const signed = await this.sign(cert, status, this.authority.clock.now(), HASHES);
      const answers = signed.map((r) => ({
        der: r.der,
        thisUpdate: r.thisUpdate,
        nextUpdate: r.nextUpdate,
        staleAt: new Date((r.thisUpdate.getTime() + r.nextUpdate.getTime()) / 2),
      }));
      this.pendingInstall.set(`${cert.issuerId}|${cert.serial}`, { status, answers });
    }
    return [];
  }

  afterChange(cert: CertificateRecord, status?: CertificateStatus): void {
    const k = `${cert.issuerId}|${cert.serial}`;
    const pending = this.pendingInstall.get(k);
    this.pendingInstall.delete(k);
    this.changes.end(k);
    this.windows.invalidate(cert.issuerId, cert.serial, HASHES);
    if (pending && pending.status === status)
      HASHES.forEach((h, i) => this.windows.install(cert.issuerId, cert.serial, h, pending.answers[i]!));
    this.responder.invalidate(cert.issuerId, cert.serial);
    this.precomputedOnly.invalidate(cert.issuerId, cert.serial);
    // A CA's status change changes every answer under it (the authority tracks which CAs are suspended).
    if (cert.isCa) {
      this.windows.clear();
      this.responder.clearCache();
      this.precomputedOnly.clearCache();
    }
  }

  /** Drops every cached answer: another process changed statuses this one cannot name. */
  invalidateAll(): void {
    this.windows.clear();
    this.responder.clearCache();
    this.precomputedOnly.clearCache();
  }

  /**
   * Starts the background work: pre-signing what is missing (first start, or certificates
   * issued without OCSP attached) and re-signing what is due, then the refresh timer. Serving
   * does not wait for that pass: until it is done, a certificate without a fresh pre-signed
   * answer is answered by the live source (signed on request), so a store of millions of
   * certificates answers OCSP as soon as the server listens. `settled()` waits for the pass.
   */
  async start(): Promise<void> {
    this.running = (async () => {
      try {
        await this.backfill();
        await this.refreshDue();
      } catch (e) {
        this.logger.error('OCSP start-up pass failed', { error: errorMessage(e) });
      } finally {
        this.running = undefined;
      }
    })();
    const every = this.opts.refreshIntervalMs ?? 60_000;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /** Resolves when the background pass in flight (start-up or refresh), if any, is done. */
  async settled(): Promise<void> {
    await this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    // On LevelDB this process is the only writer, and every certificate it issued since the
    // pass went through this service: the next start need not scan. (Peers or a CLI sharing a
    // PostgreSQL store may issue without OCSP attached, so there the next start scans.)
    const store = this.authority.store;
    if (this.backfilledAt !== undefined && store.kind === 'level') {
      // Best effort: without the marker the next start scans again (slower, never wrong).
      try {
        const count = await store.certificates.count();
        if (count !== this.backfilledAt)
          await store.meta.put(BACKFILL_KEY, { certCount: count } satisfies BackfillMarker);
      } catch (e) {
        this.logger.warn('OCSP: could not record the backfill marker at stop; the next start scans', {
          error: errorMessage(e),
        });
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        await this.rotateRespondersIfDue();
        await this.refreshDue();
      } catch (e) {
        this.logger.error('OCSP refresh failed', { error: errorMessage(e) });
      } finally {
        this.running = undefined;
      }
    })();
    await this.running;
  }

  /**
   * Pre-sign what is missing (certificates issued while no OCSP service was attached, e.g. by
   * the CLI): which serials already have responses comes from one streaming scan per issuer,
   * not a read per certificate.
   */
  private async backfill(): Promise<void> {
    const store = this.authority.store;
    const count = await store.certificates.count();
    // Nothing was issued since the last complete pass (or since a clean stop that vouched for
    // every certificate): skip reading every stored certificate, which over millions of them
    // takes minutes and pages the whole database into memory.
    const marker = await store.meta.get<BackfillMarker>(BACKFILL_KEY);
    if (marker?.certCount === count) {
      this.backfilledAt = count;
      return;
    }
    const have = new Set<string>();
    for (const n of CA_NAMES)
      for await (const r of this.authority.store.ocspResponses.iterate(n as IssuerId))
        if (!r.der.equals(RETIRED_DER)) have.add(`${r.issuerId}|${r.serial}`);
    // ifAbsent: a status change committed while this pass signs has written its own answer.
    const done = await this.presignAll((cert) => !have.has(`${cert.issuerId}|${cert.serial}`), true);
    if (!done) return;
    // Certificates added while the pass ran were issued with this service attached.
    await store.meta.put(BACKFILL_KEY, { certCount: count } satisfies BackfillMarker);
    this.backfilledAt = count;
  }

  /**
   * Pre-sign (with the current status) every certificate that passes `want`, in batches.
   * `ifAbsent` (the backfill): only where nothing is stored; otherwise (a re-sign) the change
   * guard drops what a status change touched meanwhile. Returns false when stop() cut it short.
   */
  private async presignAll(want: (cert: CertificateRecord) => boolean, ifAbsent = false): Promise<boolean> {
    const store = this.authority.store;
    const rootSerial = this.authority.ca('root').certificate.serial;
    let batch: WriteOp[] = [];
    let keys: string[] = [];
    try {
      for await (const cert of store.certificates.iterate()) {
        if (this.stopping) return false;
        // Self-signed root: nobody asks its issuer. Short-validity ones are signed per window.
        if (cert.serial === rootSerial || this.isWindowed(cert) || !want(cert)) continue;
        const key = `${cert.issuerId}|${cert.serial}`;
        if (!ifAbsent) this.changes.watch([key]);
        keys.push(key);
        const ops = await this.presign(cert, await this.authority.statusOf(cert));
        batch.push(...(ifAbsent ? ops.map((o) => ({ ...o, ifAbsent: true })) : ops));
        if (batch.length >= 512) {
          await this.commitResigned(batch);
          this.changes.unwatch(keys);
          batch = [];
          keys = [];
        }
      }
      if (batch.length) await this.commitResigned(batch);
      return true;
    } finally {
      this.changes.unwatch(keys);
    }
  }

  /** Commits a background pass's answers, less those a status change touched since they were read. */
  private async commitResigned(ops: WriteOp[]): Promise<void> {
    const nowMs = this.authority.clock.now().getTime();
    const keep = ops.filter(
      (o) =>
        o.op !== 'putOcspResponse' ||
        o.ifAbsent === true ||
        this.changes.mayWrite(`${o.record.issuerId}|${o.record.serial}`, nowMs),
    );
    if (keep.length) await this.authority.store.commit(keep);
  }

  /** Re-sign every response whose nextUpdate is within refreshAhead. Returns how many. */
  async refreshDue(): Promise<number> {
    const store = this.authority.store;
    const now = this.authority.clock.now();
    let done = 0;
    for (;;) {
      if (this.stopping) return done;
      const due = await store.ocspResponses.listDueBefore(new Date(now.getTime() + this.refreshAheadMs), {
        limit: 256,
      });
      const seen = new Set<string>();
      for (const r of due) seen.add(`${r.issuerId}|${r.serial}`);
      // Before any status is read: a change that commits from here on is seen by the guard.
      this.changes.watch(seen);
      const ops: WriteOp[] = [];
      try {
        const handled = new Set<string>();
        for (const r of due) {
          const key = `${r.issuerId}|${r.serial}`;
          if (handled.has(key)) continue;
          handled.add(key);
          const cert = await store.certificates.get(r.serial);
          if (!cert) continue;
          if (this.isWindowed(cert)) ops.push(...this.retire(cert, now));
          else ops.push(...(await this.presign(cert, await this.authority.statusOf(cert))));
        }
        if (ops.length === 0) return done;
        await this.commitResigned(ops);
      } finally {
        this.changes.unwatch(seen);
      }
      done += seen.size;
      if (due.length < 256) return done;
    }
  }

  /** A pre-signed answer of a certificate now signed per window (its profile's validity was lowered). */
  private retire(cert: CertificateRecord, now: Date): WriteOp[] {
    const nextUpdate = new Date(Math.max(cert.notAfter.getTime(), now.getTime()) + RETIRED_FOR_MS);
    return HASHES.map((hashAlgorithm) => ({
      op: 'putOcspResponse' as const,
      record: {
        issuerId: cert.issuerId,
        serial: cert.serial,
        hashAlgorithm,
        der: RETIRED_DER,
        thisUpdate: now,
        nextUpdate,
      },
    }));
  }

  /** Rotate responder certificates that expire within rotateAhead; re-sign everything after. */
  async rotateRespondersIfDue(): Promise<CaName[]> {
    const now = this.authority.clock.now().getTime();
    const rotated: CaName[] = [];
    for (const n of CA_NAMES) {
      if (this.authority.ca(n).responder.certificate.notAfter.getTime() - now < this.rotateAheadMs) {
        await this.authority.rotateResponder(n, { actor: 'ocsp-service' });
        rotated.push(n);
      }
    }
    if (rotated.length) await this.resignAll();
    return rotated;
  }

  /** After a responder rotation: rebuild identities and re-sign every stored response. */
  async resignAll(): Promise<void> {
    this.rebuild();
    await this.presignAll(() => true);
  }
}
