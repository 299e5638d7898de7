/**
 * Tenants: the operators that register agents (docs/tenancy.md). Each carries its risk
 * thresholds (warning, revoke) and its event quota (events per second). The list is short, so
 * it is ONE store meta value rewritten under a mutex, with its audit entry in the same commit.
 * Thresholds set here override <dataDir>/risk-config.json's for that tenant (which is still read
 * for everything else: weights, features, and tenants not registered here).
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { Mutex } from '../store/mutex.js';
import type { Store } from '../store/ports.js';

export const TENANTS_KEY = 'tenancy.tenants';
/** The user's figure: 1,000 events/s per tenant. */
export const DEFAULT_EVENTS_PER_SECOND = 1000;
const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface TenantThresholds {
  warning?: number;
  revoke?: number;
}

export interface TenantRecord {
  name: string;
  createdAt: string;
  thresholds: TenantThresholds;
  eventsPerSecond: number;
}

export interface CreateTenantInput {
  name: unknown;
  warning?: unknown;
  revoke?: unknown;
  eventsPerSecond?: unknown;
}

function invalid(field: string, message: string): AgentCaError {
  return new AgentCaError('INPUT_INVALID', `${field} ${message}`, { fields: { [field]: message } });
}

export function validTenantName(v: unknown): string {
  if (typeof v !== 'string' || !TENANT_NAME.test(v))
    throw invalid('name', 'must be 1..128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit');
  return v;
}

function threshold(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1)
    throw invalid(field, 'must be a number in (0, 1]');
  return v;
}

export function parseTenantInput(input: CreateTenantInput): Omit<TenantRecord, 'createdAt'> {
  const name = validTenantName(input.name);
  const warning = threshold(input.warning, 'warning');
  const revoke = threshold(input.revoke, 'revoke');
  if (warning !== undefined && revoke !== undefined && warning > revoke)
    throw invalid('warning', `(${warning}) must not be above revoke (${revoke})`);
  let eventsPerSecond = DEFAULT_EVENTS_PER_SECOND;
  if (input.eventsPerSecond !== undefined) {
    const e = input.eventsPerSecond;
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 1 || e > 1_000_000)
      throw invalid('eventsPerSecond', 'must be an integer in [1, 1000000]');
    eventsPerSecond = e;
  }
  return {
    name,
    thresholds: { ...(warning !== undefined ? { warning } : {}), ...(revoke !== undefined ? { revoke } : {}) },
    eventsPerSecond,
  };
}

export class TenantRegistry {
  private readonly mutex = new Mutex();
  private cache: Map<string, TenantRecord> | undefined;
  /** Told after every change (the risk engine re-derives thresholds, the quota its rate). */
  onChange: ((t: TenantRecord) => void) | undefined;

  constructor(private readonly deps: { store: Store; audit: () => AuditLog; clock: Clock }) {}

  private async load(): Promise<Map<string, TenantRecord>> {
    if (!this.cache) {
      const list = (await this.deps.store.meta.get<TenantRecord[]>(TENANTS_KEY)) ?? [];
      this.cache = new Map(list.map((t) => [t.name, t]));
    }
    return this.cache;
  }

  async list(): Promise<TenantRecord[]> {
    return [...(await this.load()).values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<TenantRecord | undefined> {
    return (await this.load()).get(name);
  }

  async require(name: string): Promise<TenantRecord> {
    const t = await this.get(name);
    if (!t)
      throw new AgentCaError('TENANT_NOT_FOUND', `no tenant ${JSON.stringify(name)} (agent-ca tenant create)`, {
        tenant: name,
      });
    return t;
  }

  /** Creates a tenant; TENANT_EXISTS when the name is taken. */
  create(input: CreateTenantInput, actor: string): Promise<TenantRecord> {
    const parsed = parseTenantInput(input);
    return this.write(parsed.name, actor, 'tenant.create', (old) => {
      if (old) throw new AgentCaError('TENANT_EXISTS', `tenant ${parsed.name} already exists`, { tenant: parsed.name });
      return { ...parsed, createdAt: this.deps.clock.now().toISOString() };
    });
  }

  /** Changes thresholds and/or quota of an existing tenant. */
  update(name: string, input: Omit<CreateTenantInput, 'name'>, actor: string): Promise<TenantRecord> {
    return this.write(name, actor, 'tenant.update', (old) => {
      if (!old) throw new AgentCaError('TENANT_NOT_FOUND', `no tenant ${JSON.stringify(name)}`, { tenant: name });
      const merged = parseTenantInput({
        name,
        warning: input.warning ?? old.thresholds.warning,
        revoke: input.revoke ?? old.thresholds.revoke,
        eventsPerSecond: input.eventsPerSecond ?? old.eventsPerSecond,
      });
      return { ...old, ...merged };
    });
  }

  private write(
    name: string,
    actor: string,
    action: string,
    next: (old: TenantRecord | undefined) => TenantRecord,
  ): Promise<TenantRecord> {
    return this.mutex.run(async () => {
      this.cache = undefined; // another process sharing the store may have written
      const all = await this.load();
      const rec = next(all.get(name));
      const list = [...all.values()].filter((t) => t.name !== name).concat(rec);
      await this.deps.audit().appendWith([{ op: 'putMeta', key: TENANTS_KEY, value: list }], {
        actor,
        action,
        subject: `tenant:${name}`,
        details: { tenant: name, thresholds: rec.thresholds, eventsPerSecond: rec.eventsPerSecond },
      });
      all.set(name, rec);
      this.onChange?.(rec);
      return rec;
    });
  }
}
