/** The admin API (bearer token): issue, revoke, hold, release, list. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authority } from '../../authority/authority.js';
import { viewJson } from '../../authority/view-json.js';
import { AgentCaError } from '../../errors.js';
import { parseRevokeReason } from '../../revocation/reasons.js';
import type { CertificateState } from '../../revocation/status.js';
import type { AdminTokens } from '../plugins/admin-auth.js';
import type { CaMetrics } from '../plugins/metrics.js';
import { issueRequestFromJson } from './issue-body.js';

const actorOf = (r: FastifyRequest): string => `admin:${(r as FastifyRequest & { adminName?: string }).adminName ?? 'unknown'}`;

function optionalDate(v: unknown, field: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new AgentCaError('INPUT_INVALID', `${field} must be an ISO 8601 time`, { fields: { [field]: 'must be an ISO 8601 time' } });
  return d;
}

function jsonBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new AgentCaError('INPUT_INVALID', 'body must be a JSON object');
  return body as Record<string, unknown>;
}

export async function adminRoutes(app: FastifyInstance, opts: { authority: Authority; tokens: AdminTokens; metrics: CaMetrics }): Promise<void> {
  const a = opts.authority;
  app.addHook('preHandler', opts.tokens.guard);

  app.post('/api/v1/certificates', async (request, reply) => {
    const issued = await a.issue(issueRequestFromJson(request.body, actorOf(request)));
    return reply.code(201).send({
      serial: issued.serial,
      certificate: issued.pem,
      chain: issued.chainPem,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      warnings: issued.warnings,
    });
  });

  app.post<{ Params: { serial: string } }>('/api/v1/certificates/:serial/revoke', async (request) => {
    const started = process.hrtime.bigint();
    const b = jsonBody(request.body);
    if (b.reason !== undefined && typeof b.reason !== 'string') throw new AgentCaError('INPUT_REASON_UNKNOWN', 'reason must be a string');
    const invalidityDate = optionalDate(b.invalidityDate, 'invalidityDate');
    const r = await a.revoke(request.params.serial, { reason: parseRevokeReason(b.reason as string | undefined), ...(invalidityDate ? { invalidityDate } : {}), actor: actorOf(request) });
    // revoke() returns after the serial's OCSP responses were re-signed and committed.
    opts.metrics.revocationVisibility.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return { serial: r.serial, status: 'revoked', reason: r.reason, revokedAt: r.revokedAt.toISOString() };
  });

  app.post<{ Params: { serial: string } }>('/api/v1/certificates/:serial/hold', async (request) => {
    const r = await a.hold(request.params.serial, { actor: actorOf(request) });
    return { serial: r.serial, status: 'held', revokedAt: r.revokedAt.toISOString() };
  });

  app.post<{ Params: { serial: string } }>('/api/v1/certificates/:serial/release', async (request) => {
    await a.release(request.params.serial, { actor: actorOf(request) });
    return { serial: request.params.serial, status: 'good' };
  });

  app.get<{ Params: { serial: string } }>('/api/v1/certificates/:serial', async (request) => viewJson(await a.show(request.params.serial), a.config.oidArc));

  app.get<{ Querystring: { agentId?: string; tenant?: string; status?: string } }>('/api/v1/certificates', async (request) => {
    const q = request.query;
    if (q.status !== undefined && !['good', 'revoked', 'held', 'expired'].includes(q.status)) throw new AgentCaError('INPUT_INVALID', 'status must be good, revoked, held or expired');
    const views = await a.list({ ...(q.agentId ? { agentId: q.agentId } : {}), ...(q.tenant ? { tenant: q.tenant } : {}), ...(q.status ? { status: q.status as CertificateState } : {}) });
    return { certificates: views.map((v) => ({ ...viewJson(v), certificate: undefined })) };
  });
}
