/**
 * The certificate API (bearer token): issue, revoke, hold, release, show, list. Role and tenant
 * are checked on every route (docs/tenancy.md): another tenant's certificate reads as absent.
 */
import type { FastifyInstance } from 'fastify';
import type { Authority, CertificateView } from '../../authority/authority.js';
import { viewJson } from '../../authority/view-json.js';
import { checkpointToJson } from '../../audit/checkpoint.js';
import { AgentCaError } from '../../errors.js';
import { parseIsoTime } from '../../iso-time.js';
import { parseRevokeReason } from '../../revocation/reasons.js';
import type { CertificateState } from '../../revocation/status.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import type { CaMetrics } from '../plugins/metrics.js';
import { issueRequestFromJson } from './issue-body.js';
import { canSee, requireRole, tenantFor, type Principal } from '../../tenancy/roles.js';
import type { Tenancy } from '../../tenancy/tenancy.js';

const WRITERS = ['admin', 'operator'] as const;

/** The certificate if `p` may see it; otherwise the very error an unknown serial gets. */
export async function visibleCertificate(a: Authority, p: Principal, serial: string): Promise<CertificateView> {
  const view = await a.show(serial);
  if (view.record.isCa || view.record.profile === 'ocsp-responder' ? p.role !== 'admin' : !canSee(p, view.record)) {
    throw new AgentCaError('CERT_NOT_FOUND', `no certificate with serial ${view.record.serial}`, {
      serial: view.record.serial,
    });
  }
  return view;
}

function optionalDate(v: unknown, field: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = parseIsoTime(v);
  if (!d)
    throw new AgentCaError('INPUT_INVALID', `${field} must be an RFC 3339 time like 2026-01-31T12:00:00Z`, {
      fields: { [field]: 'must be an RFC 3339 time like 2026-01-31T12:00:00Z' },
    });
  return d;
}

function jsonBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new AgentCaError('INPUT_INVALID', 'body must be a JSON object');
  return body as Record<string, unknown>;
}

