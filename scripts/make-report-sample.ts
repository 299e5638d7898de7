/**
 * The sample compliance report (`npm run report-sample`): the history of
 * test/helpers/report-fixture.ts (an agent that trades, is held, released, renewed, then drifts
 * until the risk engine revokes it; another tenant's agent in between), reported for
 * 2026-03-01..2026-03-10 and written to vectors/reports/trader-7-report.zip, a package that
 * `agent-ca report verify` must keep accepting. The risk page is rendered with pdftoppm to
 * docs/compliance-report-risk-page.png for the README. Times come from a FixedClock; keys,
 * serials and signatures are random, so each run differs in those bytes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildComplianceReport } from '../src/reports/build-report.js';
import { PACKAGE_FILES } from '../src/reports/manifest.js';
import { parseReportRequest } from '../src/reports/request.js';
import { makeReportFixture } from '../test/helpers/report-fixture.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'agent-ca-report-sample-'));
try {
  const fx = await makeReportFixture(join(tmp, 'ca'));
  const req = parseReportRequest(
    { agent_id: 'trader-7', start_date: '2026-03-01', end_date: '2026-03-10' },
    fx.clock.now(),
  );
  const built = await buildComplianceReport(fx.authority, req, {
    generatedBy: 'admin:auditor-1',
    riskConfig: fx.riskConfig,
  });
  await fx.close();
  mkdirSync(join(ROOT, 'vectors', 'reports'), { recursive: true });
  writeFileSync(join(ROOT, 'vectors', 'reports', 'trader-7-report.zip'), built.zip);
  const pdf = join(tmp, 'report.pdf');
  writeFileSync(pdf, built.files.get(PACKAGE_FILES.pdf)!);
  // Page 3 is the risk page (cover, identity + timeline, risk: src/reports/pdf/render-report.ts).
  const r = spawnSync('pdftoppm', ['-png', '-r', '60', '-f', '3', '-l', '3', '-singlefile', pdf, join(tmp, 'page')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`pdftoppm (poppler-utils) failed: ${r.stderr || r.error}`);
  renameSync(join(tmp, 'page.png'), join(ROOT, 'docs', 'compliance-report-risk-page.png'));
  process.stdout.write(
    `wrote vectors/reports/trader-7-report.zip (${built.id}) and docs/compliance-report-risk-page.png\n`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
