/**
 * The agent registry's operations over the authority (docs/tenancy.md): register, read with
 * certificates and risk, patch, certify from the registered defaults, renew (with the drift
 * check), decommission, and the renewal window. Access control is the caller's (HTTP routes,
 * CLI): this layer takes an already-authorised tenant and actor.
 */
import type { Authority, CertificateView } from '../authority/authority.js';
import type { AgentIssueRequest } from '../authority/agent-request.js';
import { describeCertificate } from '../asn1/certificate-describe.js';
import { AgentCaError } from '../errors.js';
import type { RiskEngine } from '../risk/engine.js';
import { tenantRiskConfig } from '../risk/config.js';
import { FEATURE_NAMES } from '../risk/features.js';
import type { KeyType, Serial } from '../types.js';
import {
  issueRequestOf,
  readAgentSpec,
  refuseFields,
  requireObject,
  type AgentSpec,
  type StoredModelHash,
} from './agent-spec.js';
import { AgentRegistry, validAgentId, type AgentRecord } from './agent-registry.js';
import type { TenantRegistry } from './tenants.js';
import { driftOf, type Drift } from './drift.js';
import { renewalWindow, type RenewalInfo } from './renewal-window.js';

export interface KeySource {
  publicKey?: string;
  csr?: string;
  createKeyIn?: string;
  keyType?: KeyType;
}

export interface CertifyInput extends KeySource {
  validityDays?: number;
  /** Sub-day validity (`agent certify --validity 12h`); not with validityDays. */
  validitySeconds?: number;
}

export interface RenewInput extends CertifyInput {
  /** What the agent runs now: compared with the registration (drift). */
  observed?: { modelHash?: StoredModelHash; scope?: string[] };
}

export interface CertifiedAgent {
  agent: AgentRecord;
  serial: string;
  pem: string;
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  keyUri?: string;
  warnings: string[];
}

const notFound = (agentId: string): AgentCaError =>
  new AgentCaError('AGENT_NOT_FOUND', `no agent ${agentId}`, { agentId });

/** Reads { publicKey | csr | createKeyIn, keyType?, validityDays? } from a JSON body into `bad` / the result. */
export function readCertifyInput(b: Record<string, unknown>, bad: Record<string, string>): CertifyInput {
  const out: CertifyInput = {};
  for (const k of ['publicKey', 'csr', 'createKeyIn', 'keyType'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') bad[k] = 'must be a non-empty string';
    else out[k] = v as never;
  }
  if (out.createKeyIn !== undefined && !['awskms', 'pkcs11'].includes(out.createKeyIn))
    bad.createKeyIn = 'must be awskms or pkcs11';
  if ([out.publicKey, out.csr, out.createKeyIn].filter((x) => x !== undefined).length > 1)
    bad.publicKey = 'give at most one of publicKey, csr, createKeyIn';
  const d = b.validityDays;
  if (d !== undefined) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) bad.validityDays = 'must be a positive integer';
    else out.validityDays = d;
  }
  const s = b.validitySeconds;
  if (s !== undefined) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 60)
      bad.validitySeconds = 'must be an integer of at least 60';
    else out.validitySeconds = s;
  }
  return out;
}

export class AgentService {
  readonly registry: AgentRegistry;
  /** Told once an agent is decommissioned (Tenancy revokes its agent tokens). */
  onDecommissioned: ((agentId: string, actor: string) => Promise<void>) | undefined;

  constructor(
    readonly authority: Authority,
    readonly tenants: TenantRegistry,
    private readonly risk?: () => RiskEngine | undefined,
  ) {
    this.registry = new AgentRegistry({ store: authority.store, audit: () => authority.audit, clock: authority.clock });
  }

  async require(agentId: string): Promise<AgentRecord> {
    const r = await this.registry.get(agentId);
    if (!r) throw notFound(agentId);
    return r;
  }

