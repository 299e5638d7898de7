/**
 * Compliance report bench: a LevelDB data dir with 100,000 behavioural events (10,000 audited
 * batches of 10, one agent each, some over the agent's limits) and 1,000 credential operations
 * (200 agents of tenant `bench`: issue, hold, release, renew, revoke) over 25 days; then, each
 * in its own child process so each peak RSS is its own (child-rss.ts):
 *   baseline: `audit export` of the same range (stream every entry, hash every line): the floor
 *             of any report, since a report reads the log at least once;
 *   report:   buildComplianceReport for the tenant over the range (two log passes, risk replay,
 *             PDF, evidence, signed manifest, zip).
 * Targets: < 10 s and < 300 MiB for the report.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { createAuthority } from '../../src/authority/create-authority.js';
import { FixedClock } from '../../src/clock.js';
import { buildComplianceReport } from '../../src/reports/build-report.js';
import { parseReportRequest } from '../../src/reports/request.js';
import { authorityRiskActions } from '../../src/risk/actions.js';
import { RiskEngine } from '../../src/risk/engine.js';
import type { AgentEvent } from '../../src/risk/events.js';
import { NotificationInbox } from '../../src/risk/notifications.js';
import { runInChild } from './child-rss.js';
import { fmt, header, line, ratio } from './util.js';

const AGENTS = 200;
const BATCHES = 10_000;
const PER_BATCH = 10;
const DAYS = 25;
const START = Date.parse('2026-01-01T00:00:00Z');
const FROM = '2026-01-01';
const TO = '2026-01-27';
const SCOPE = ['read:accounts', 'write:payments', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] };

function batch(agentId: string, time: string, k: number): AgentEvent[] {
  return Array.from({ length: PER_BATCH }, (_, i): AgentEvent => {
    const n = k * PER_BATCH + i;
    if (n % 2 === 0) {
      // One breach per agent every ~500 batches: a warning-free trickle the report must list.
      const breach = n % 50_000 === 0;
      return {
        agentId,
        type: 'transaction',
        action: 'trade:equities',
        outcome: 'success',
        time,
        amount: breach ? '60000' : `${1000 + (n % 40_000)}.5`,
        currency: 'USD',
        market: n % 4 ? 'XNAS' : 'XNYS',
      };
    }
    return { agentId, type: 'api_call', action: n % 3 ? 'read:accounts' : 'write:payments', outcome: 'success', time };
  });
}

async function buildDataSet(dataDir: string): Promise<{ entries: number; operations: number; events: number }> {
  const clock = new FixedClock(START);
  const authority = await createAuthority({ dataDir, clock, env: {} });
  await authority.init({ keyType: 'p256', config: { organization: 'Bench Operator' } });
  const engine = new RiskEngine({
    host: authority,
    actions: authorityRiskActions(authority, await NotificationInbox.open(authority.store)),
  });
  const agents = Array.from({ length: AGENTS }, (_, i) => `bench-agent-${i}`);
  const serials: string[] = [];
  let operations = 0;
  for (const agentId of agents) {
    const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    serials.push(
      (
        await authority.issue({
          agentId,
          publicKey: pub,
          scope: SCOPE,
          policy: POLICY,
          tenant: 'bench',
          environment: 'production',
          actor: 'admin:bench',
        })
      ).serial,
    );
    operations++;
  }
  const stepMs = (DAYS * 86_400_000) / BATCHES;
  let events = 0;
  for (let k = 0; k < BATCHES; k++) {
    clock.set(START + 60_000 + k * stepMs);
    const day = Math.floor((k * DAYS) / BATCHES);
    const prevDay = Math.floor(((k - 1) * DAYS) / BATCHES);
    if (day !== prevDay) {
      // Credential operations on fixed days, 200 each: hold (5), release (6), renew (10), revoke the old (20).
      for (let i = 0; i < AGENTS; i++) {
        if (day === 5) await authority.hold(serials[i]!, { actor: 'admin:bench' });
        else if (day === 6) await authority.release(serials[i]!, { actor: 'admin:bench' });
        else if (day === 10) await authority.renew(serials[i]!, { actor: 'admin:bench' });
        else if (day === 20) await authority.revoke(serials[i]!, { reason: 'superseded', actor: 'admin:bench' });
        else continue;
        operations++;
      }
    }
    const r = await engine.ingest(batch(agents[k % AGENTS]!, clock.now().toISOString(), k), { actor: 'gateway' });
    events += r.accepted;
  }
  await engine.settle();
  engine.close();
  const entries = (await authority.store.audit.head())?.seq ?? 0;
  await authority.close();
  return { entries, operations, events };
}

/** Child: stream the whole range as `audit export` does and hash it. */
export async function exportTask(
  args: { dataDir: string },
  mark: () => void,
): Promise<{ seconds: number; cpuSeconds: number; lines: number }> {
  const authority = await createAuthority({ dataDir: args.dataDir, env: {} });
  mark();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const sha = createHash('sha256');
  let lines = 0;
  for await (const l of authority.audit.exportJsonLines({
    from: new Date(`${FROM}T00:00:00Z`),
    to: new Date(`${TO}T00:00:00Z`),
  })) {
    sha.update(l);
    lines++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = cpuSince(c0);
  await authority.close();
  return { seconds, cpuSeconds, lines };
}

/** Child: the report itself. */
/** User + system CPU seconds since `c0`: on a shared, loaded machine wall time alone misleads. */
function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

export async function reportTask(
  args: { dataDir: string },
  mark: () => void,
): Promise<{
  seconds: number;
  cpuSeconds: number;
  zipBytes: number;
  pdfBytes: number;
  inScope: number;
  pages: number;
}> {
  const clock = new FixedClock(START + (DAYS + 2) * 86_400_000);
  const authority = await createAuthority({ dataDir: args.dataDir, clock, env: {} });
  mark();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const req = parseReportRequest({ tenant: 'bench', start_date: FROM, end_date: TO }, clock.now());
  const built = await buildComplianceReport(authority, req, { generatedBy: 'bench' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = cpuSince(c0);
  await authority.close();
  const pdf = built.files.get('report.pdf')!;
  return {
    seconds,
    cpuSeconds,
    zipBytes: built.zip.length,
    pdfBytes: pdf.length,
    inScope: built.manifest.audit?.inScope ?? 0,
    pages: (await PDFDocument.load(pdf, { updateMetadata: false })).getPageCount(),
  };
}

export async function benchReports(): Promise<void> {
  header('compliance reports: 100,000 events + 1,000 credential operations (LevelDB), tenant report');
  const dir = mkdtempSync(join(tmpdir(), 'agent-ca-bench-reports-'));
  try {
    const t0 = Date.now();
    const set = await buildDataSet(join(dir, 'data'));
    line(
      `data set: ${fmt(set.events)} events, ${fmt(set.operations)} credential operations, ${fmt(set.entries)} audit entries (built in ${fmt((Date.now() - t0) / 1000, 1)} s)`,
    );
    const base = await runInChild<{ dataDir: string }, Awaited<ReturnType<typeof exportTask>>>(
      import.meta.url,
      'exportTask',
      { dataDir: join(dir, 'data') },
    );
    const rep = await runInChild<{ dataDir: string }, Awaited<ReturnType<typeof reportTask>>>(
      import.meta.url,
      'reportTask',
      { dataDir: join(dir, 'data') },
    );
    line(
      `load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
    line(
      `baseline audit export of the range: ${fmt(base.result.lines)} lines in ${fmt(base.result.seconds, 2)} s (CPU ${fmt(base.result.cpuSeconds, 2)} s), peak RSS ${fmt(base.peakRssMiB)} MiB`,
    );
    line(
      `report: ${fmt(rep.result.seconds, 2)} s (CPU ${fmt(rep.result.cpuSeconds, 2)} s; ${ratio(rep.result.cpuSeconds, base.result.cpuSeconds)} of the export's CPU), peak RSS ${fmt(rep.peakRssMiB)} MiB (+${fmt(rep.deltaRssMiB)} MiB over the open store), ` +
        `${rep.result.pages} PDF pages, PDF ${fmt(rep.result.pdfBytes / 1024)} KiB, zip ${fmt(rep.result.zipBytes / 1024)} KiB, ${fmt(rep.result.inScope)} entries in full`,
    );
    line(
      `targets: < 10 s ${rep.result.seconds < 10 ? 'met' : 'MISSED'}, < 300 MiB ${rep.peakRssMiB < 300 ? 'met' : 'MISSED'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
