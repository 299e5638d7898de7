/**
 * The embeddable authority: `createAuthority()` opens the store and the CA's signers and
 * offers init / issue / chain. Every certificate goes TBS -> lint -> Issuer token -> sign ->
 * store, in that order, and is stored before it is returned.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { decodeName } from '../asn1/name.js';
import { toPem } from '../asn1/pem.js';
import { systemClock, type Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { Issuer } from '../issuance/issuer.js';
import { LintPool } from '../lint/lint-pool.js';
import { stderrLogger } from '../logger.js';
import { buildTbs } from '../profile/build-tbs.js';
import { DEFAULT_CONFIG, migrateStoredConfig, parseConfig, type CaConfig } from '../profile/config.js';
import { loadProfiles, withMaxValidity, type Profile } from '../profile/profile.js';
import { serialFromMagnitude } from '../profile/serial.js';
import { keyManagerFor, openSigner, schemeOf } from '../signer/registry.js';
import type { Signer, SignerContext } from '../signer/signer.js';
import type { CertificateRecord, Store } from '../store/ports.js';
import type { KeyType, KeyUri, Serial } from '../types.js';
import type { TbsCertificate } from '../profile/tbs.js';
import { AuditLog } from '../audit/audit-log.js';
import { HookBus } from '../revocation/hooks.js';
import { Revoker, type RevokeOptions, type StatusChangeOptions, type StatusPublisher } from '../revocation/revoker.js';
import { changeCaStatus, type CaRevocationDeps } from './ca-revocation.js';
import { checkKeyUri, createAgentKey, discardOrphanKey, PLACEHOLDER_SPKI } from './agent-key.js';
import { statusOf, type CertificateStatus } from '../revocation/status.js';
import { parseSerial } from '../profile/serial.js';
import type { RevocationRecord, WriteOp } from '../store/ports.js';
import { agentTbsRequest, requestedPublicKey, type AgentIssueRequest } from './agent-request.js';
import { renewalTbsRequest } from './renewal.js';
import { announceExpiring, listCertificates, type CertificateView, type ListFilter } from './queries.js';

export type { CertificateView, ListFilter } from './queries.js';
import { signAction, type SignActionRequest } from '../actions/sign.js';
import type { ActionEnvelope } from '../actions/types.js';
import {
  asIssuerId,
  CA_STATE_KEY,
  loadCas,
  type CaName,
  type CaState,
  type LoadedCa,
  type SignObserver,
} from './ca-state.js';
import { createHierarchy, type HierarchyKeys } from './hierarchy.js';

export interface AuthorityOptions {
  /** Data directory: soft keys, LevelDB (when no store is given), exported chain files. */
  dataDir: string;
  store: Store;
  clock?: Clock;
  /** Decrypts/encrypts soft keys (AGENT_CA_PASSPHRASE). */
  passphrase?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Lint agent certificates on a worker thread, off the event loop that signs and stores them
   * (docs/throughput.md). Default: on where the host has two cores or more.
   */
  lintThread?: boolean;
}

export interface InitOptions {
  config?: Partial<CaConfig>;
  keyType?: KeyType;
  /** Key backend scheme for new keys: softkey (default), awskms, pkcs11. */
  signer?: string;
  /**
   * Key backend for the two delegated OCSP responders when it differs from `signer`: short
   * OCSP validity means a signature per agent per window, which a KMS meters per call
   * (docs/revocation-freshness.md), so CA keys in awskms: with responders in softkey: or pkcs11:.
   */
  responderSigner?: string;
  keys?: HierarchyKeys;
  actor?: string;
}

