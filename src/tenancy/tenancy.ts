/**
 * The tenancy layer in one object (docs/tenancy.md): tokens, tenants, the agent registry and
 * the event quota, wired to one Authority and (when the server runs one) its risk engine:
 * tenant thresholds flow into the engine at start and on every change, without a restart.
 */
import type { Authority } from '../authority/authority.js';
import { AgentCaError } from '../errors.js';
import type { RiskEngine } from '../risk/engine.js';
import type { AuditEntry } from '../store/ports.js';
import { AgentService } from './agent-service.js';
import { EventQuota } from './quota.js';
import type { Principal, Role } from './roles.js';
import { DEFAULT_EVENTS_PER_SECOND, TenantRegistry, type TenantRecord } from './tenants.js';
import { TokenStore } from './tokens.js';

export interface TenancyOptions {
  /** AGENT_CA_ADMIN_TOKEN: accepted as an admin. */
  envToken?: string;
  risk?: RiskEngine;
}

export class Tenancy {
  readonly tokens: TokenStore;
  readonly tenants: TenantRegistry;
  readonly agents: AgentService;
  readonly quota: EventQuota;
  private readonly rates = new Map<string, number>();

  constructor(
    readonly authority: Authority,
    private readonly opts: TenancyOptions = {},
  ) {
    const deps = { store: authority.store, audit: () => authority.audit, clock: authority.clock };
    this.tokens = new TokenStore({ ...deps, ...(opts.envToken ? { envToken: opts.envToken } : {}) });
    this.tenants = new TenantRegistry(deps);
    this.agents = new AgentService(authority, this.tenants, () => opts.risk);
    this.quota = new EventQuota(authority.clock, (t) => this.rates.get(t) ?? DEFAULT_EVENTS_PER_SECOND);
    this.tenants.onChange = (t) => this.apply(t);
    // A decommissioned agent's tokens die with it (each revocation audited).
    this.agents.onDecommissioned = async (agentId, actor) => {
      for (const t of await this.tokens.list((x) => x.role === 'agent' && x.agentId === agentId && !x.revokedAt))
        await this.tokens.revoke(t.id, actor);
    };
  }

  /** Loads tokens and tenants, applies thresholds, finishes interrupted decommissions. */
  async start(): Promise<void> {
    await this.tokens.reload();
    for (const t of await this.tenants.list()) this.apply(t);
    await this.agents.resume();
  }

  private apply(t: TenantRecord): void {
    this.rates.set(t.name, t.eventsPerSecond);
    if (this.opts.risk && (t.thresholds.warning !== undefined || t.thresholds.revoke !== undefined))
      this.opts.risk.setTenantThresholds(t.name, t.thresholds);
  }

  /** Vets the subject of a new token: its tenant exists; an agent token's agent is registered in it. */
  checkTokenSubject = async (role: Role, tenant: string | undefined, agentId: string | undefined): Promise<void> => {
    if (tenant === undefined) return;
    await this.tenants.require(tenant);
    if (role === 'agent') {
      const a = await this.agents.registry.get(agentId!);
      if (!a || a.tenant !== tenant)
        throw new AgentCaError('AGENT_NOT_FOUND', `no agent ${agentId} in tenant ${tenant} (register it first)`, {
          agentId,
          tenant,
        });
    }
  };

  /** Charges a batch's events to each tenant's quota, all or nothing. */
  admitEvents = (perTenant: ReadonlyMap<string, number>): void => {
    const taken: [string, number][] = [];
    try {
      for (const [tenant, n] of perTenant) {
        // Only registered tenants have a quota: certificates issued with a free-form tenant (or
        // none) before the tenant was registered are the admin's to throttle (docs/tenancy.md).
        if (!this.rates.has(tenant)) continue;
        this.quota.take(tenant, n);
        taken.push([tenant, n]);
      }
    } catch (e) {
      for (const [t, n] of taken) this.quota.refund(t, n);
      throw e;
    }
  };

  /**
   * Which audit entries a principal may read: admin all; a tenant's tokens the entries about
   * its tenant (stamped with it, or naming its agents or certificates) and none that also name
   * another tenant's; an agent only those about itself.
   */
  async auditFilter(p: Principal): Promise<(e: AuditEntry) => boolean> {
    if (p.role === 'admin') return () => true;
    const tenant = p.tenant!;
    const serials = new Set<string>();
    const agents = new Set<string>();
    for (const r of await this.authority.store.certificates.listByTenant(tenant)) {
      if (p.role === 'agent' && r.agentId !== p.agentId) continue;
      serials.add(r.serial);
      if (r.agentId) agents.add(r.agentId);
    }
    if (p.role === 'agent') agents.add(p.agentId!);
    else for (const id of await this.agents.registry.ids(tenant)) agents.add(id);
    const ours = (v: unknown): boolean => typeof v === 'string' && (serials.has(v) || agents.has(v));
    return (e) => {
      const d = e.details;
      if (d.tenant !== undefined && d.tenant !== null && d.tenant !== tenant) return false;
      if (Array.isArray(d.serials)) return d.serials.length > 0 && d.serials.every(ours);
      return (p.role !== 'agent' && d.tenant === tenant) || ours(e.subject) || ours(d.serial) || ours(d.agentId);
    };
  }
}
