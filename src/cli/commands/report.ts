/**
 * agent-ca report ...: a compliance report package (zip: PDF, evidence.jsonl, signed manifest,
 * CA chain) from the data directory, or from a running server (`--server`, the admin API);
 * agent-ca report verify DIR|ZIP: what the regulator runs (docs/compliance-reports.md).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AgentCaError } from '../../errors.js';
import { buildComplianceReport } from '../../reports/build-report.js';
import type { ReportProgress } from '../../reports/collect.js';
import { readPackage } from '../../reports/package.js';
import type { ReportJob } from '../../reports/report-jobs.js';
import { parseReportRequest } from '../../reports/request.js';
import { verifyReportPackage } from '../../reports/verify-report.js';
import { loadRiskConfig } from '../../risk/service.js';
import { parse, required, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { adminCall, adminRequest, serverOf } from '../remote.js';

export const reportUsage =
  'agent-ca report (--agent-id ID | --tenant T) --from DAY|ISO --to DAY|ISO [--include trades,risk_events,revocations] --out REPORT.zip [--server URL] | agent-ca report verify DIR|ZIP [--ca ROOT.pem]';

const PHASES: Readonly<Record<ReportProgress['phase'], string>> = {
  scan: 'reading the audit log',
  render: 'drawing the PDF',
  package: 'signing and packing',
};
const POLL_MS = 500;
const POLL_LIMIT_MS = 30 * 60_000;

/** Progress lines on stderr when it is a terminal (or AGENT_CA_PROGRESS=1): long ranges take a while. */
function progressOf(io: Io): ((p: ReportProgress) => void) | undefined {
  if (!(process.stderr.isTTY || io.env.AGENT_CA_PROGRESS === '1')) return undefined;
  return (p) => io.err(`agent-ca report: ${PHASES[p.phase]}${p.total > 1 ? ` (entry ${p.done} of ${p.total})` : ''}`);
}

/** Temp file + rename: an interrupted run never leaves half a zip under the name asked for. */
function writeWhole(path: string, data: Buffer): void {
  writeFileSync(`${path}.partial`, data);
  renameSync(`${path}.partial`, path);
}

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'verify') return verifyCommand(argv.slice(1), io);
  const { values: v } = parse(argv, {
    'agent-id': { type: 'string' },
    tenant: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    include: { type: 'string' },
    out: { type: 'string' },
    server: { type: 'string' },
    data: { type: 'string' },
  });
  const out = required(v.out, '--out');
  const body = {
    ...(v['agent-id'] !== undefined ? { agent_id: v['agent-id'] } : {}),
    ...(v.tenant !== undefined ? { tenant: v.tenant } : {}),
    start_date: required(v.from, '--from'),
    end_date: required(v.to, '--to'),
    ...(v.include !== undefined ? { include: v.include } : {}),
  };
  const server = serverOf(v, io);
  const progress = progressOf(io);
  if (server) {
    let job = await adminCall<ReportJob>(server, io, 'POST', 'api/v1/reports/compliance', body);
    const started = performance.now(); // a duration: the monotonic timer, as progress.ts
    while (job.status === 'pending' || job.status === 'running') {
      if (performance.now() - started > POLL_LIMIT_MS)
        throw new AgentCaError(
          'REPORT_NOT_READY',
          `report ${job.id} is still ${job.status} after ${POLL_LIMIT_MS / 60_000} minutes; fetch it later with GET /api/v1/reports/${job.id}/evidence.zip`,
        );
      progress?.({ phase: 'scan', done: 0, total: 0 });
      await new Promise((r) => setTimeout(r, POLL_MS));
      job = await adminCall<ReportJob>(server, io, 'GET', `api/v1/reports/${job.id}`);
    }
    if (job.status === 'failed')
      throw new AgentCaError(
        'INTERNAL',
        `report ${job.id} failed on the server: ${job.error?.code ?? ''} ${job.error?.message ?? ''}`.trim(),
      );
    writeWhole(out, await adminRequest(server, io, 'GET', `api/v1/reports/${job.id}/evidence.zip`));
    io.out(`report ${job.id} written to ${out}; check it with: agent-ca report verify ${out}`);
    return 0;
  }
  return withAuthority(io, v.data, async (a) => {
    const req = parseReportRequest(body, a.clock.now());
    const user = io.env.USER ?? io.env.LOGNAME ?? 'local';
    const built = await buildComplianceReport(a, req, {
      generatedBy: `cli:${user}`,
      riskConfig: loadRiskConfig(a.dataDir, io.env),
      ...(progress ? { onProgress: progress } : {}),
    });
    writeWhole(out, built.zip);
    const ev = built.manifest.audit;
    io.out(
      `report ${built.id} written to ${out} (${ev ? `audit entries ${ev.firstSeq}..${ev.lastSeq}, ${ev.inScope} about the subject` : 'no audit entries in the range'}); check it with: agent-ca report verify ${out}`,
    );
    return 0;
  });
}

async function verifyCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(argv, { ca: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new UsageError('report verify takes one DIR or ZIP');
  const trusted = v.ca !== undefined ? readFileSync(v.ca) : undefined;
  const result = await verifyReportPackage(readPackage(positionals[0]!), trusted);
  if (v.json) io.out(JSON.stringify({ ok: result.ok, checks: result.checks, rootSha256: result.rootSha256 }, null, 2));
  else for (const c of result.checks) io.out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`);
  if (!result.ok) {
    const bad = result.checks.filter((c) => !c.ok).map((c) => c.check);
    io.err(`agent-ca report verify: ACA_ERR_REPORT_VERIFY_FAILED: ${bad.length} check(s) failed: ${bad.join(', ')}`);
    return 1;
  }
  if (!trusted && !v.json)
    io.out(
      `root SHA-256 ${result.rootSha256}: compare it with the fingerprint the operator publishes, or pass --ca ROOT.pem`,
    );
  return 0;
}
