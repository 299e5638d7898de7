/**
 * OCSP for an Authority (DESIGN.md): every certificate's responses are pre-signed by the CA's
 * delegated responder when it is issued and re-signed in the same commit as any status change,
 * so revoke() returns with "revoked" already servable; a background pass re-signs responses
 * before nextUpdate and rotates responder certificates before they expire. The request path
 * only parses, looks up bytes, and signs live for nonces under a cap.
 */
import type { Authority } from '../authority/authority.js';
import { CA_NAMES, type CaName } from '../authority/ca-state.js';
import { AgentCaError } from '../errors.js';
import type { CertificateStatus } from '../revocation/status.js';
import type { StatusPublisher } from '../revocation/revoker.js';
import type { CertificateRecord, OcspCertIdHash, WriteOp } from '../store/ports.js';
import type { IssuerId, Serial } from '../types.js';
import { IssuerIndex } from './issuer-index.js';
import { createLiveSource } from './live-source.js';
import { createPrecomputedSource } from './precomputed-source.js';
import { presignForSerial } from './presign.js';
import { responderIdentity, type ResponderIdentity } from './responder-identity.js';
import { OcspResponder } from './responder.js';
import { certStatusFrom } from './status-map.js';
import type { CertStatus } from './types.js';

export interface OcspServiceOptions {
  /** nextUpdate - thisUpdate of pre-signed and live responses. Default 24 h. */
  validityMs?: number;
  /** Re-sign when less than this is left before nextUpdate. Default half the validity. */
  refreshAheadMs?: number;
  /** Rotate a responder certificate when it has less than this left. Default 7 days. */
  rotateResponderAheadMs?: number;
  /** Live (nonce) signing concurrency cap. Default 8. */
  liveConcurrency?: number;
  /** How often the background pass runs. Default 60 s. */
  refreshIntervalMs?: number;
  /** Answer cache lifetime (default 60 s; lower it when several processes share one store). */
  answerCacheTtlMs?: number;
}

