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
import type { AdminTokens } from '../plugins/admin-auth.js';

/** Who is asking. Every valid token is an admin token today; roles and tenants come with tenancy. */
interface ReportPrincipal {
  name: string;
  role: 'admin' | 'auditor' | 'operator' | 'agent';
  /** undefined: not bound to a tenant (a CA-wide admin) */
  tenant?: string;
}

function principalOf(request: FastifyRequest): ReportPrincipal {
  return { name: (request as FastifyRequest & { adminName?: string }).adminName ?? 'unknown', role: 'admin' };
}

/**
 * May `p` ask for (and read) a report about a subject whose certificates carry these tenants?
 * The rule to apply once tokens carry roles and tenants is "auditor or admin, own tenant only":
 *   return (p.role === 'admin' || p.role === 'auditor') && (p.tenant === undefined || tenants.every((t) => t === p.tenant));
 */
function mayReport(p: ReportPrincipal, tenants: readonly (string | null | undefined)[]): boolean {
  return p.role === 'admin' && (p.tenant === undefined || tenants.every((t) => t === p.tenant));
}

const notFound = (id: string): AgentCaError => new AgentCaError('REPORT_NOT_FOUND', `no report ${id}`);

function view(job: ReportJob): Record<string, unknown> {
  const base = `/api/v1/reports/${job.id}`;
  return { ...job, links: { self: base, ...(job.status === 'done' ? { pdf: `${base}/report.pdf`, evidence: `${base}/evidence.zip` } : {}) } };
}

export async function reportRoutes(app: FastifyInstance, opts: { host: ReportHost; reports: ReportJobs; tokens: AdminTokens }): Promise<void> {
  app.addHook('preHandler', opts.tokens.guard);

  app.post('/api/v1/reports/compliance', async (request, reply) => {
    const req = parseReportRequest(request.body ?? {}, opts.host.clock.now());
    const p = principalOf(request);
    const subject = await loadSubject(opts.host, req);
    const tenants = subject.records.map((r) => r.tenant);
    // Another tenant's agent reads exactly like an unknown one (no existence oracle).
    if (!mayReport(p, tenants)) throw new AgentCaError('REPORT_SUBJECT_UNKNOWN', `no certificate was ever issued to ${subjectText(req)}`);
    const job = opts.reports.submit(req, `admin:${p.name}`, tenants);
    return reply.code(202).header('location', `/api/v1/reports/${job.id}`).send(view(job));
  });

  const owned = (request: FastifyRequest, id: string): ReportJob => {
    const job = opts.reports.get(id);
    if (!job || !mayReport(principalOf(request), job.tenants)) throw notFound(id);
    return job;
  };

  app.get<{ Params: { id: string } }>('/api/v1/reports/:id', async (request) => view(owned(request, request.params.id)));

  app.get<{ Params: { id: string } }>('/api/v1/reports/:id/report.pdf', async (request, reply) => {
    const job = owned(request, request.params.id);
    return reply.type('application/pdf').header('content-disposition', `attachment; filename="${job.id}.pdf"`).send(opts.reports.file(job.id, 'report.pdf'));
  });

  app.get<{ Params: { id: string } }>('/api/v1/reports/:id/evidence.zip', async (request, reply) => {
    const job = owned(request, request.params.id);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${job.id}.zip"`).send(opts.reports.file(job.id, 'evidence.zip'));
  });
}
