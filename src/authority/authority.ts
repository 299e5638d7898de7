/**
 * The embeddable authority: `createAuthority()` opens the store and the CA's signers and
 * offers init / issue / chain. Every certificate goes TBS -> lint -> Issuer token -> sign ->
 * store, in that order, and is stored before it is returned.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { decodeName } from '../asn1/name.js';
import { toPem } from '../asn1/pem.js';
import { systemClock, type Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { Issuer } from '../issuance/issuer.js';
import { buildTbs } from '../profile/build-tbs.js';
import { parseConfig, type CaConfig } from '../profile/config.js';
import { loadProfiles, withMaxValidity, type Profile } from '../profile/profile.js';
import { serialFromMagnitude } from '../profile/serial.js';
import { keyManagerFor, schemeOf } from '../signer/registry.js';
import type { SignerContext } from '../signer/signer.js';
import type { CertificateRecord, Store } from '../store/ports.js';
import type { KeyType, Serial } from '../types.js';
import { agentTbsRequest, requestedPublicKey, type AgentIssueRequest } from './agent-request.js';
import { asIssuerId, CA_STATE_KEY, loadCas, type CaName, type CaState, type LoadedCa } from './ca-state.js';
import { createHierarchy, type HierarchyKeys } from './hierarchy.js';

export interface AuthorityOptions {
  /** Data directory: soft keys, LevelDB (when no store is given), exported chain files. */
  dataDir: string;
  store: Store;
  clock?: Clock;
  /** Decrypts/encrypts soft keys (AGENT_CA_PASSPHRASE). */
  passphrase?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface InitOptions {
  config?: Partial<CaConfig>;
  keyType?: KeyType;
  /** Key backend scheme for new keys: softkey (default), awskms, pkcs11. */
  signer?: string;
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

export class Authority {
  readonly clock: Clock;
  readonly store: Store;
  readonly dataDir: string;
  private readonly signerContext: SignerContext;
  private readonly issuer: Issuer;
  private state: CaState | undefined;
  private cas: Record<CaName, LoadedCa> | undefined;
  private profiles: ReadonlyMap<string, Profile> = new Map();

  constructor(opts: AuthorityOptions) {
    this.clock = opts.clock ?? systemClock;
    this.store = opts.store;
    this.dataDir = opts.dataDir;
    this.signerContext = { dataDir: opts.dataDir, ...(opts.passphrase ? { passphrase: opts.passphrase } : {}), env: opts.env ?? process.env };
    this.issuer = new Issuer({ clock: this.clock, lintContext: () => ({ agentDomains: this.state?.config.agentDomains ?? [] }) });
  }

  /** Load the CA state and open its signers; a no-op before init. */
  async load(): Promise<void> {
    this.state = await this.store.meta.get<CaState>(CA_STATE_KEY);
    if (!this.state) return;
    this.state = { ...this.state, config: parseConfig(this.state.config as CaConfig & Record<string, unknown>) };
    this.cas = await loadCas(this.state, this.signerContext);
    this.profiles = this.loadProfilesFor(this.state.config);
  }

  get initialised(): boolean {
    return this.state !== undefined;
  }

  get config(): CaConfig {
    return this.requireState().config;
  }

  private requireState(): CaState {
    if (!this.state) throw new AgentCaError('CA_NOT_INITIALISED', `no CA in ${this.dataDir}: run \`agent-ca init\` first`);
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
    if (!p) throw new AgentCaError('PROFILE_UNKNOWN', `unknown profile ${JSON.stringify(name)} (known: ${[...this.profiles.keys()].join(', ')})`);
    return p;
  }

  async init(opts: InitOptions = {}): Promise<CaState> {
    if (this.state || (await this.store.meta.get(CA_STATE_KEY))) {
      throw new AgentCaError('CA_ALREADY_INITIALISED', `a CA already exists in ${this.dataDir}; refusing to overwrite it`);
    }
    const config = parseConfig((opts.config ?? {}) as Partial<CaConfig> & Record<string, unknown>);
    const keyType = opts.keyType ?? config.keyType;
    const profiles = this.loadProfilesFor(config);
    const scheme = opts.signer ?? 'softkey';
    const material = await createHierarchy({
      config: { ...config, keyType },
      profiles,
      keyType,
      keyManager: keyManagerFor(schemeOf(`${scheme}:`), this.signerContext),
      ...(opts.keys ? { keys: opts.keys } : {}),
      labelPrefix: scheme === 'softkey' ? '' : 'agent-ca-',
      signerContext: this.signerContext,
      issuer: this.issuer,
      clock: this.clock,
    });
    const now = this.clock.now();
    await this.store.commit([
      ...material.certificates.map((c) => ({ op: 'putCertificate' as const, record: this.caRecord(c.der, c.issuer, c.profile, c.isCa, now) })),
      { op: 'putMeta', key: CA_STATE_KEY, value: material.state },
    ]);
    await this.load();
    this.exportChainFiles();
    return material.state;
  }

  private caRecord(der: Buffer, issuer: CaName, profile: string, isCa: boolean, now: Date): CertificateRecord {
    const c = parseCertificate(der);
    return { serial: c.serial, issuerId: asIssuerId(issuer), der, profile, subject: decodeName(c.subject).text, notBefore: c.notBefore, notAfter: c.notAfter, issuedAt: now, isCa };
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
    return { root: toPem(this.ca('root').certificate.der), intermediate: toPem(this.ca('intermediate').certificate.der) };
  }

  async issue(req: AgentIssueRequest): Promise<IssuedAgentCertificate> {
    const intermediate = this.ca('intermediate');
    if (req.validityDays !== undefined && (!Number.isInteger(req.validityDays) || req.validityDays < 1)) {
      throw new AgentCaError('INPUT_INVALID', `validity days must be a positive integer, got ${req.validityDays}`, { field: 'validityDays' });
    }
    const profile = this.profile(req.profile ?? 'agent');
    const spki = requestedPublicKey(req);
    const tbs = buildTbs(agentTbsRequest(req, spki, profile, this.config), intermediate.issuing, this.clock);
    const serial = serialFromMagnitude(tbs.serial);
    if (await this.store.certificates.has(serial)) throw new AgentCaError('ISSUE_SERIAL_COLLISION', `serial ${serial} already issued`);
    const prepared = this.issuer.prepare(tbs, intermediate.signer);
    const issued = await this.issuer.issue(prepared.token);
    const record: CertificateRecord = {
      serial,
      issuerId: asIssuerId('intermediate'),
      der: issued.der,
      profile: profile.name,
      subject: tbs.subject.text,
      agentId: req.agentId,
      ...(req.tenant !== undefined ? { tenant: req.tenant } : {}),
      notBefore: tbs.notBefore,
      notAfter: tbs.notAfter,
      issuedAt: this.clock.now(),
      isCa: false,
    };
    // Stored before it is returned: a certificate the CA does not know about could never be revoked.
    await this.store.commit([{ op: 'putCertificate', record }]);
    const pem = toPem(issued.der);
    return {
      serial,
      der: issued.der,
      pem,
      chainPem: pem + toPem(intermediate.certificate.der),
      notBefore: tbs.notBefore,
      notAfter: tbs.notAfter,
      warnings: prepared.warnings.map((w) => `${w.lint}: ${w.message}`),
    };
  }

  async close(): Promise<void> {
    for (const ca of Object.values(this.cas ?? {})) {
      await ca.signer.close?.();
      await ca.responder.signer.close?.();
    }
    await this.store.close();
  }
}