  /** Registers `body` ({ agentId, ...AgentSpec }) in `tenant`. */
  async register(tenant: string, body: unknown, actor: string): Promise<AgentRecord> {
    const b = requireObject(body);
    const bad: Record<string, string> = {};
    const known = new Set([
      'agentId',
      'tenant',
      'organization',
      'environment',
      'scope',
      'policy',
      'modelHash',
      'profile',
      'dnsNames',
      'uris',
    ]);
    for (const k of Object.keys(b)) if (!known.has(k)) bad[k] = 'unknown field';
    const spec = readAgentSpec(b, this.authority.config.oidArc, bad);
    refuseFields(bad);
    const agentId = validAgentId(b.agentId);
    await this.tenants.require(tenant);
    if (spec.profile) this.authority.profile(spec.profile);
    const clean = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== null)) as AgentSpec;
    return this.registry.register({ agentId, tenant, ...clean }, actor);
  }

  /**
   * Changes the registered defaults; they apply to the next certificate. A model-hash change
   * marks the current certificate superseded (renewal-info then asks for a renewal now).
   */
  async patch(agentId: string, body: unknown, actor: string): Promise<{ agent: AgentRecord; superseded?: string }> {
    const b = requireObject(body);
    const bad: Record<string, string> = {};
    for (const k of Object.keys(b))
      if (
        !(
          ['organization', 'environment', 'scope', 'policy', 'modelHash', 'profile', 'dnsNames', 'uris'] as string[]
        ).includes(k)
      )
        bad[k] = 'unknown field (agentId and tenant cannot change)';
    const spec = readAgentSpec(b, this.authority.config.oidArc, bad);
    refuseFields(bad);
    if (spec.profile) this.authority.profile(spec.profile);
    let superseded: string | undefined;
    const agent = await this.registry.update(
      agentId,
      actor,
      'agent.update',
      (old) => {
        if (old.status !== 'active')
          throw new AgentCaError('AGENT_DECOMMISSIONED', `agent ${agentId} is ${old.status}`, { agentId });
        const next: AgentRecord = { ...old };
        for (const [k, v] of Object.entries(spec)) {
          if (v === null) delete (next as unknown as Record<string, unknown>)[k];
          else (next as unknown as Record<string, unknown>)[k] = v;
        }
        const hashChanged =
          'modelHash' in spec && JSON.stringify(old.modelHash ?? null) !== JSON.stringify(next.modelHash ?? null);
        if (hashChanged && old.currentSerial) {
          superseded = old.currentSerial;
          next.superseded = {
            serial: old.currentSerial,
            at: this.authority.clock.now().toISOString(),
            because: 'modelHash changed',
          };
        }
        return next;
      },
      { changed: Object.keys(spec) },
    );
    return { agent, ...(superseded ? { superseded } : {}) };
  }

  /** Issues the agent's next certificate from its registration. */
  async certify(
    agentId: string,
    input: CertifyInput,
    actor: string,
    extra: Partial<AgentIssueRequest> = {},
  ): Promise<CertifiedAgent> {
    const agent = await this.require(agentId);
    if (agent.status !== 'active')
      throw new AgentCaError(
        'AGENT_DECOMMISSIONED',
        `agent ${agentId} is ${agent.status}: it gets no new certificate`,
        { agentId },
      );
    const keys = input.publicKey ?? input.csr ?? input.createKeyIn;
    const req: AgentIssueRequest = {
      ...issueRequestOf(agent.agentId, agent.tenant, agent),
      ...(input.publicKey ? { publicKey: input.publicKey } : {}),
      ...(input.csr ? { csr: input.csr } : {}),
      // No key given: a new one in KMS (the user's one-call flow), never a key the CA would hold in the clear.
      ...(keys === undefined ? { createKeyIn: 'awskms' } : input.createKeyIn ? { createKeyIn: input.createKeyIn } : {}),
      ...(input.keyType ? { keyType: input.keyType } : {}),
      ...(input.validityDays !== undefined ? { validityDays: input.validityDays } : {}),
      ...(input.validitySeconds !== undefined ? { validitySeconds: input.validitySeconds } : {}),
      ...extra,
      actor,
    };
    const issued = await this.authority.issue(req);
    const record = await this.authority.store.certificates.get(issued.serial);
    const keyUri = record?.keyUri;
    const updated = await this.registry.update(
      agentId,
      actor,
      'agent.certified',
      (old) => {
        // The key of the newest certificate: a renewal with the agent's own key leaves no CA-held one.
        const { superseded: _s, keyUri: _k, ...rest } = old;
        return { ...rest, currentSerial: issued.serial, ...(keyUri ? { keyUri } : {}) };
      },
      { serial: issued.serial, ...(extra.renewalOf ? { renewalOf: extra.renewalOf } : {}) },
    );
    return {
      agent: updated,
      serial: issued.serial,
      pem: issued.pem,
      chainPem: issued.chainPem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      ...(keyUri ? { keyUri } : {}),
      warnings: issued.warnings,
    };
  }

  /**
   * Renewal (MiCA Art. 70: identity and scope re-verified): refused with AGENT_DRIFTED naming
   * each difference when what the agent runs (`observed`) differs from its registration; the
   * operator re-registers (PATCH, audited) to accept the change. A fresh key is expected.
   */
  async renew(agentId: string, input: RenewInput, actor: string): Promise<CertifiedAgent> {
    const agent = await this.require(agentId);
    const drift = driftOf(agent, input.observed ?? {});
    if (drift.length > 0) {
      await this.authority.audit.append({
        actor,
        action: 'agent.renew.refused',
        subject: agentId,
        details: { tenant: agent.tenant, drift },
      });
      throw new AgentCaError(
        'AGENT_DRIFTED',
        `agent ${agentId} drifted from its registration: ${drift.map((d) => d.field).join(', ')} changed; the operator must re-register it (PATCH /api/v1/agents/${agentId}) before it is renewed`,
        { agentId, drift },
      );
    }
    const current = agent.currentSerial;
    return this.certify(agentId, input, actor, current ? { renewalOf: current as Serial } : {});
  }

  /** Revokes every certificate of the agent (cessationOfOperation) and marks it decommissioned. */
  async decommission(agentId: string, actor: string): Promise<AgentRecord> {
    const agent = await this.require(agentId);
    if (agent.status === 'decommissioned') return agent;
    const views = await this.authority.list({ agentId });
    const serials = views
      .filter((v) => v.record.tenant === agent.tenant && v.status.state !== 'revoked' && v.status.state !== 'expired')
      .map((v) => v.record.serial);
    // Intent first (with the list), so a crash in the middle is finished by resume().
    await this.registry.update(
      agentId,
      actor,
      'agent.decommission.requested',
      (old) => ({ ...old, status: 'decommissioning' }),
      { serials },
    );
    return this.finishDecommission(agentId, serials, actor);
  }

  private async finishDecommission(agentId: string, serials: string[], actor: string): Promise<AgentRecord> {
    for (const serial of serials) {
      const view = await this.authority.show(serial);
      if (view.status.state === 'revoked') continue;
      await this.authority.revoke(serial, {
        reason: 'cessationOfOperation',
        actor,
        details: { decommission: agentId },
      });
    }
    const at = this.authority.clock.now().toISOString();
    const done = await this.registry.update(
      agentId,
      actor,
      'agent.decommission',
      (old) => ({ ...old, status: 'decommissioned', decommissioned: { at, serials } }),
      { serials, outcome: 'committed' },
    );
    await this.onDecommissioned?.(agentId, actor);
    return done;
  }

  /** Finishes decommissions a crash interrupted (server start). */
  async resume(): Promise<number> {
    let n = 0;
    for (const t of await this.tenants.list()) {
      for (const a of await this.registry.list([t.name], 'decommissioning')) {
        const serials = (await this.authority.list({ agentId: a.agentId }))
          .filter((v) => v.record.tenant === a.tenant && v.status.state !== 'expired')
          .map((v) => v.record.serial);
        await this.finishDecommission(a.agentId, serials, 'decommission-resume');
        n++;
      }
    }
    return n;
  }

  async certificates(agent: AgentRecord): Promise<CertificateView[]> {
    return (await this.authority.list({ agentId: agent.agentId })).filter((v) => v.record.tenant === agent.tenant);
  }

  /** The registration, its certificates with status, and its current risk. */
  async view(agentId: string): Promise<Record<string, unknown>> {
    const agent = await this.require(agentId);
    const certs = await this.certificates(agent);
    const risk = agent.currentSerial ? await this.riskOf(agent.currentSerial) : undefined;
    return {
      ...agent,
      certificates: certs.map((v) => ({
        serial: v.record.serial,
        status: v.status.state,
        ...(v.status.reason ? { reason: v.status.reason } : {}),
        notBefore: v.record.notBefore.toISOString(),
        notAfter: v.record.notAfter.toISOString(),
        ...(v.record.renewalOf ? { renewalOf: v.record.renewalOf } : {}),
        ...(agent.superseded?.serial === v.record.serial ? { superseded: true } : {}),
        ...(v.record.serial === agent.currentSerial ? { current: true } : {}),
      })),
      risk: risk ?? null,
    };
  }

  /** Score, band, features and contributions of the agent's current certificate now. */
  async riskOf(serial: string): Promise<Record<string, unknown> | undefined> {
    const engine = this.risk?.();
    if (!engine) return undefined;
    const a = await engine.score(serial);
    const t = tenantRiskConfig(engine.config, a.tenant).thresholds;
    return {
      serial: a.serial,
      at: a.at,
      score: a.value,
      band: a.band,
      thresholds: t,
      features: Object.fromEntries(FEATURE_NAMES.map((n) => [n, a.reasons.find((r) => r.feature === n)?.value ?? 0])),
      contributions: a.reasons.map((r) => ({ feature: r.feature, contribution: r.contribution, detail: r.detail })),
      // The counts behind each feature over the window: the agent's recent events in summary.
      events: Object.fromEntries(a.reasons.map((r) => [r.feature, r.raw])),
    };
  }

  /** The suggested renewal window of the agent's current certificate (RFC 9773 ARI manner). */
  async renewalInfo(agentId: string): Promise<RenewalInfo> {
    const agent = await this.require(agentId);
    if (!agent.currentSerial)
      throw new AgentCaError('CERT_NOT_FOUND', `agent ${agentId} has no certificate yet`, { agentId });
    const view = await this.authority.show(agent.currentSerial);
    const d = describeCertificate(view.record.der, this.authority.config.oidArc);
    return renewalWindow({
      serial: view.record.serial,
      notBefore: view.record.notBefore,
      notAfter: view.record.notAfter,
      state: view.status.state,
      ...(agent.superseded ? { superseded: agent.superseded.because } : {}),
      drift: driftOf(agent, {
        ...(d.agent.modelHash
          ? {
              modelHash: {
                algorithm: d.agent.modelHash.algorithm as StoredModelHash['algorithm'],
                digest: d.agent.modelHash.digest,
              },
            }
          : {}),
        ...(d.agent.agentScope ? { scope: d.agent.agentScope } : {}),
      }),
      now: this.authority.clock.now(),
    });
  }
}

export type { Drift };