export interface IssuedAgentCertificate {
  serial: Serial;
  der: Buffer;
  pem: string;
  /** Agent certificate followed by the intermediate: what a TLS client presents. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  warnings: string[];
}

/** validitySeconds: a whole number of seconds, at least a minute, and not beside validityDays. */
function checkValiditySeconds(days: number | undefined, seconds: number | undefined): void {
  if (seconds === undefined) return;
  if (days !== undefined)
    throw new AgentCaError('INPUT_INVALID', 'give validityDays or validitySeconds, not both', {
      field: 'validitySeconds',
    });
  if (!Number.isInteger(seconds) || seconds < 60)
    throw new AgentCaError('INPUT_INVALID', `validity seconds must be an integer of at least 60, got ${seconds}`, {
      field: 'validitySeconds',
    });
}

export class Authority {
  private readonly signObservers = new Set<SignObserver>();
  /** In-process events: certificate.issued / revoked / held / released / renewed / expiring. */
  readonly hooks = new HookBus();
  readonly audit: AuditLog;
  private readonly revoker: Revoker;
  private readonly publishers: StatusPublisher[] = [];
  readonly clock: Clock;
  readonly store: Store;
  readonly dataDir: string;
  private readonly signerContext: SignerContext;
  private readonly issuer: Issuer;
  private readonly lints: LintPool | undefined;
  private state: CaState | undefined;
  private cas: Record<CaName, LoadedCa> | undefined;
  private profiles: ReadonlyMap<string, Profile> = new Map();

  constructor(opts: AuthorityOptions) {
    this.clock = opts.clock ?? systemClock;
    this.store = opts.store;
    this.dataDir = opts.dataDir;
    this.signerContext = {
      dataDir: opts.dataDir,
      ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
      env: opts.env ?? process.env,
    };
    this.issuer = new Issuer({
      clock: this.clock,
      lintContext: () => ({
        agentDomains: this.state?.config.agentDomains ?? [],
        uriSanSchemes: this.state?.config.uriSanSchemes ?? DEFAULT_CONFIG.uriSanSchemes,
      }),
    });
    this.lints = (opts.lintThread ?? availableParallelism() >= 2) ? new LintPool(stderrLogger) : undefined;
    this.audit = new AuditLog({ store: this.store, clock: this.clock });
    this.revoker = new Revoker({
      store: this.store,
      audit: this.audit,
      hooks: this.hooks,
      clock: this.clock,
      publishers: () => this.publishers,
      issuerRevocationOf: (cert) => this.issuerRevocationOf(cert),
    });
    this.hooks.on('certificate.revoked', (e) => this.scheduleAgentKeyDeletion(e));
    // Runs synchronously after every committed status change, before revoke()/hold() return.
    this.publishers.push({
      afterChange: (cert, status) => {
        if (cert.isCa) this.caStates.set(cert.serial, status.state);
      },
    });
  }

  /** Status of the CA certificates (root, intermediate) as last loaded or changed in this process. */
  private readonly caStates = new Map<string, string>();

  /** Whether a CA (root or intermediate) is suspended: revoked or held. Kept in memory, updated with every status change. */
  caSuspended(name: CaName): 'revoked' | 'held' | undefined {
    const state = this.caStates.get(this.ca(name).certificate.serial);
    return state === 'revoked' || state === 'held' ? state : undefined;
  }

  /** A revoked or held CA signs nothing new (RFC 5280 §6.1.3: anything it signs would not validate). */
  private assertCanIssue(name: CaName): void {
    const state = this.caSuspended(name);
    if (state) {
      throw new AgentCaError(
        'REVOKE_INVALID_STATE',
        `the ${name} CA is ${state}: it issues nothing until it is released or replaced`,
        { ca: name, state },
      );
    }
  }

  /**
   * docs/architecture.md: when an agent is revoked, its KMS key is scheduled for deletion. Runs as a
   * revocation hook (never blocks or undoes the revocation); the audit log records the outcome.
   */
  private async scheduleAgentKeyDeletion(e: { serial: Serial; keyUri?: string; agentId?: string }): Promise<void> {
    if (!e.keyUri || e.keyUri.startsWith('softkey:')) return;
    const days = this.config.agentKeyDeletionWindowDays;
    try {
      const at = await keyManagerFor(schemeOf(e.keyUri), this.signerContext).scheduleKeyDeletion(
        e.keyUri as KeyUri,
        days,
      );
      await this.audit.append({
        actor: 'revocation-hook',
        action: 'key.deletion-scheduled',
        subject: e.serial,
        details: { agentId: e.agentId, keyUri: e.keyUri, pendingWindowDays: days, deletionDate: at.toISOString() },
      });
    } catch (err) {
      await this.audit.append({
        actor: 'revocation-hook',
        action: 'key.deletion-failed',
        subject: e.serial,
        details: { agentId: e.agentId, keyUri: e.keyUri, error: String((err as Error).message ?? err) },
      });
      throw err;
    }
  }

