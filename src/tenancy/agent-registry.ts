/**
 * The agent registry's storage (docs/tenancy.md): one store meta value per agent
 * (`tenancy.agent.<id>`) and one index per tenant (`tenancy.agents.<tenant>`, the ids), each
 * change committed with its audit entry in one store commit. Agent ids are global, not per
 * tenant: the id is the certificate's CN and its DNS label under the CA's agent domain, and
 * two tenants cannot both own `trading-bot.agents.example`.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { Mutex } from '../store/mutex.js';
import type { Store, WriteOp } from '../store/ports.js';
import type { AgentSpec } from './agent-spec.js';

export type AgentStatus = 'active' | 'decommissioning' | 'decommissioned';
export const AGENT_STATUSES: readonly AgentStatus[] = ['active', 'decommissioning', 'decommissioned'];
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface AgentRecord extends AgentSpec {
  agentId: string;
  tenant: string;
  status: AgentStatus;
  createdAt: string;
  updatedAt: string;
  /** Bumped by every change of the registration. */
  revision: number;
  /** The newest certificate issued from this registration. */
  currentSerial?: string;
  /** Where its private key lives when the CA created it (KMS); never the key. */
  keyUri?: string;
  /** Set when a model-hash change made the current certificate stale; cleared by the next certificate. */
  superseded?: { serial: string; at: string; because: string };
  /** The serials revoked by decommissioning. */
  decommissioned?: { at: string; serials: string[] };
}

const agentKey = (id: string): string => `tenancy.agent.${id}`;
const indexKey = (tenant: string): string => `tenancy.agents.${tenant}`;

export function validAgentId(v: unknown): string {
  if (typeof v !== 'string' || !AGENT_ID.test(v)) {
    throw new AgentCaError(
      'INPUT_INVALID',
      'agentId must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit',
      { fields: { agentId: 'must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit' } },
    );
  }
  return v;
}

export class AgentRegistry {
  private readonly mutex = new Mutex();

  constructor(private readonly deps: { store: Store; audit: () => AuditLog; clock: Clock }) {}

  get(agentId: string): Promise<AgentRecord | undefined> {
    return this.deps.store.meta.get<AgentRecord>(agentKey(agentId));
  }

  async ids(tenant: string): Promise<string[]> {
    return (await this.deps.store.meta.get<string[]>(indexKey(tenant))) ?? [];
  }

  async list(tenants: readonly string[], status?: AgentStatus): Promise<AgentRecord[]> {
    const out: AgentRecord[] = [];
    for (const t of tenants) {
      for (const id of await this.ids(t)) {
        const r = await this.get(id);
        if (r && r.tenant === t && (!status || r.status === status)) out.push(r);
      }
    }
    return out.sort((a, b) => a.agentId.localeCompare(b.agentId));
  }

  /** Adds a registration; AGENT_EXISTS when the id is taken (in any tenant). */
  register(
    record: Omit<AgentRecord, 'createdAt' | 'updatedAt' | 'revision' | 'status'>,
    actor: string,
  ): Promise<AgentRecord> {
    return this.mutex.run(async () => {
      if (await this.get(record.agentId))
        throw new AgentCaError('AGENT_EXISTS', `agent ${record.agentId} is already registered`, {
          agentId: record.agentId,
        });
      const now = this.deps.clock.now().toISOString();
      const rec: AgentRecord = { ...record, status: 'active', createdAt: now, updatedAt: now, revision: 1 };
      const ids = await this.ids(rec.tenant);
      await this.commit(
        [
          { op: 'putMeta', key: agentKey(rec.agentId), value: rec },
          { op: 'putMeta', key: indexKey(rec.tenant), value: [...ids, rec.agentId] },
        ],
        rec,
        actor,
        'agent.register',
      );
      return rec;
    });
  }

  /**
   * Read-modify-write of one registration under the registry's lock, committed with its audit
   * entry (`action`, plus `details`). `change` may throw to refuse; it returns the new record.
   */
  update(
    agentId: string,
    actor: string,
    action: string,
    change: (r: AgentRecord) => AgentRecord,
    details: Record<string, unknown> = {},
  ): Promise<AgentRecord> {
    return this.mutex.run(async () => {
      const old = await this.get(agentId);
      if (!old) throw new AgentCaError('AGENT_NOT_FOUND', `no agent ${agentId}`, { agentId });
      const next = {
        ...change(old),
        agentId: old.agentId,
        tenant: old.tenant,
        revision: old.revision + 1,
        updatedAt: this.deps.clock.now().toISOString(),
      };
      await this.commit([{ op: 'putMeta', key: agentKey(agentId), value: next }], next, actor, action, details);
      return next;
    });
  }

  private async commit(
    ops: WriteOp[],
    rec: AgentRecord,
    actor: string,
    action: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const { createdAt: _c, updatedAt: _u, ...shown } = rec;
    await this.deps.audit().appendWith(ops, { actor, action, subject: rec.agentId, details: { ...shown, ...details } });
  }
}
