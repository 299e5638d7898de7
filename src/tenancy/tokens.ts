/**
 * API tokens (docs/tenancy.md): a name, a role, a tenant (all roles but admin), an agent (role
 * agent) and an optional expiry. A token is `aca_` + 32 random bytes (base64url), printed once;
 * only its SHA-256 is stored, in ONE store meta value with the audit entry of each change in
 * the same commit. Tokens take effect without a restart: changes made through this object are
 * seen at once, and a token unknown to the in-memory snapshot triggers a re-read (at most one
 * per second) so a token created by another process on the same store works on first use;
 * the snapshot is re-read at least every 5 seconds so a revocation made elsewhere lands too.
 * Admin tokens of the first releases (meta key `admin-tokens`) keep working as role admin.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { Mutex } from '../store/mutex.js';
import type { Store } from '../store/ports.js';
import { isRole, type Principal, type Role } from './roles.js';

export const TOKENS_KEY = 'tenancy.tokens';
/** Where the first releases kept admin token hashes ({ name, sha256, createdAt }[]). */
export const LEGACY_ADMIN_TOKENS_KEY = 'admin-tokens';
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MISS_RELOAD_MS = 1000;
const MAX_SNAPSHOT_AGE_MS = 5000;

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  tenant?: string;
  agentId?: string;
  sha256: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
}

/** What list() shows: never the hash. */
export type TokenView = Omit<TokenRecord, 'sha256'> & { state: 'active' | 'expired' | 'revoked' };

export interface CreateTokenInput {
  name: unknown;
  role: unknown;
  tenant?: unknown;
  agentId?: unknown;
  /** `90d`, `12h`, `30m`, or an ISO 8601 time. */
  expires?: unknown;
}

/** What the caller must check before a token is made: the tenant exists, the agent is that tenant's. */
export interface TokenSubjectCheck {
  (role: Role, tenant: string | undefined, agentId: string | undefined): Promise<void>;
}

const invalid = (field: string, message: string): AgentCaError =>
  new AgentCaError('INPUT_INVALID', `${field} ${message}`, { fields: { [field]: message } });

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** `90d` / `12h` / `30m` from now, or an absolute ISO 8601 time; must lie in the future. */
export function parseExpiry(v: unknown, now: Date): Date | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid('expires', 'must be like 90d, 12h, 30m or an ISO 8601 time');
  const rel = v.match(/^([1-9][0-9]{0,5})([dhm])$/);
  const at = rel
    ? new Date(now.getTime() + Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'])
    : /^\d{4}-\d{2}-\d{2}T/.test(v)
      ? new Date(v)
      : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw invalid('expires', 'must be like 90d, 12h, 30m or an ISO 8601 time');
  if (at.getTime() <= now.getTime()) throw invalid('expires', 'must lie in the future');
  return at;
}

