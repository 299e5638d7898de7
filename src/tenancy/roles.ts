/**
 * Who is asking, and what they may touch (docs/tenancy.md). Four roles:
 *   admin    every tenant, every route;
 *   operator register / certify / revoke / hold / release, webhooks, notifications, events, in its tenant;
 *   auditor  read-only, audit export and reports, in its tenant;
 *   agent    its own events, signing with its own CA-held key, reading itself.
 * An object of another tenant (or, for an agent, of another agent) is reported as absent:
 * `hidden()` answers 404, never 403, so a token cannot probe for other tenants' names or serials.
 * A role that may not use a route at all gets 403 (that says nothing about any object).
 */
import { AgentCaError, type ErrorCodeName } from '../errors.js';

export const ROLES = ['admin', 'operator', 'auditor', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export interface Principal {
  /** Token id (`tok_...`), or `env` for AGENT_CA_ADMIN_TOKEN. */
  id: string;
  name: string;
  role: Role;
  /** Set for every role but admin. */
  tenant?: string;
  /** Set for the agent role. */
  agentId?: string;
}

/** The owner of an object as far as access goes. */
export interface Owned {
  tenant?: string | null;
  agentId?: string | null;
}

/** Whether `p` may see `o`: admin always; others only inside their tenant; an agent only itself. */
export function canSee(p: Principal, o: Owned): boolean {
  if (p.role === 'admin') return true;
  if ((o.tenant ?? undefined) !== p.tenant) return false;
  if (p.role === 'agent') return (o.agentId ?? undefined) === p.agentId;
  return true;
}

/** 403 unless the principal's role is one of `roles`. */
export function requireRole(p: Principal, roles: readonly Role[], what: string): void {
  if (!roles.includes(p.role)) {
    throw new AgentCaError('HTTP_FORBIDDEN', `a ${p.role} token may not ${what} (needs ${roles.join(' or ')})`, {
      role: p.role,
      allowed: [...roles],
    });
  }
}

/**
 * Returns `o` when `p` may see it, else throws the same not-found error a missing object gets.
 * Callers pass the error they would throw for a missing object, so both read alike on the wire.
 */
export function visibleOr<T extends Owned>(p: Principal, o: T | undefined, notFound: () => AgentCaError): T {
  if (o === undefined || !canSee(p, o)) throw notFound();
  return o;
}

/** The tenant a request acts in: the principal's own, or (admin only) the one asked for. */
export function tenantFor(
  p: Principal,
  asked: string | undefined,
  missing: ErrorCodeName = 'INPUT_INVALID',
): string | undefined {
  if (p.role === 'admin') return asked;
  if (asked !== undefined && asked !== p.tenant) {
    // Naming another tenant reads as naming one that does not exist.
    throw new AgentCaError('TENANT_NOT_FOUND', `no tenant ${JSON.stringify(asked)}`, { tenant: asked });
  }
  if (p.tenant === undefined) throw new AgentCaError(missing, 'this token has no tenant');
  return p.tenant;
}
