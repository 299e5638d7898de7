/**
 * Tenants, tokens and the audit export over HTTP (docs/tenancy.md), behind the bearer token:
 *   POST  /api/v1/tenants            { name, warning?, revoke?, eventsPerSecond? }   admin
 *   GET   /api/v1/tenants                                                           admin: all; others: their own
 *   PATCH /api/v1/tenants/:name      { warning?, revoke?, eventsPerSecond? }          admin
 *   POST  /api/v1/tokens             { name, role, tenant?, agentId?, expires? }   admin -> 201 { token (once), ... }
 *   GET   /api/v1/tokens                                                            admin (never a hash)
 *   DELETE /api/v1/tokens/:id                                                       admin -> the revoked token
 *   GET   /api/v1/audit/export?from=&to=&agentId=                                   admin, auditor: JSON Lines
 * Changes take effect at once in this server (thresholds, quotas, tokens).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { AgentCaError } from '../../errors.js';
import { requireRole } from '../../tenancy/roles.js';
import type { Tenancy } from '../../tenancy/tenancy.js';
import { requireObject } from '../../tenancy/agent-spec.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { schemas } from '../schemas/tenancy.js';
import { useContract } from '../schemas/validation.js';

function isoTime(v: string | undefined, field: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
    throw new AgentCaError('INPUT_INVALID', `${field} must be an ISO 8601 time`, {
      fields: { [field]: 'must be an ISO 8601 time' },
    });
  return d;
}

export async function tenancyRoutes(
  app: FastifyInstance,
  opts: { tenancy: Tenancy; tokens: AdminTokens },
): Promise<void> {
  useContract(app);
  const t = opts.tenancy;
  // onRequest: the token is checked before the body is read or parsed (401 before 413/415).
  app.addHook('onRequest', opts.tokens.guard);

  app.post('/api/v1/tenants', { schema: schemas.createTenant }, async (request, reply) => {
    requireRole(principalOf(request), ['admin'], 'create tenants');
    const b = requireObject(request.body);
    for (const k of Object.keys(b))
      if (!['name', 'warning', 'revoke', 'eventsPerSecond'].includes(k))
        throw new AgentCaError('INPUT_INVALID', `unknown field ${k}`, { fields: { [k]: 'unknown field' } });
    return reply
      .code(201)
      .send(
        await t.tenants.create(
          { name: b.name, warning: b.warning, revoke: b.revoke, eventsPerSecond: b.eventsPerSecond },
          actorOf(request),
        ),
      );
  });

  app.get('/api/v1/tenants', { schema: schemas.listTenants }, async (request) => {
    const p = principalOf(request);
    return { tenants: (await t.tenants.list()).filter((x) => p.role === 'admin' || x.name === p.tenant) };
  });

  app.patch<{ Params: { name: string } }>('/api/v1/tenants/:name', { schema: schemas.patchTenant }, async (request) => {
    requireRole(principalOf(request), ['admin'], 'change tenants');
    const b = requireObject(request.body);
    for (const k of Object.keys(b))
      if (!['warning', 'revoke', 'eventsPerSecond'].includes(k))
        throw new AgentCaError('INPUT_INVALID', `unknown field ${k}`, { fields: { [k]: 'unknown field' } });
    return t.tenants.update(
      request.params.name,
      { warning: b.warning, revoke: b.revoke, eventsPerSecond: b.eventsPerSecond },
      actorOf(request),
    );
  });

  app.post('/api/v1/tokens', { schema: schemas.createToken }, async (request, reply) => {
    requireRole(principalOf(request), ['admin'], 'create tokens');
    const b = requireObject(request.body);
    for (const k of Object.keys(b))
      if (!['name', 'role', 'tenant', 'agentId', 'expires'].includes(k))
        throw new AgentCaError('INPUT_INVALID', `unknown field ${k}`, { fields: { [k]: 'unknown field' } });
    const { token, view } = await t.tokens.create(
      { name: b.name, role: b.role, tenant: b.tenant, agentId: b.agentId, expires: b.expires },
      actorOf(request),
      t.checkTokenSubject,
    );
    return reply.code(201).send({ ...view, token });
  });

  app.get('/api/v1/tokens', { schema: schemas.listTokens }, async (request) => {
    requireRole(principalOf(request), ['admin'], 'list tokens');
    return { tokens: await t.tokens.list() };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', { schema: schemas.revokeToken }, async (request) => {
    requireRole(principalOf(request), ['admin'], 'revoke tokens');
    return t.tokens.revoke(request.params.id, actorOf(request));
  });

  app.get<{ Querystring: { from?: string; to?: string; agentId?: string } }>(
    '/api/v1/audit/export',
    { schema: schemas.auditExport },
    async (request, reply) => {
      const p = principalOf(request);
      requireRole(p, ['admin', 'auditor'], 'export the audit log');
      const from = isoTime(request.query.from, 'from');
      const to = isoTime(request.query.to, 'to');
      const filter = await t.auditFilter(p);
      // Streamed: a seven-year range never sits in memory.
      const lines = t.authority.audit.exportJsonLines({
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(request.query.agentId ? { agentId: request.query.agentId } : {}),
        filter,
      });
      return reply.type('application/x-ndjson').send(Readable.from(lines));
    },
  );
}