function stateOf(t: TokenRecord, now: Date): TokenView['state'] {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

export function tokenView(t: TokenRecord, now: Date): TokenView {
  const { sha256: _hash, ...rest } = t;
  return { ...rest, state: stateOf(t, now) };
}

interface Snapshot {
  at: number;
  entries: { hash: Buffer; record: TokenRecord }[];
}

export class TokenStore {
  private readonly mutex = new Mutex();
  private snapshot: Snapshot | undefined;
  private lastMissReload = -Infinity;
  private readonly envHash: Buffer | undefined;

  constructor(private readonly deps: { store: Store; audit: () => AuditLog; clock: Clock; envToken?: string }) {
    this.envHash = deps.envToken ? hashToken(deps.envToken) : undefined;
  }

  private async records(): Promise<TokenRecord[]> {
    const own = (await this.deps.store.meta.get<TokenRecord[]>(TOKENS_KEY)) ?? [];
    const legacy =
      (await this.deps.store.meta.get<{ name: string; sha256: string; createdAt: string }[]>(
        LEGACY_ADMIN_TOKENS_KEY,
      )) ?? [];
    return [
      ...legacy.map((t) => ({
        id: `legacy:${t.name}`,
        name: t.name,
        role: 'admin' as const,
        sha256: t.sha256,
        createdAt: t.createdAt,
      })),
      ...own,
    ];
  }

  async reload(): Promise<void> {
    const list = await this.records();
    this.snapshot = {
      at: performance.now(),
      entries: list.map((record) => ({ hash: Buffer.from(record.sha256, 'hex'), record })),
    };
  }

  /** The principal behind an `Authorization: Bearer` header, or undefined (unknown, expired, revoked). */
  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    const m = header?.match(/^Bearer\s+(\S+)$/i);
    if (!m) return undefined;
    const h = hashToken(m[1]!);
    if (this.envHash && timingSafeEqual(this.envHash, h))
      return { id: 'env', name: 'env:AGENT_CA_ADMIN_TOKEN', role: 'admin' };
    // A monotonic timer only paces re-reads of the store; validity is decided on the injected clock.
    if (!this.snapshot || performance.now() - this.snapshot.at > MAX_SNAPSHOT_AGE_MS) await this.reload();
    let found = this.find(h);
    if (!found && performance.now() - this.lastMissReload > MISS_RELOAD_MS) {
      this.lastMissReload = performance.now();
      await this.reload();
      found = this.find(h);
    }
    if (!found || stateOf(found, this.deps.clock.now()) !== 'active') return undefined;
    return {
      id: found.id,
      name: found.name,
      role: found.role,
      ...(found.tenant !== undefined ? { tenant: found.tenant } : {}),
      ...(found.agentId !== undefined ? { agentId: found.agentId } : {}),
    };
  }

  private find(h: Buffer): TokenRecord | undefined {
    let found: TokenRecord | undefined;
    // Every stored hash is compared (constant time each), so timing says nothing about which matched.
    for (const e of this.snapshot?.entries ?? []) if (timingSafeEqual(e.hash, h)) found = e.record;
    return found;
  }

  /** Creates a token; returns it (shown once) and its record. `check` vets tenant and agent. */
  async create(
    input: CreateTokenInput,
    actor: string,
    check: TokenSubjectCheck,
  ): Promise<{ token: string; view: TokenView }> {
    const now = this.deps.clock.now();
    if (typeof input.name !== 'string' || !NAME.test(input.name))
      throw invalid('name', 'must be 1..64 characters of A-Z a-z 0-9 . _ -');
    if (!isRole(input.role)) throw invalid('role', 'must be admin, operator, auditor or agent');
    const role = input.role;
    const tenant = input.tenant;
    const agentId = input.agentId;
    if (role === 'admin' && tenant !== undefined)
      throw invalid('tenant', 'is not allowed for an admin token (admin spans every tenant)');
    if (role !== 'admin' && (typeof tenant !== 'string' || tenant === ''))
      throw invalid('tenant', `is required for a ${role} token`);
    if (role === 'agent' && (typeof agentId !== 'string' || agentId === ''))
      throw invalid('agentId', 'is required for an agent token');
    if (role !== 'agent' && agentId !== undefined) throw invalid('agentId', 'is only for agent tokens');
    const expiresAt = parseExpiry(input.expires, now);
    await check(role, tenant as string | undefined, agentId as string | undefined);
    const token = `aca_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      id: `tok_${randomBytes(8).toString('hex')}`,
      name: input.name,
      role,
      ...(typeof tenant === 'string' ? { tenant } : {}),
      ...(typeof agentId === 'string' ? { agentId } : {}),
      sha256: hashToken(token).toString('hex'),
      createdAt: now.toISOString(),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    };
    await this.rewrite(actor, 'token.create', record, (list) => [...list, record]);
    return { token, view: tokenView(record, now) };
  }

  /** Marks a token revoked (kept, so the audit trail can name it). TOKEN_NOT_FOUND when `visible` hides it. */
  async revoke(id: string, actor: string, visible: (t: TokenRecord) => boolean = () => true): Promise<TokenView> {
    const now = this.deps.clock.now();
    let out: TokenRecord | undefined;
    await this.rewrite(actor, 'token.revoke', { id }, (list) => {
      const t = list.find((x) => x.id === id);
      if (!t || !visible(t)) throw new AgentCaError('TOKEN_NOT_FOUND', `no token ${JSON.stringify(id)}`, { id });
      out = t.revokedAt ? t : { ...t, revokedAt: now.toISOString() };
      return list.map((x) => (x.id === id ? out! : x));
    });
    return tokenView(out!, now);
  }

  async list(visible: (t: TokenRecord) => boolean = () => true): Promise<TokenView[]> {
    const now = this.deps.clock.now();
    return (await this.records()).filter(visible).map((t) => tokenView(t, now));
  }

  private rewrite(
    actor: string,
    action: string,
    subject: Partial<TokenRecord>,
    change: (list: TokenRecord[]) => TokenRecord[],
  ): Promise<void> {
    return this.mutex.run(async () => {
      const list = (await this.deps.store.meta.get<TokenRecord[]>(TOKENS_KEY)) ?? [];
      const next = change(list);
      const { sha256: _h, ...details } = next.find((t) => t.id === subject.id) ?? subject;
      await this.deps.audit().appendWith([{ op: 'putMeta', key: TOKENS_KEY, value: next }], {
        actor,
        action,
        subject: `token:${subject.id}`,
        details: { ...details },
      });
      await this.reload();
    });
  }
}
