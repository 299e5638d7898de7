/**
 * Bearer-token authentication at the HTTP edge (docs/tenancy.md). Tokens come from the token
 * store (src/tenancy/tokens.ts: `agent-ca token create`, POST /api/v1/tokens), plus
 * AGENT_CA_ADMIN_TOKEN as an admin. `guard` answers 401 problem+json without a valid token and
 * puts the caller's Principal (role, tenant, agent) on `request.principal`; every route then
 * checks role and tenant with src/tenancy/roles.ts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditLog } from '../../audit/audit-log.js';
import { systemClock, type Clock } from '../../clock.js';
import { AgentCaError } from '../../errors.js';
import type { Store } from '../../store/ports.js';
import type { Principal } from '../../tenancy/roles.js';
import { TokenStore } from '../../tenancy/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by AdminTokens.guard on every authenticated route. */
    principal?: Principal;
  }
}

export class AdminTokens {
  readonly store: TokenStore;

  constructor(store: Store, envToken?: string, deps?: { tokens?: TokenStore; clock?: Clock }) {
    const clock = deps?.clock ?? systemClock;
    this.store =
      deps?.tokens ??
      new TokenStore({ store, audit: () => new AuditLog({ store, clock }), clock, ...(envToken ? { envToken } : {}) });
  }

  reload(): Promise<void> {
    return this.store.reload();
  }

  /** fastify preHandler: 401 problem+json without a valid token; sets request.principal. */
  guard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const p = await this.store.authenticate(request.headers.authorization);
    if (!p) {
      reply.header('www-authenticate', 'Bearer realm="agent-ca"');
      throw new AgentCaError(
        'HTTP_UNAUTHORIZED',
        'a valid bearer token is required (agent-ca token create, or AGENT_CA_ADMIN_TOKEN)',
      );
    }
    request.principal = p;
  };
}

/** The authenticated caller (routes behind `guard` only). */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new AgentCaError('HTTP_UNAUTHORIZED', 'a valid bearer token is required');
  return p;
}

/** The audit actor for a request: `<role>:<token name>` (admin tokens read `admin:<name>` as before). */
export function actorOf(request: FastifyRequest): string {
  const p = principalOf(request);
  return `${p.role}:${p.name}${p.tenant !== undefined ? `@${p.tenant}` : ''}`;
}

/**
 * The first releases' helper: an admin token named `name`, printed once, only its hash stored
 * (now through the token store, audited). New code uses TokenStore.create with a role.
 */
export async function createAdminToken(store: Store, name: string, now: Date): Promise<string> {
  const clock: Clock = { now: () => now };
  const tokens = new TokenStore({ store, audit: () => new AuditLog({ store, clock }), clock });
  return (await tokens.create({ name, role: 'admin' }, 'cli', async () => undefined)).token;
}