  /** OCSP / CRL publishers that must follow every status change. */
  /**
   * Told how long every CA and responder signature took (the server feeds its metrics).
   * Returns the function that removes the observer.
   */
  addSignObserver(o: SignObserver): () => void {
    this.signObservers.add(o);
    return () => this.signObservers.delete(o);
  }

  private readonly notifySigned: SignObserver = (key, seconds) => {
    for (const o of this.signObservers) o(key, seconds);
  };

  addStatusPublisher(p: StatusPublisher): void {
    this.publishers.push(p);
  }

  /** Load the CA state and open its signers; a no-op before init. */
  async load(): Promise<void> {
    this.state = await this.store.meta.get<CaState>(CA_STATE_KEY);
    if (!this.state) return;
    this.state = {
      ...this.state,
      config: parseConfig(migrateStoredConfig(this.state.config as CaConfig & Record<string, unknown>)),
    };
    this.cas = await loadCas(this.state, this.signerContext, () =>
      this.signObservers.size ? this.notifySigned : undefined,
    );
    for (const n of ['root', 'intermediate'] as const) {
      const rec = await this.store.certificates.get(this.cas[n].certificate.serial);
      const own = rec && (await this.store.revocations.get(rec.serial));
      this.caStates.set(
        this.cas[n].certificate.serial,
        own ? (own.reason === 'certificateHold' ? 'held' : 'revoked') : 'good',
      );
    }
    this.profiles = this.loadProfilesFor(this.state.config);
    // Checkpoints are signed by the issuing CA's key, so rewriting the whole chain needs that key
    // too; one at least every auditCheckpointIntervalMs bounds what an unsigned tail can hide.
    this.audit.useSigner(this.cas.intermediate.signer, {
      checkpointIntervalMs: this.state.config.auditCheckpointIntervalMs,
    });
  }

  get initialised(): boolean {
    return this.state !== undefined;
  }

  get config(): CaConfig {
    return this.requireState().config;
  }

  private requireState(): CaState {
    if (!this.state)
      throw new AgentCaError('CA_NOT_INITIALISED', `no CA in ${this.dataDir}: run \`agent-ca init\` first`);
    return this.state;
  }

  ca(name: CaName): LoadedCa {
    this.requireState();
    return this.cas![name];
  }

  private loadProfilesFor(config: CaConfig): ReadonlyMap<string, Profile> {
    const builtin = loadProfiles();
    const extra = config.profilesDir ? loadProfiles(config.profilesDir) : new Map<string, Profile>();
    const all = new Map([...builtin, ...extra]);
    for (const [k, p] of all) if (p.kind === 'agent') all.set(k, withMaxValidity(p, config.maxAgentValidityDays));
    return all;
  }

  profile(name: string): Profile {
    const p = this.profiles.get(name);
    if (!p)
      throw new AgentCaError(
        'PROFILE_UNKNOWN',
        `unknown profile ${JSON.stringify(name)} (known: ${[...this.profiles.keys()].join(', ')})`,
      );
    return p;
  }