const HASHES: readonly OcspCertIdHash[] = ['sha1', 'sha256'];
const DAY = 86_400_000;

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
  private running: Promise<void> | undefined;

  constructor(
    private readonly authority: Authority,
    private readonly opts: OcspServiceOptions = {},
  ) {
    this.validityMs = opts.validityMs ?? DAY;
    this.refreshAheadMs = opts.refreshAheadMs ?? this.validityMs / 2;
    this.rotateAheadMs = opts.rotateResponderAheadMs ?? 7 * DAY;
    this.rebuild();
    authority.addStatusPublisher(this);
  }

  /** (Re)load responder identities and the issuer index from the authority (after rotation). */
  private rebuild(): void {
    const cas = CA_NAMES.map((n) => this.authority.ca(n));
    this.responders = new Map(cas.map((c) => [c.name as IssuerId, responderIdentity(c.responder.signer, c.responder.certificate.der)]));
    this.index = new IssuerIndex(cas.map((c) => ({ id: c.name as IssuerId, subjectDer: c.certificate.subject, publicKeyInfo: c.certificate.publicKeyInfo })));
    const store = this.authority.store;
    const precomputed = createPrecomputedSource({
      lookup: async (issuerId, serial, hash) => {
        if (hash !== 'sha1' && hash !== 'sha256') return undefined;
        // A revoked CA: its children's pre-signed "good" no longer holds; answer live (revoked via CA).
        if (this.authority.caSuspended(issuerId as CaName)) return undefined;
        const r = await store.ocspResponses.get(issuerId, serial, hash);
        return r && { der: r.der, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate };
      },
    });
    const live = createLiveSource({
      responderFor: (id) => this.responders.get(id),
      status: (issuerId, serial) => this.statusFor(issuerId, serial),
      validityMs: this.validityMs,
      maxConcurrent: this.opts.liveConcurrency ?? 8,
    });
    // Answers are cached by request bytes. Every status change in this process invalidates the
    // serial's entries synchronously (afterChange), so the TTL only bounds how long a refreshed
    // response may lag (both are valid until nextUpdate) and what another process sharing the
    // store could miss; the LevelDB store is single-process by its lock.
    const common = { issuers: this.index, clock: this.authority.clock, cache: { maxEntries: 100_000, ttlMs: this.opts.answerCacheTtlMs ?? 60_000 } };
    this.responder = new OcspResponder({ ...common, sources: [precomputed, live] });
    this.precomputedOnly = new OcspResponder({ ...common, sources: [precomputed] });
  }


  private async statusFor(issuerId: IssuerId, serial: Serial): Promise<CertStatus> {
    const record = await this.authority.store.certificates.get(serial);
    if (!record || record.issuerId !== issuerId) return { kind: 'unknown' };
    return certStatusFrom(await this.authority.statusOf(record));
  }

  private async presign(cert: CertificateRecord, status: CertificateStatus): Promise<WriteOp[]> {
    const issuerId = cert.issuerId;
    const responder = this.responders.get(issuerId);
    if (!responder) throw new AgentCaError('INTERNAL', `no OCSP responder for issuer ${issuerId}`);
    const ca = this.authority.ca(issuerId as CaName);
    const now = this.authority.clock.now();
    const signed = await presignForSerial({
      responder,
      issuer: { subjectDer: ca.certificate.subject, publicKeyInfo: ca.certificate.publicKeyInfo },
      serial: cert.serial,
      status: certStatusFrom(status),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + this.validityMs),
      hashes: HASHES,
    });
    return signed.map((r) => ({ op: 'putOcspResponse' as const, record: { issuerId, serial: cert.serial, hashAlgorithm: r.hashAlgorithm as OcspCertIdHash, der: r.der, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate } }));
  }

  // StatusPublisher: called by issue (status good) and by revoke/hold/release, inside their commit.
  async opsFor(cert: CertificateRecord, status: CertificateStatus): Promise<WriteOp[]> {
    return this.presign(cert, status);
  }

  afterChange(cert: CertificateRecord): void {
    this.responder.invalidate(cert.issuerId, cert.serial);
    this.precomputedOnly.invalidate(cert.issuerId, cert.serial);
    // A CA's status change changes every answer under it (the authority tracks which CAs are suspended).
    if (cert.isCa) {
      this.responder.clearCache();
      this.precomputedOnly.clearCache();
    }
  }

  /** Drops every cached answer: another process changed statuses this one cannot name. */
  invalidateAll(): void {
    this.responder.clearCache();
    this.precomputedOnly.clearCache();
  }

  /** Pre-sign anything missing (first start, or certificates issued without OCSP attached), start the timer. */
  async start(): Promise<void> {
    await this.backfill();
    await this.refreshDue();
    const every = this.opts.refreshIntervalMs ?? 60_000;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        await this.rotateRespondersIfDue();
        await this.refreshDue();
      } catch (e) {
        process.stderr.write(`agent-ca: OCSP refresh failed: ${String((e as Error)?.message ?? e)}\n`);
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
    const have = new Set<string>();
    for (const n of CA_NAMES) for await (const r of this.authority.store.ocspResponses.iterate(n as IssuerId)) have.add(`${r.issuerId}|${r.serial}`);
    await this.presignAll((cert) => !have.has(`${cert.issuerId}|${cert.serial}`));
  }

  /** Pre-sign (with the current status) every certificate that passes `want`, in batches. */
  private async presignAll(want: (cert: CertificateRecord) => boolean): Promise<void> {
    const store = this.authority.store;
    const rootSerial = this.authority.ca('root').certificate.serial;
    let batch: WriteOp[] = [];
    for await (const cert of store.certificates.iterate()) {
      if (cert.serial === rootSerial || !want(cert)) continue; // self-signed root: nobody asks its issuer
      batch.push(...(await this.presign(cert, await this.authority.statusOf(cert))));
      if (batch.length >= 512) {
        await store.commit(batch);
        batch = [];
      }
    }
    if (batch.length) await store.commit(batch);
  }

  /** Re-sign every response whose nextUpdate is within refreshAhead. Returns how many. */
  async refreshDue(): Promise<number> {
    const store = this.authority.store;
    const now = this.authority.clock.now();
    let done = 0;
    for (;;) {
      const due = await store.ocspResponses.listDueBefore(new Date(now.getTime() + this.refreshAheadMs), { limit: 256 });
      const seen = new Set<string>();
      const ops: WriteOp[] = [];
      for (const r of due) {
        const key = `${r.issuerId}|${r.serial}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const cert = await store.certificates.get(r.serial);
        if (!cert) continue;
        ops.push(...(await this.presign(cert, await this.authority.statusOf(cert))));
      }
      if (ops.length === 0) return done;
      await store.commit(ops);
      done += seen.size;
      if (due.length < 256) return done;
    }
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
