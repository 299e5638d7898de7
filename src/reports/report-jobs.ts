/**
 * Reports asked for over HTTP: accepted at once (202 + id), built one at a time in the
 * background (a report is CPU-bound; two at once would only slow both and the OCSP path), kept
 * under <dataDir>/reports/<id>/ (job.json, report.pdf, evidence.zip) so a finished report
 * survives a restart. A job that was running when the process stopped reads as failed
 * ("interrupted"), never as pending forever. At most MAX_QUEUED wait; more is HTTP_RATE_LIMITED.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentCaError, isAgentCaError } from '../errors.js';
import type { RiskConfig } from '../risk/config.js';
import { buildComplianceReport, newReportId } from './build-report.js';
import { PACKAGE_FILES } from './manifest.js';
import type { ReportRequest } from './request.js';
import type { ReportHost } from './types.js';

export type ReportJobStatus = 'pending' | 'running' | 'done' | 'failed';

export interface ReportJob {
  id: string;
  status: ReportJobStatus;
  subject: { agentId: string } | { tenant: string };
  /** tenants of the subject's certificates: who may read the report (src/http/routes/reports.ts) */
  tenants: (string | null)[];
  from: string;
  to: string;
  include: string[];
  requestedBy: string;
  createdAt: string;
  finishedAt?: string;
  error?: { code: string; message: string };
  /** SHA-256 of report.pdf, as manifest.json lists it */
  pdfSha256?: string;
  auditRange?: [number, number] | null;
}

export const REPORT_ID = /^rpt_[0-9a-f]{32}$/;
const MAX_QUEUED = 16;

export class ReportJobs {
  private readonly jobs = new Map<string, ReportJob>();
  private readonly queue: { job: ReportJob; req: ReportRequest }[] = [];
  private running: Promise<void> | undefined;
  readonly dir: string;

  constructor(
    private readonly host: ReportHost,
    opts: { dir: string; riskConfig?: RiskConfig | (() => RiskConfig | undefined) },
  ) {
    this.dir = opts.dir;
    this.riskConfig = opts.riskConfig;
  }

  private readonly riskConfig: RiskConfig | (() => RiskConfig | undefined) | undefined;

  submit(req: ReportRequest, requestedBy: string, tenants: readonly (string | undefined)[]): ReportJob {
    if (this.queue.length >= MAX_QUEUED)
      throw new AgentCaError(
        'HTTP_RATE_LIMITED',
        `${MAX_QUEUED} reports are already waiting; ask again when one is done`,
      );
    const id = newReportId();
    const job: ReportJob = {
      id,
      status: 'pending',
      subject: req.agentId !== undefined ? { agentId: req.agentId } : { tenant: req.tenant! },
      tenants: [...new Set(tenants.map((t) => t ?? null))],
      from: req.from.toISOString(),
      to: req.to.toISOString(),
      include: [...req.include],
      requestedBy,
      createdAt: this.host.clock.now().toISOString(),
    };
    this.save(job);
    this.queue.push({ job, req });
    this.running ??= this.drain();
    return job;
  }

  get(id: string): ReportJob | undefined {
    if (!REPORT_ID.test(id)) return undefined;
    const hit = this.jobs.get(id);
    if (hit) return hit;
    const path = join(this.dir, id, 'job.json');
    if (!existsSync(path)) return undefined;
    const job = JSON.parse(readFileSync(path, 'utf8')) as ReportJob;
    if (job.status === 'pending' || job.status === 'running') {
      // Not in this process's queue: the process that accepted it stopped before finishing.
      return {
        ...job,
        status: 'failed',
        error: {
          code: 'ACA_ERR_INTERNAL',
          message: 'interrupted: the server stopped before the report was built; ask again',
        },
      };
    }
    return job;
  }

  /** The bytes of a finished report's file; REPORT_NOT_FOUND / REPORT_NOT_READY otherwise. */
  file(id: string, name: 'report.pdf' | 'evidence.zip'): Buffer {
    const job = this.get(id);
    if (!job) throw new AgentCaError('REPORT_NOT_FOUND', `no report ${id}`);
    if (job.status !== 'done')
      throw new AgentCaError(
        'REPORT_NOT_READY',
        job.status === 'failed'
          ? `report ${id} failed: ${job.error?.message ?? 'unknown error'}`
          : `report ${id} is ${job.status}; poll GET /api/v1/reports/${id}`,
        { status: job.status },
      );
    return readFileSync(join(this.dir, id, name));
  }

  /** Waits until the queue is empty (tests, graceful shutdown). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.run(next.job, next.req);
    } finally {
      this.running = undefined;
    }
  }

  private async run(job: ReportJob, req: ReportRequest): Promise<void> {
    this.save({ ...job, status: 'running' });
    try {
      const riskConfig = typeof this.riskConfig === 'function' ? this.riskConfig() : this.riskConfig;
      const built = await buildComplianceReport(this.host, req, {
        generatedBy: job.requestedBy,
        reportId: job.id,
        ...(riskConfig ? { riskConfig } : {}),
      });
      const dir = join(this.dir, job.id);
      writeFileSync(join(dir, 'report.pdf'), built.files.get(PACKAGE_FILES.pdf)!);
      writeFileSync(join(dir, 'evidence.zip'), built.zip);
      const a = built.manifest.audit;
      this.save({
        ...job,
        status: 'done',
        finishedAt: this.host.clock.now().toISOString(),
        pdfSha256: built.manifest.files[PACKAGE_FILES.pdf]!.sha256,
        auditRange: a ? [a.firstSeq, a.lastSeq] : null,
      });
    } catch (e) {
      const error = isAgentCaError(e)
        ? { code: e.code, message: e.message }
        : { code: 'ACA_ERR_INTERNAL', message: String((e as Error)?.message ?? e) };
      this.save({ ...job, status: 'failed', finishedAt: this.host.clock.now().toISOString(), error });
    }
  }

  /** job.json written whole (temp file + rename), so a crash never leaves half a status. */
  private save(job: ReportJob): void {
    this.jobs.set(job.id, job);
    const dir = join(this.dir, job.id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'job.json.tmp'), `${JSON.stringify(job, null, 2)}\n`);
    renameSync(join(dir, 'job.json.tmp'), join(dir, 'job.json'));
  }
}