  async init(opts: InitOptions = {}): Promise<CaState> {
    if (this.state || (await this.store.meta.get(CA_STATE_KEY))) {
      throw new AgentCaError(
        'CA_ALREADY_INITIALISED',
        `a CA already exists in ${this.dataDir}; refusing to overwrite it`,
      );
    }
    const config = parseConfig(opts.config ?? {});
    const keyType = opts.keyType ?? config.keyType;
    const profiles = this.loadProfilesFor(config);
    const scheme = opts.signer ?? 'softkey';
    const material = await createHierarchy({
      config: { ...config, keyType },
      profiles,
      keyType,
      keyManager: keyManagerFor(schemeOf(`${scheme}:`), this.signerContext),
      ...(opts.responderSigner && opts.responderSigner !== scheme
        ? {
            responderKeys: {
              keyManager: keyManagerFor(schemeOf(`${opts.responderSigner}:`), this.signerContext),
              labelPrefix: opts.responderSigner === 'softkey' ? '' : 'agent-ca-',
            },
          }
        : {}),
      ...(opts.keys ? { keys: opts.keys } : {}),
      labelPrefix: scheme === 'softkey' ? '' : 'agent-ca-',
      signerContext: this.signerContext,
      issuer: this.issuer,
      clock: this.clock,
    });
    const now = this.clock.now();
    const actor = opts.actor ?? 'library';
    await this.audit.append({
      actor,
      action: 'init.requested',
      subject: 'ca',
      details: { organization: config.organization, keyType, signer: scheme },
    });
    await this.audit.appendWith(
      [
        ...material.certificates.map((c) => ({
          op: 'putCertificate' as const,
          record: this.caRecord(c.der, c.issuer, c.profile, c.isCa, now),
        })),
        { op: 'putMeta', key: CA_STATE_KEY, value: material.state },
      ],
      {
        actor,
        action: 'init',
        subject: 'ca',
        details: {
          keys: { root: material.state.cas.root.keyUri, intermediate: material.state.cas.intermediate.keyUri },
          outcome: 'committed',
        },
      },
    );
    await this.load();
    this.exportChainFiles();
    return material.state;
  }

  private caRecord(der: Buffer, issuer: CaName, profile: string, isCa: boolean, now: Date): CertificateRecord {
    const c = parseCertificate(der);
    return {
      serial: c.serial,
      issuerId: asIssuerId(issuer),
      der,
      profile,
      subject: decodeName(c.subject).text,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      issuedAt: now,
      isCa,
    };
  }

  /** <dataDir>/ca/root.pem and intermediate.pem, for operators and `openssl verify`. */
  private exportChainFiles(): void {
    const dir = join(this.dataDir, 'ca');
    mkdirSync(dir, { recursive: true });
    const chain = this.chain();
    writeFileSync(join(dir, 'root.pem'), chain.root);
    writeFileSync(join(dir, 'intermediate.pem'), chain.intermediate);
  }

  chain(): { root: string; intermediate: string } {
    return {
      root: toPem(this.ca('root').certificate.der),
      intermediate: toPem(this.ca('intermediate').certificate.der),
    };
  }

  async issue(req: AgentIssueRequest): Promise<IssuedAgentCertificate> {
    const intermediate = this.ca('intermediate');
    if (req.validityDays !== undefined && (!Number.isInteger(req.validityDays) || req.validityDays < 1)) {
      throw new AgentCaError('INPUT_INVALID', `validity days must be a positive integer, got ${req.validityDays}`, {
        field: 'validityDays',
      });
    }
    checkValiditySeconds(req.validityDays, req.validitySeconds);
    const profile = this.profile(req.profile ?? 'agent');
    const actor = req.actor ?? 'library';
    let keyUri = req.keyUri;
    let spki: Buffer;
    let created: KeyUri | undefined;
    let keyWarning: string | undefined;
    const keyDeps = {
      signerContext: this.signerContext,
      audit: this.audit,
      deletionWindowDays: this.config.agentKeyDeletionWindowDays,
    };
    if (req.createKeyIn) {
      if (req.csr !== undefined || req.publicKey !== undefined)
        throw new AgentCaError('INPUT_INVALID', 'createKeyIn makes the key: give no CSR or public key');
      // Everything that does not depend on the key is checked before a key is created for it.
      buildTbs(agentTbsRequest(req, PLACEHOLDER_SPKI, profile, this.config), intermediate.issuing, this.clock);
      this.assertCanIssue('intermediate');
      // The private key is created inside the KMS/HSM and never leaves it; only its URI is kept.
      ({ keyUri, spki } = await createAgentKey(
        keyDeps,
        req.createKeyIn,
        req.keyType ?? 'p256',
        `agent-${req.agentId}-${this.clock.now().getTime().toString(36)}`,
        actor,
        req.agentId,
      ));
      created = keyUri;
    } else {
      spki = requestedPublicKey(req);
      if (keyUri) keyWarning = await checkKeyUri(this.signerContext, keyUri, spki);
    }
    try {
      const tbs = buildTbs(agentTbsRequest(req, spki, profile, this.config), intermediate.issuing, this.clock);
      const issued = await this.signAndStore(tbs, {
        actor,
        agentId: req.agentId,
        ...(req.tenant !== undefined ? { tenant: req.tenant } : {}),
        ...(keyUri ? { keyUri } : {}),
        ...(req.renewalOf ? { renewalOf: parseSerial(req.renewalOf) } : {}),
      });
      return keyWarning ? { ...issued, warnings: [...issued.warnings, keyWarning] } : issued;
    } catch (e) {
      if (created) await discardOrphanKey(keyDeps, created, actor, req.agentId, e);
      throw e;
    }
  }

