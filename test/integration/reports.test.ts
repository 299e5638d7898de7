/**
 * Compliance reports end to end on a CA with history (test/helpers/report-fixture.ts): the
 * package verifies; one flipped byte in the PDF, the evidence or the manifest fails it, naming
 * the file; the PDF read back by pdftotext carries the agent id, counts, the revocation
 * reason and score; pdftoppm renders the risk chart page with ink where the chart is; the
 * other tenant's agent never appears in the evidence; the CA certificates verify with openssl.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../src/errors.js';
import { buildComplianceReport, type BuiltReport } from '../../src/reports/build-report.js';
import { PACKAGE_FILES } from '../../src/reports/manifest.js';
import { readPackage, writePackageDir, type PackageFiles } from '../../src/reports/package.js';
import { parseReportRequest } from '../../src/reports/request.js';
import { verifyReportPackage } from '../../src/reports/verify-report.js';
import { openssl } from '../helpers/openssl.js';
import { inkShare, pdfText, popplerAvailable, renderPage } from '../helpers/poppler.js';
import { makeReportFixture, type ReportFixture } from '../helpers/report-fixture.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

let tmp: TmpDir;
let fx: ReportFixture;
let report: BuiltReport;
const poppler = popplerAvailable();

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-report-');
  fx = await makeReportFixture(join(tmp.dir, 'ca'));
  const req = parseReportRequest(
    { agent_id: 'trader-7', start_date: '2026-03-01', end_date: '2026-03-10' },
    fx.clock.now(),
  );
  report = await buildComplianceReport(fx.authority, req, {
    generatedBy: 'admin:auditor-1',
    riskConfig: fx.riskConfig,
  });
}, 120_000);

afterAll(async () => {
  await fx?.close();
  await tmp?.cleanup();
});

function tampered(files: PackageFiles, name: string, at?: number): PackageFiles {
  const copy = new Map(files);
  const b = Buffer.from(files.get(name)!);
  const i = at ?? Math.floor(b.length / 2);
  b[i] = b[i]! ^ 0x01;
  copy.set(name, b);
  return copy;
}

const failed = (v: Awaited<ReturnType<typeof verifyReportPackage>>): string[] =>
  v.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`);

describe('a compliance report package', () => {
  it('verifies: signature, chain to the root, every file hash, the evidence chain to a signed checkpoint', async () => {
    const v = await verifyReportPackage(report.files);
    expect(failed(v)).toEqual([]);
    expect(v.ok).toBe(true);
    const names = v.checks.map((c) => c.check);
    expect(names).toEqual(
      expect.arrayContaining([
        'manifest.jws signature',
        'signing CA chains to the root',
        'report.pdf SHA-256',
        'evidence.jsonl SHA-256',
        'evidence.jsonl chain',
        'closing checkpoint',
      ]),
    );
    expect(report.manifest.audit!.inScope).toBeGreaterThan(80);
    expect(report.manifest.audit!.redacted).toBeGreaterThan(50);
    expect(report.manifest.checkpoints.at(-1)!.seq).toBe(report.manifest.audit!.lastSeq);
    expect(report.manifest.checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(v.checks.filter((c) => /^checkpoint \d+$/.test(c.check) && c.ok)).toHaveLength(
      report.manifest.checkpoints.length,
    );
  });

  it('audits its own making: report.generated names who, what and the manifest hash', async () => {
    let found;
    for await (const e of fx.authority.store.audit.iterate())
      if (e.action === 'report.generated' && e.subject === report.id) found = e;
    expect(found).toMatchObject({
      actor: 'admin:auditor-1',
      details: { agentId: 'trader-7', from: '2026-03-01T00:00:00.000Z' },
    });
    expect((found?.details as { manifestSha256?: string } | undefined)?.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pins the root with a trusted root, and refuses another one', async () => {
    expect((await verifyReportPackage(report.files, fx.authority.chain().root)).ok).toBe(true);
    const other = await makeReportFixtureRootOnly();
    const v = await verifyReportPackage(report.files, other);
    expect(v.ok).toBe(false);
    expect(failed(v).join('\n')).toMatch(/root is the trusted one/);
  });

  it('fails when one byte of report.pdf changes, naming report.pdf', async () => {
    const v = await verifyReportPackage(tampered(report.files, PACKAGE_FILES.pdf));
    expect(v.ok).toBe(false);
    expect(failed(v)).toEqual([expect.stringMatching(/^report\.pdf SHA-256: is [0-9a-f]{64}/)]);
  });

  it('fails when one byte of evidence.jsonl changes, naming evidence.jsonl and the entry', async () => {
    // Flip a digit inside an in-scope entry's details (not its hash): the hash and the chain both catch it.
    const ev = report.files.get(PACKAGE_FILES.evidence)!.toString('utf8');
    const at = ev.indexOf('"actor":"gateway"');
    const v = await verifyReportPackage(tampered(report.files, PACKAGE_FILES.evidence, at + 9));
    expect(v.ok).toBe(false);
    const msgs = failed(v).join('\n');
    expect(msgs).toMatch(/evidence\.jsonl SHA-256/);
    expect(msgs).toMatch(/evidence\.jsonl chain: entry \d+ does not match its hash \(altered\)/);
  });

  it('fails when one byte of manifest.json changes, naming manifest.json', async () => {
    const m = report.files.get(PACKAGE_FILES.manifest)!.toString('utf8');
    const v = await verifyReportPackage(tampered(report.files, PACKAGE_FILES.manifest, m.indexOf('"reportId"') + 14));
    expect(v.ok).toBe(false);
    expect(failed(v)).toEqual([
      'manifest.json is what was signed: manifest.json differs from the signed payload of manifest.jws',
    ]);
  });

  it('fails when the signature in manifest.jws is altered', async () => {
    const jws = report.files.get(PACKAGE_FILES.jws)!;
    const v = await verifyReportPackage(tampered(report.files, PACKAGE_FILES.jws, jws.length - 6));
    expect(v.ok).toBe(false);
    expect(failed(v).join('\n')).toMatch(/manifest\.jws/);
  });

  it('reads back the same from a directory and from the zip', async () => {
    const dir = join(tmp.dir, 'unpacked');
    mkdirSync(dir);
    writePackageDir(dir, report.files);
    expect((await verifyReportPackage(readPackage(dir))).ok).toBe(true);
    const zip = join(tmp.dir, 'report.zip');
    writeFileSync(zip, report.zip);
    const files = readPackage(zip);
    expect([...files.keys()].sort()).toEqual([
      'ca/intermediate.pem',
      'ca/root.pem',
      'evidence.jsonl',
      'manifest.json',
      'manifest.jws',
      'report.pdf',
    ]);
    expect((await verifyReportPackage(files)).ok).toBe(true);
  });

  it('keeps the other tenant out of the evidence: its entries are redacted to their hashes', () => {
    const ev = report.files.get(PACKAGE_FILES.evidence)!.toString('utf8');
    expect(ev).not.toContain('other-bot');
    expect(ev).not.toContain(fx.serials.other);
    expect(ev).toContain('trader-7');
    const lines = ev
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      lines
        .filter((l) => l.redacted === true)
        .every((l) => Object.keys(l).sort().join() === 'hash,prevHash,redacted,seq'),
    ).toBe(true);
  });

  it('the CA certificates in the package verify with openssl, and the manifest names their fingerprints', () => {
    const dir = join(tmp.dir, 'ca-check');
    mkdirSync(dir);
    writePackageDir(dir, report.files);
    const r = openssl(['verify', '-x509_strict', '-CAfile', 'ca/root.pem', 'ca/intermediate.pem'], { cwd: dir });
    expect(r.stdout).toContain('ca/intermediate.pem: OK');
    const fp = openssl(['x509', '-in', 'ca/intermediate.pem', '-noout', '-fingerprint', '-sha256'], {
      cwd: dir,
    }).stdout;
    expect(fp.replace(/.*=/, '').replace(/:/g, '').trim().toLowerCase()).toBe(report.manifest.signer.certificateSha256);
  });

  it('a range with no activity still makes a signed, verifiable report that says so', async () => {
    const req = parseReportRequest(
      { agent_id: 'trader-7', start_date: '2026-02-01', end_date: '2026-02-10' },
      fx.clock.now(),
    );
    const empty = await buildComplianceReport(fx.authority, req, { generatedBy: 'admin:auditor-1' });
    expect(empty.manifest.audit).toBeNull();
    expect(empty.files.get(PACKAGE_FILES.evidence)!.length).toBe(0);
    expect(failed(await verifyReportPackage(empty.files))).toEqual([]);
    if (poppler.available)
      expect(pdfText(empty.files.get(PACKAGE_FILES.pdf)!)).toContain(
        'No certificate of the subject was valid during the range.',
      );
  });

  it('a job cut off by a restart reads as failed, never pending forever', async () => {
    const { ReportJobs } = await import('../../src/reports/report-jobs.js');
    const dir = join(tmp.dir, 'jobs');
    const id = `rpt_${'a'.repeat(32)}`;
    mkdirSync(join(dir, id), { recursive: true });
    writeFileSync(
      join(dir, id, 'job.json'),
      JSON.stringify({ id, status: 'running', subject: { agentId: 'trader-7' }, tenants: ['acme'] }),
    );
    const jobs = new ReportJobs(fx.authority, { dir });
    expect(jobs.get(id)).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/^interrupted/) } });
    expect(() => jobs.file(id, 'report.pdf')).toThrow(/failed: interrupted/);
    expect(jobs.get('../../etc')).toBeUndefined();
  });

  it('refuses an unknown agent, a reversed or future range, and bad fields, with typed errors', async () => {
    const now = fx.clock.now();
    await expect(
      buildComplianceReport(
        fx.authority,
        parseReportRequest({ agent_id: 'nobody', start_date: '2026-03-01', end_date: '2026-03-10' }, now),
        { generatedBy: 't' },
      ),
    ).rejects.toMatchObject({ code: 'ACA_ERR_REPORT_SUBJECT_UNKNOWN', httpStatus: 404 });
    const codeOf = (body: unknown): string => {
      try {
        parseReportRequest(body, now);
        return 'accepted';
      } catch (e) {
        return isAgentCaError(e) ? e.code : String(e);
      }
    };
    expect(codeOf({ agent_id: 'trader-7', start_date: '2026-03-10', end_date: '2026-03-01' })).toBe(
      'ACA_ERR_REPORT_RANGE_INVALID',
    );
    expect(codeOf({ agent_id: 'trader-7', start_date: '2030-01-01', end_date: '2030-02-01' })).toBe(
      'ACA_ERR_REPORT_RANGE_INVALID',
    );
    expect(codeOf({ agent_id: 'trader-7', start_date: '2026-03-01T00:00:00', end_date: '2026-03-10' })).toBe(
      'ACA_ERR_INPUT_INVALID',
    );
    expect(codeOf({ agent_id: 'trader-7', tenant: 'acme', start_date: '2026-03-01', end_date: '2026-03-10' })).toBe(
      'ACA_ERR_INPUT_INVALID',
    );
    expect(
      codeOf({ agent_id: 'trader-7', start_date: '2026-03-01', end_date: '2026-03-10', include: ['trades', 'gossip'] }),
    ).toBe('ACA_ERR_INPUT_INVALID');
    expect(codeOf({ agent_id: 'trader-7', start_date: '2026-03-01', end_date: '2026-03-10', extra: 1 })).toBe(
      'ACA_ERR_INPUT_INVALID',
    );
  });
});

describe.runIf(poppler.available)('the PDF, as poppler reads and renders it', () => {
  it('leaves out what include leaves out, and the article map says so', async () => {
    const req = parseReportRequest(
      { agent_id: 'trader-7', start_date: '2026-03-01', end_date: '2026-03-10', include: ['revocations'] },
      fx.clock.now(),
    );
    const only = await buildComplianceReport(fx.authority, req, {
      generatedBy: 'admin:auditor-1',
      riskConfig: fx.riskConfig,
    });
    const text = pdfText(only.files.get(PACKAGE_FILES.pdf)!).replace(/\s+/g, ' ');
    expect(text).toContain('2. Credential timeline');
    expect(text).not.toContain('events with an amount or a market');
    expect(text).toContain('4. Trades and transactions (not included: add trades)');
    expect((await verifyReportPackage(only.files)).ok).toBe(true);
  });

  it('names the agent, the counts, the revocation reason and the score', () => {
    // Wrapped lines and table columns: compare with whitespace runs collapsed.
    const text = pdfText(report.files.get(PACKAGE_FILES.pdf)!).replace(/\s+/g, ' ');
    expect(text).toContain('trader-7');
    expect(text).toContain('Example Trading Ltd');
    expect(text).toContain(`${fx.trades} events with an amount or a market; ${fx.breaches} breaches`);
    expect(text).toMatch(/privilegeWithdra ?wn/);
    expect(text).toMatch(/was revoked automatically \(privilegeWithdrawn\) by risk-engine at risk score 0\.\d+/);
    expect(text).toContain('superseded');
    expect(text).toContain('admin:alice');
    expect(text).toContain('EU AI Act');
    expect(text).toContain('GDPR');
    expect(text).toContain(report.manifest.audit!.lastHash);
    expect(text).toContain('agent-ca report verify');
  });

  it('renders the risk chart page with the chart drawn where the chart is', () => {
    const pdf = report.files.get(PACKAGE_FILES.pdf)!;
    const pages = pdfText(pdf).split('\f');
    const riskPage = pages.findIndex((p) => p.includes('3. Risk')) + 1;
    expect(riskPage).toBeGreaterThan(1);
    const img = renderPage(pdf, riskPage);
    expect(img.status).toBe(0);
    expect(img.width).toBeGreaterThan(300);
    // The plot box sits below the heading; a blank (failed) chart would leave it white.
    const ink = inkShare(img, { x0: 0.1, y0: 0.12, x1: 0.92, y1: 0.38 }, 230);
    expect(ink).toBeGreaterThan(0.01);
  });
});

it.runIf(!poppler.available)('poppler-utils is installed (required when CI=true)', () => {
  if (process.env.CI === 'true') throw new Error(`the PDF checks need poppler-utils in CI: ${poppler.reason}`);
  console.warn(`skipping the PDF checks: ${poppler.reason}`);
});

async function makeReportFixtureRootOnly(): Promise<string> {
  const { createAuthority } = await import('../../src/authority/create-authority.js');
  const { createMemoryStore } = await import('../../src/store/memory-store.js');
  const a = await createAuthority({ dataDir: join(tmp.dir, 'other-ca'), store: await createMemoryStore(), env: {} });
  await a.init({ keyType: 'p256' });
  const root = a.chain().root;
  await a.close();
  return root;
}
