/**
 * POST /api/v1/events — behavioural events, attributed to certificate serials (bearer token);
 * a malformed batch gets 400 problem+json listing every bad field and nothing of it is stored.
 * GET /api/v1/notifications — risk warnings, newest first.
 */
import type { FastifyInstance } from 'fastify';
import { AgentCaError } from '../../errors.js';
import type { RiskService } from '../../risk/service.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { canSee, requireRole, tenantFor } from '../../tenancy/roles.js';
import type { Tenancy } from '../../tenancy/tenancy.js';
import { schemas } from '../schemas/operations.js';
import { useContract } from '../schemas/validation.js';

/**
 * Tenancy (docs/tenancy.md): operators send events for their tenant's certificates, agents for
 * their own; another tenant's serial is refused as unknown. Each batch is charged to its
 * tenants' quotas before anything is stored (429 + Retry-After when over).
 */
export async function riskRoutes(
  app: FastifyInstance,
  opts: { risk: RiskService; tokens: AdminTokens; tenancy?: Tenancy },
): Promise<void> {
  useContract(app);
  // onRequest: the token is checked before the body is read or parsed (401 before 413/415).
  app.addHook('onRequest', opts.tokens.guard);
  const maxBatch = opts.risk.config.limits.maxBatch;

  app.post(
    '/api/v1/events',
    { bodyLimit: Math.max(64 * 1024, maxBatch * 2048), schema: schemas.events },
    async (request, reply) => {
      const body = request.body as { events?: unknown } | undefined;
      if (!body || typeof body !== 'object' || !Array.isArray(body.events)) {
        throw new AgentCaError('INPUT_INVALID', 'body must be { "events": [ ... ] }', {
          fields: { events: 'must be an array' },
        });
      }
      const p = principalOf(request);
      requireRole(p, ['admin', 'operator', 'agent'], 'record events');
      const result = await opts.risk.engine.ingest(body.events, {
        actor: actorOf(request),
        ...(p.tenant !== undefined ? { tenant: p.tenant } : {}),
        ...(p.agentId !== undefined ? { agentId: p.agentId } : {}),
        ...(opts.tenancy ? { admit: opts.tenancy.admitEvents } : {}),
      });
      return reply.code(202).send({ accepted: result.accepted, scores: result.scores });
    },
  );

  app.get<{ Querystring: { serial?: string; tenant?: string; after?: string; limit?: string } }>(
    '/api/v1/notifications',
    { schema: schemas.notifications },
    async (request) => {
      const q = request.query;
      const num = (v: string | undefined, f: string) => {
        if (v === undefined) return undefined;
        if (!/^[0-9]+$/.test(v)) throw new AgentCaError('INPUT_INVALID', `${f} must be a non-negative integer`);
        return Number(v);
      };
      const after = num(q.after, 'after');
      const limit = num(q.limit, 'limit');
      const p = principalOf(request);
      const tenant = tenantFor(p, q.tenant);
      const list = opts.risk.inbox.list({
        ...(q.serial ? { serial: q.serial } : {}),
        ...(tenant ? { tenant } : {}),
        ...(p.agentId !== undefined ? { agentId: p.agentId } : {}),
        ...(after !== undefined ? { after } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      return { notifications: list.filter((n) => canSee(p, n)) };
    },
  );
}