  /** The one path from a TBS to a stored agent certificate: audit intent, lint+sign, store with the audit outcome, hooks. */
  private async signAndStore(
    tbs: TbsCertificate,
    meta: { actor: string; agentId?: string; tenant?: string; keyUri?: KeyUri; renewalOf?: Serial },
  ): Promise<IssuedAgentCertificate> {
    const intermediate = this.ca('intermediate');
    this.assertCanIssue('intermediate');
    const serial = serialFromMagnitude(tbs.serial);
    // Uniqueness is enforced atomically by the store commit below (ISSUE_SERIAL_COLLISION,
    // nothing written); with 128 random bits a pre-read would only cost a round trip.
    const prepared = await this.issuer.prepareAsync(tbs, intermediate.signer, this.lints);
    const action = meta.renewalOf ? 'renew' : 'issue';
    const summary = {
      serial,
      ...(meta.agentId ? { agentId: meta.agentId } : {}),
      ...(meta.tenant ? { tenant: meta.tenant } : {}),
      profile: tbs.profile.name,
      subject: tbs.subject.text,
      notAfter: tbs.notAfter.toISOString(),
      ...(meta.renewalOf ? { renewalOf: meta.renewalOf } : {}),
    };
    const intent = {
      actor: meta.actor,
      action: `${action}.requested`,
      subject: meta.agentId ?? serial,
      details: summary,
    };
    // A remote key (KMS, HSM) signs outside this process, where the signature is an act of its
    // own (metered and logged there): its intent is committed before the signing request. A
    // soft key's signature exists only in this process until the commit below, so its intent
    // is chained in the same atomic commit, just before the outcome (docs/architecture.md).
    const local = intermediate.signer.keyUri.startsWith('softkey:');
    if (!local) await this.audit.append(intent);
    const issued = await this.issuer.issue(prepared.token);
    const record: CertificateRecord = {
      serial,
      issuerId: asIssuerId('intermediate'),
      der: issued.der,
      profile: tbs.profile.name,
      subject: tbs.subject.text,
      ...(meta.agentId !== undefined ? { agentId: meta.agentId } : {}),
      ...(meta.tenant !== undefined ? { tenant: meta.tenant } : {}),
      notBefore: tbs.notBefore,
      notAfter: tbs.notAfter,
      issuedAt: this.clock.now(),
      ...(meta.keyUri ? { keyUri: meta.keyUri } : {}),
      ...(meta.renewalOf ? { renewalOf: meta.renewalOf } : {}),
      isCa: false,
    };
    const publisherOps: WriteOp[] = [];
    for (const p of this.publishers) if (p.opsFor) publisherOps.push(...(await p.opsFor(record, { state: 'good' })));
    // Stored (with its audit outcome and first OCSP response) before it is returned: a
    // certificate the CA does not know about could never be revoked.
    const outcome = {
      actor: meta.actor,
      action,
      subject: meta.agentId ?? serial,
      details: { ...summary, outcome: 'committed' },
    };
    await this.audit.appendWith(
      [{ op: 'putCertificate', record }, ...publisherOps],
      local ? [intent, outcome] : outcome,
    );
    const base = {
      serial,
      issuerId: record.issuerId,
      ...(record.agentId ? { agentId: record.agentId } : {}),
      ...(record.tenant ? { tenant: record.tenant } : {}),
      at: record.issuedAt,
      actor: meta.actor,
    };
    this.hooks.emit('certificate.issued', { ...base, notAfter: record.notAfter, profile: record.profile });
    if (meta.renewalOf) this.hooks.emit('certificate.renewed', { ...base, renewalOf: meta.renewalOf });
    const pem = toPem(issued.der);
    return {
      serial,
      der: issued.der,
      pem,
      chainPem: pem + this.pemOf(intermediate.certificate.der),
      notBefore: tbs.notBefore,
      notAfter: tbs.notAfter,
      warnings: prepared.warnings.map((w) => `${w.lint}: ${w.message}`),
    };
  }

