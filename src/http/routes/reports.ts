/**
 * Compliance reports over HTTP (docs/compliance-reports.md):
 *   POST /api/v1/reports/compliance { agent_id | tenant, start_date, end_date, include? } -> 202 { id, status, links }
 *   GET  /api/v1/reports/{id}                -> the job's status
 *   GET  /api/v1/reports/{id}/report.pdf     -> application/pdf (409 until done)
 *   GET  /api/v1/reports/{id}/evidence.zip   -> application/zip: PDF, evidence, signed manifest, CA chain
 * Bad ranges (400), unknown agents (404) and a subject outside the caller's tenant (404, so
 * nothing tells whether it exists) are problem+json before anything is queued.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AgentCaError } from '../../errors.js';
import { loadSubject } from '../../reports/identity.js';
import type { ReportJob, ReportJobs } from '../../reports/report-jobs.js';
import { parseReportRequest, subjectText } from '../../reports/request.js';
import type { ReportHost } from '../../reports/types.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { requireRole, type Principal } from '../../tenancy/roles.js';
import { schemas } from '../schemas/operations.js';
import { useContract, withChecks } from '../schemas/validation.js';

/**
 * May `p` ask for (and read) a report about a subject whose certificates carry these tenants?
 * Auditors and admins only (docs/tenancy.md); an auditor only when every certificate of the
 * subject is its own tenant's.
 */
function mayReport(p: Principal, tenants: readonly (string | null | undefined)[]): boolean {
  if (p.role === 'admin') return true;
  return p.role === 'auditor' && p.tenant !== undefined && tenants.every((t) => t === p.tenant);
}

const notFound = (id: string): AgentCaError => new AgentCaError('REPORT_NOT_FOUND', `no report ${id}`);

function view(job: ReportJob): Record<string, unknown> {
  const base = `/api/v1/reports/${job.id}`;
  return {
    ...job,
    links: {
      self: base,
      ...(job.status === 'done' ? { pdf: `${base}/report.pdf`, evidence: `${base}/evidence.zip` } : {}),
    },
  };
}

export async function reportRoutes(
  app: FastifyInstance,
  opts: { host: ReportHost; reports: ReportJobs; tokens: AdminTokens },
): Promise<void> {
  useContract(app);
  // onRequest: the token is checked before the body is read or parsed (401 before 413/415).
  app.addHook('onRequest', opts.tokens.guard);

  app.post(
    '/api/v1/reports/compliance',
    { schema: schemas.compliance, attachValidation: true },
    withChecks(
      (request) => parseReportRequest(request.body ?? {}, opts.host.clock.now()),
      async (request, reply) => {
        const p = principalOf(request);
        // A role that may not use the route at all is told so (403); that reveals nothing about any agent.
        requireRole(p, ['admin', 'auditor'], 'ask for compliance reports');
        const req = parseReportRequest(request.body ?? {}, opts.host.clock.now());
        const subject = await loadSubject(opts.host, req);
        const tenants = subject.records.map((r) => r.tenant);
        // Another tenant's agent reads exactly like an unknown one (no existence oracle).
        if (!mayReport(p, tenants))
          throw new AgentCaError('REPORT_SUBJECT_UNKNOWN', `no certificate was ever issued to ${subjectText(req)}`);
        const job = opts.reports.submit(req, actorOf(request), tenants);
        return reply.code(202).header('location', `/api/v1/reports/${job.id}`).send(view(job));
      },
    ),
  );

  const owned = (request: FastifyRequest, id: string): ReportJob => {
    const p = principalOf(request);
    requireRole(p, ['admin', 'auditor'], 'read compliance reports');
    const job = opts.reports.get(id);
    if (!job || !mayReport(p, job.tenants)) throw notFound(id);
    return job;
  };

  app.get<{ Params: { id: string } }>('/api/v1/reports/:id', { schema: schemas.report }, async (request) =>
    view(owned(request, request.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/reports/:id/report.pdf',
    { schema: schemas.reportPdf },
    async (request, reply) => {
      const job = owned(request, request.params.id);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="${job.id}.pdf"`)
        .send(opts.reports.file(job.id, 'report.pdf'));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/reports/:id/evidence.zip',
    { schema: schemas.evidence },
    async (request, reply) => {
      const job = owned(request, request.params.id);
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${job.id}.zip"`)
        .send(opts.reports.file(job.id, 'evidence.zip'));
    },
  );
}