export async function adminRoutes(
  app: FastifyInstance,
  opts: { authority: Authority; tokens: AdminTokens; metrics: CaMetrics; tenancy: Tenancy },
): Promise<void> {
  const a = opts.authority;
  app.addHook('preHandler', opts.tokens.guard);

  app.post('/api/v1/certificates', async (request, reply) => {
    const p = principalOf(request);
    requireRole(p, WRITERS, 'issue certificates');
    const req = issueRequestFromJson(request.body, actorOf(request));
    const tenant = tenantFor(p, req.tenant);
    if (tenant !== undefined) req.tenant = tenant;
    // Agent ids are global (docs/tenancy.md): a registered agent is certified only within its tenant.
    const registered = await opts.tenancy.agents.registry.get(req.agentId);
    if (registered && registered.tenant !== req.tenant)
      throw new AgentCaError('AGENT_EXISTS', `agent id ${req.agentId} is registered to another tenant`, {
        agentId: req.agentId,
      });
    const issued = await a.issue(req);
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
    requireRole(principalOf(request), WRITERS, 'revoke certificates');
    await visibleCertificate(a, principalOf(request), request.params.serial);
    const started = process.hrtime.bigint();
    const b = jsonBody(request.body);
    if (b.reason !== undefined && typeof b.reason !== 'string')
      throw new AgentCaError('INPUT_REASON_UNKNOWN', 'reason must be a string');
    const invalidityDate = optionalDate(b.invalidityDate, 'invalidityDate');
    const r = await a.revoke(request.params.serial, {
      reason: parseRevokeReason(b.reason),
      ...(invalidityDate ? { invalidityDate } : {}),
      actor: actorOf(request),
    });
    // revoke() returns after the serial's OCSP responses were re-signed and committed.
    opts.metrics.revocationVisibility.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return { serial: r.serial, status: 'revoked', reason: r.reason, revokedAt: r.revokedAt.toISOString() };
  });

  // The CA's own certificates: a separate, separately audited path (src/authority/ca-revocation.ts).
  // Every tenant's certificates hang off these CAs: admin tokens only (docs/tenancy.md).
  app.post<{ Params: { name: string } }>('/api/v1/ca/:name/revoke', async (request) => {
    requireRole(principalOf(request), ['admin'], 'revoke a CA');
    const b = jsonBody(request.body);
    if (typeof b.reason !== 'string')
      throw new AgentCaError('INPUT_REASON_UNKNOWN', 'reason is required (e.g. cACompromise)', {
        fields: { reason: 'is required' },
      });
    const r = await a.revokeCa(request.params.name, { reason: parseRevokeReason(b.reason), actor: actorOf(request) });
    return {
      ca: request.params.name,
      serial: r.serial,
      status: 'revoked',
      reason: r.reason,
      revokedAt: r.revokedAt.toISOString(),
    };
  });

  app.post<{ Params: { name: string } }>('/api/v1/ca/:name/hold', async (request) => {
    requireRole(principalOf(request), ['admin'], 'hold a CA');
    const r = await a.holdCa(request.params.name, { actor: actorOf(request) });
    return { ca: request.params.name, serial: r.serial, status: 'held', revokedAt: r.revokedAt.toISOString() };
  });

  app.post<{ Params: { name: string } }>('/api/v1/ca/:name/release', async (request) => {
    requireRole(principalOf(request), ['admin'], 'release a CA');
    await a.releaseCa(request.params.name, { actor: actorOf(request) });
    return { ca: request.params.name, status: 'good' };
  });

  app.post<{ Params: { serial: string } }>('/api/v1/certificates/:serial/hold', async (request) => {
    requireRole(principalOf(request), WRITERS, 'hold certificates');
    await visibleCertificate(a, principalOf(request), request.params.serial);
    const r = await a.hold(request.params.serial, { actor: actorOf(request) });
    return { serial: r.serial, status: 'held', revokedAt: r.revokedAt.toISOString() };
  });

  app.post<{ Params: { serial: string } }>('/api/v1/certificates/:serial/release', async (request) => {
    requireRole(principalOf(request), WRITERS, 'release certificates');
    await visibleCertificate(a, principalOf(request), request.params.serial);
    await a.release(request.params.serial, { actor: actorOf(request) });
    return { serial: request.params.serial, status: 'good' };
  });

  // The latest signed checkpoint, for an outside party to keep and later hand to
  // `agent-ca audit verify --against` (docs/hardening.md, D4).
  app.get('/api/v1/audit/head', async (request) => {
    // The chain head names no tenant's data; still, only those who audit read it.
    requireRole(principalOf(request), ['admin', 'auditor'], 'read the audit head');
    const [head, checkpoint] = await Promise.all([a.audit.head(), a.audit.latestCheckpoint()]);
    const key = a.audit.checkpointKey;
    return {
      head,
      checkpoint: checkpoint ? checkpointToJson(checkpoint) : null,
      checkpointKey: key ? Buffer.from(key).toString('base64') : null,
      checkpointIntervalMs: a.config.auditCheckpointIntervalMs,
    };
  });

  app.get<{ Params: { serial: string } }>('/api/v1/certificates/:serial', async (request) =>
    viewJson(await visibleCertificate(a, principalOf(request), request.params.serial), a.config.oidArc),
  );

  app.get<{ Querystring: { agentId?: string; tenant?: string; status?: string } }>(
    '/api/v1/certificates',
    async (request) => {
      const q = request.query;
      if (q.status !== undefined && !['good', 'revoked', 'held', 'expired'].includes(q.status))
        throw new AgentCaError('INPUT_INVALID', 'status must be good, revoked, held or expired');
      const p = principalOf(request);
      const tenant = tenantFor(p, q.tenant);
      const agentId = p.role === 'agent' ? p.agentId : q.agentId;
      const views = await a.list({
        ...(agentId ? { agentId } : {}),
        ...(tenant ? { tenant } : {}),
        ...(q.status ? { status: q.status as CertificateState } : {}),
      });
      return {
        certificates: views.filter((v) => canSee(p, v.record)).map((v) => ({ ...viewJson(v), certificate: undefined })),
      };
    },
  );
}