  /** PEM of a CA certificate, made once per certificate (every issuance returns the chain). */
  private readonly caPems = new WeakMap<Buffer, string>();
  private pemOf(der: Buffer): string {
    let pem = this.caPems.get(der);
    if (pem === undefined) this.caPems.set(der, (pem = toPem(der)));
    return pem;
  }

  /** Same agent, same key and extensions, new serial; recorded as the renewal of the old one. */
  async renew(
    serialInput: string,
    opts: { validityDays?: number; validitySeconds?: number; actor?: string } = {},
  ): Promise<IssuedAgentCertificate> {
    checkValiditySeconds(opts.validityDays, opts.validitySeconds);
    const view = await this.show(serialInput);
    if (view.record.isCa) throw new AgentCaError('REVOKE_INVALID_STATE', 'CA certificates are not renewed here');
    if (view.status.state === 'revoked' || view.status.state === 'held') {
      throw new AgentCaError(
        'REVOKE_INVALID_STATE',
        `${view.record.serial} is ${view.status.state}: a revoked or held certificate is not renewed`,
      );
    }
    const old = parseCertificate(view.record.der);
    const tbs = buildTbs(
      renewalTbsRequest(old, this.profile(view.record.profile), this.config, opts.validityDays, opts.validitySeconds),
      this.ca('intermediate').issuing,
      this.clock,
    );
    return this.signAndStore(tbs, {
      actor: opts.actor ?? 'library',
      ...(view.record.agentId ? { agentId: view.record.agentId } : {}),
      ...(view.record.tenant ? { tenant: view.record.tenant } : {}),
      ...(view.record.keyUri ? { keyUri: view.record.keyUri } : {}),
      renewalOf: view.record.serial,
    });
  }

  /** Revokes an agent certificate; CA and responder certificates are refused (see revokeCa). */
  async revoke(serial: string, opts: RevokeOptions = {}): Promise<RevocationRecord> {
    this.requireState();
    return this.revoker.revoke(parseSerial(serial), opts);
  }

  /**
   * Revokes the intermediate (e.g. cACompromise): everything it issued reads as revoked in
   * OCSP, show and list, and the root's CRL lists it. A separate, separately audited path.
   */
  async revokeCa(name: string, opts: RevokeOptions = {}): Promise<RevocationRecord> {
    this.requireState();
    return (await changeCaStatus(this.caRevocationDeps(), name, 'revoke', opts))!;
  }

  /** certificateHold on the intermediate: suspends issuance and everything under it until released. */
  async holdCa(name: string, opts: StatusChangeOptions = {}): Promise<RevocationRecord> {
    this.requireState();
    return (await changeCaStatus(this.caRevocationDeps(), name, 'hold', opts))!;
  }

  async releaseCa(name: string, opts: StatusChangeOptions = {}): Promise<void> {
    this.requireState();
    await changeCaStatus(this.caRevocationDeps(), name, 'release', opts);
  }

  private caRevocationDeps(): CaRevocationDeps {
    return { revoker: this.revoker, audit: this.audit, serialOf: (n) => this.ca(n).certificate.serial };
  }

  async hold(serial: string, opts: StatusChangeOptions = {}): Promise<RevocationRecord> {
    this.requireState();
    return this.revoker.hold(parseSerial(serial), opts);
  }

  async release(serial: string, opts: StatusChangeOptions = {}): Promise<void> {
    this.requireState();
    await this.revoker.release(parseSerial(serial), opts);
  }

  /** The status every surface reports: own revocation, else the issuing CA's (RFC 5280 §6.1.3). */
  async statusOf(record: CertificateRecord): Promise<CertificateStatus> {
    const own = await this.store.revocations.get(record.serial);
    return statusOf(record, own, await this.issuerRevocationOf(record), this.clock.now());
  }

  /** The revocation (or hold) of the CA that issued `record`: RFC 5280 §6.1.3, a path through it fails. */
  private async issuerRevocationOf(record: CertificateRecord): Promise<RevocationRecord | undefined> {
    const issuerSerial = record.isCa || !this.cas ? undefined : this.cas[record.issuerId as CaName]?.certificate.serial;
    return issuerSerial && issuerSerial !== record.serial ? this.store.revocations.get(issuerSerial) : undefined;
  }

  async show(serialInput: string): Promise<CertificateView> {
    const serial = parseSerial(serialInput);
    const record = await this.store.certificates.get(serial);
    if (!record) throw new AgentCaError('CERT_NOT_FOUND', `no certificate with serial ${serial}`, { serial });
    return { record, status: await this.statusOf(record) };
  }

  list(filter: ListFilter = {}): Promise<CertificateView[]> {
    return listCertificates(this, filter);
  }

  /** Emits certificate.expiring for good agent certificates ending within `withinMs` (and passing `filter`); returns them. */
  announceExpiring(withinMs: number, filter: (serial: Serial) => boolean = () => true): Promise<CertificateRecord[]> {
    return announceExpiring(this, withinMs, filter);
  }

  /**
   * Replace a CA's delegated OCSP responder (RFC 6960 §4.2.2.2) with a new key and certificate,
   * e.g. before the old one expires. The old certificate stays in the store; responses signed
   * with it stay valid until their nextUpdate. Returns the new responder's serial.
   */
  async rotateResponder(name: CaName, opts: { actor?: string } = {}): Promise<Serial> {
    const state = this.requireState();
    const ca = this.ca(name);
    const old = state.responders[name];
    const scheme = schemeOf(old.keyUri);
    const label = `${scheme === 'softkey' ? '' : 'agent-ca-'}ocsp-${name}-${this.clock.now().getTime().toString(36)}`;
    const keyType = ca.responder.signer.keyType;
    const keyUri = await keyManagerFor(scheme, this.signerContext).createKey({ keyType, label });
    const signer = await openSigner(keyUri, this.signerContext);
    const subject = decodeName(ca.responder.certificate.subject).spec;
    const tbs = buildTbs(
      {
        profile: this.profile('ocsp-responder'),
        subject,
        encodedSubject: {
          der: ca.responder.certificate.subject,
          text: decodeName(ca.responder.certificate.subject).text,
        },
        publicKeyInfo: signer.publicKeyInfo,
      },
      ca.issuing,
      this.clock,
    );
    const prepared = this.issuer.prepare(tbs, ca.signer);
    const actor = opts.actor ?? 'library';
    await this.audit.append({ actor, action: 'responder.rotate.requested', subject: name, details: { keyUri } });
    const issued = await this.issuer.issue(prepared.token);
    const next: CaState = {
      ...state,
      responders: { ...state.responders, [name]: { keyUri, certificate: issued.der.toString('base64') } },
    };
    await this.audit.appendWith(
      [
        { op: 'putCertificate', record: this.caRecord(issued.der, name, 'ocsp-responder', false, this.clock.now()) },
        { op: 'putMeta', key: CA_STATE_KEY, value: next },
      ],
      {
        actor,
        action: 'responder.rotate',
        subject: name,
        details: { serial: issued.serial, keyUri, previous: old.keyUri, outcome: 'committed' },
      },
    );
    await signer.close?.();
    await this.load();
    return issued.serial;
  }

  /**
   * Sign an action with the agent's own key (its recorded KMS/HSM key URI, or `key` for a soft
   * key the caller holds): a detached JWS with x5c that counterparties check with verifyAction.
   */
  async signAction(req: SignActionRequest): Promise<ActionEnvelope> {
    return signAction(this, req, { signerContext: this.signerContext });
  }

  /** Opens a key by URI with this authority's signer context (e.g. an agent's KMS key, to name its ARN). */
  openKey(keyUri: KeyUri | string): Promise<Signer> {
    return openSigner(keyUri, this.signerContext);
  }

  async close(): Promise<void> {
    // Hooks run after their action committed and may still be writing (e.g. the audit record of
    // a KMS key deletion): let them finish before the store goes away.
    await this.hooks.settle();
    await this.lints?.close();
    await this.audit.close();
    for (const ca of Object.values(this.cas ?? {})) {
      await ca.signer.close?.();
      await ca.responder.signer.close?.();
    }
    await this.store.close();
  }
}
