/**
 * Compliance reports from the command line and over HTTP, on a LevelDB data dir with history
 * (test/helpers/report-fixture.ts): `agent-ca report` writes a zip that `agent-ca report
 * verify` accepts and that fails once tampered; bad input is one typed stderr line; then the
 * server takes POST /api/v1/reports/compliance (202 + id), serves the status, the PDF and the
 * zip, answers bad ranges and unknown agents with problem+json, and `report --server` works
 * while the server holds the data dir.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority } from '../../src/authority/create-authority.js';
import { runCli } from '../../src/cli/main.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import type { Authority } from '../../src/authority/authority.js';
import { readPackage } from '../../src/reports/package.js';
import { verifyReportPackage } from '../../src/reports/verify-report.js';
import { makeReportFixture } from '../helpers/report-fixture.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const TOKEN = 'report-test-admin-token';
let tmp: TmpDir;
let data: string;

async function cli(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { AGENT_CA_DATA: data, ...env },
  });
  return { code, out, err };
}

const RANGE = ['--from', '2026-03-01', '--to', '2026-03-10'];

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-report-cli-');
  data = join(tmp.dir, 'data');
  const fx = await makeReportFixture(data, { level: true });
  await fx.close();
}, 120_000);

afterAll(async () => {
  await tmp?.cleanup();
});

describe('agent-ca report', () => {
  it('writes a zip that report verify accepts, with progress lines on stderr', async () => {
    const zip = join(tmp.dir, 'cli.zip');
    const r = await cli(
      { AGENT_CA_PROGRESS: '1' },
      'report',
      '--agent-id',
      'trader-7',
      ...RANGE,
      '--include',
      'trades,risk_events,revocations',
      '--out',
      zip,
    );
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toMatch(
      /^report rpt_[0-9a-f]{32} written to .*cli\.zip \(audit entries 1\.\.\d+, \d+ about the subject\); check it with: agent-ca report verify/,
    );
    expect(r.err).toEqual(
      expect.arrayContaining(['agent-ca report: drawing the PDF', 'agent-ca report: signing and packing']),
    );
    const v = await cli({}, 'report', 'verify', zip);
    expect(v.code, v.err.join('\n')).toBe(0);
    expect(v.out.every((l) => l.startsWith('ok   ') || l.startsWith('root SHA-256 '))).toBe(true);
    expect(v.out.join('\n')).toMatch(/ok {3}evidence\.jsonl chain: entries 1\.\.\d+ link/);
    const pinned = await cli({}, 'report', 'verify', zip, '--ca', join(data, 'ca', 'root.pem'));
    expect(pinned.code, pinned.err.join('\n')).toBe(0);
  });

  it('report verify exits 1 and names the file when the zip was tampered with', async () => {
    const zip = join(tmp.dir, 'cli.zip');
    const files = readPackage(zip);
    const pdf = Buffer.from(files.get('report.pdf')!);
    pdf[pdf.length >> 1] = pdf[pdf.length >> 1]! ^ 0x20;
    files.set('report.pdf', pdf);
    const { zipPackage } = await import('../../src/reports/package.js');
    const bad = join(tmp.dir, 'bad.zip');
    writeFileSync(bad, zipPackage(files, new Date()));
    const v = await cli({}, 'report', 'verify', bad);
    expect(v.code).toBe(1);
    expect(v.out.filter((l) => l.startsWith('FAIL'))).toEqual([
      expect.stringMatching(/^FAIL report\.pdf SHA-256: is [0-9a-f]{64}/),
    ]);
    expect(v.err).toEqual([
      'agent-ca report verify: ACA_ERR_REPORT_VERIFY_FAILED: 1 check(s) failed: report.pdf SHA-256',
    ]);
  });

  it('answers bad input with one typed line', async () => {
    const unknown = await cli({}, 'report', '--agent-id', 'nobody', ...RANGE, '--out', join(tmp.dir, 'x.zip'));
    expect(unknown.code).toBe(1);
    expect(unknown.err).toEqual([
      expect.stringMatching(
        /^agent-ca report: ACA_ERR_REPORT_SUBJECT_UNKNOWN: no certificate was ever issued to agent nobody$/,
      ),
    ]);
    const reversed = await cli(
      {},
      'report',
      '--agent-id',
      'trader-7',
      '--from',
      '2026-03-10',
      '--to',
      '2026-03-01',
      '--out',
      join(tmp.dir, 'x.zip'),
    );
    expect(reversed.err).toEqual([
      expect.stringMatching(/^agent-ca report: ACA_ERR_REPORT_RANGE_INVALID: the range is empty/),
    ]);
    const noOut = await cli({}, 'report', '--agent-id', 'trader-7', ...RANGE);
    expect(noOut.code).toBe(2);
    const notZip = await cli({}, 'report', 'verify', join(data, 'ca', 'root.pem'));
    expect(notZip.code).toBe(1);
    expect(notZip.err[0]).toMatch(/ACA_ERR_INPUT_INVALID: .* is neither a directory nor a readable zip/);
  });
});

describe('reports over HTTP', () => {
  let authority: Authority;
  let server: RunningServer;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, token = TOKEN) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      bytes,
      json: () => JSON.parse(bytes.toString('utf8')) as Record<string, any>,
    };
  };

  beforeAll(async () => {
    authority = await createAuthority({ dataDir: data, env: {} });
    server = await startServer({ authority, host: '127.0.0.1', port: 0, adminToken: TOKEN, logLevel: 'error' });
  });

  afterAll(async () => {
    await server?.close();
    await authority?.close();
  });

  it('POST -> 202 + id; GET status; the PDF and the zip once done, and the zip verifies', async () => {
    const r = await call('POST', '/api/v1/reports/compliance', {
      agent_id: 'trader-7',
      start_date: '2026-03-01',
      end_date: '2026-03-10',
      include: ['trades', 'risk_events', 'revocations'],
    });
    expect(r.status).toBe(202);
    const job = r.json();
    expect(job.id).toMatch(/^rpt_[0-9a-f]{32}$/);
    expect(['pending', 'running', 'done']).toContain(job.status);
    await server.reports.settle();
    const s = await call('GET', `/api/v1/reports/${job.id}`);
    expect(s.json()).toMatchObject({
      id: job.id,
      status: 'done',
      subject: { agentId: 'trader-7' },
      requestedBy: expect.stringMatching(/^admin:/),
      links: { pdf: `/api/v1/reports/${job.id}/report.pdf` },
    });
    const pdf = await call('GET', `/api/v1/reports/${job.id}/report.pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const zip = await call('GET', `/api/v1/reports/${job.id}/evidence.zip`);
    expect(zip.type).toBe('application/zip');
    const path = join(tmp.dir, 'http.zip');
    writeFileSync(path, zip.bytes);
    const files = readPackage(path);
    expect(Buffer.compare(files.get('report.pdf')!, pdf.bytes)).toBe(0);
    expect((await verifyReportPackage(files, readFileSync(join(data, 'ca', 'root.pem')))).ok).toBe(true);
  });

  it('bad ranges, unknown agents, unknown reports and missing tokens are problem+json', async () => {
    const range = await call('POST', '/api/v1/reports/compliance', {
      agent_id: 'trader-7',
      start_date: '2026-03-10',
      end_date: '2026-03-01',
    });
    expect(range.status).toBe(400);
    expect(range.type).toContain('application/problem+json');
    expect(range.json().code).toBe('ACA_ERR_REPORT_RANGE_INVALID');
    const fields = await call('POST', '/api/v1/reports/compliance', {
      agent_id: 'trader-7',
      start_date: 'yesterday',
      end_date: '2026-03-01',
      include: 'everything',
    });
    expect(fields.status).toBe(400);
    expect(Object.keys(fields.json().details.fields).sort()).toEqual(['include', 'start_date']);
    const unknown = await call('POST', '/api/v1/reports/compliance', {
      agent_id: 'nobody',
      start_date: '2026-03-01',
      end_date: '2026-03-10',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json().code).toBe('ACA_ERR_REPORT_SUBJECT_UNKNOWN');
    const noReport = await call('GET', `/api/v1/reports/rpt_${'0'.repeat(32)}`);
    expect(noReport.status).toBe(404);
    expect(noReport.json().code).toBe('ACA_ERR_REPORT_NOT_FOUND');
    const noToken = await call(
      'POST',
      '/api/v1/reports/compliance',
      { agent_id: 'trader-7', start_date: '2026-03-01', end_date: '2026-03-10' },
      '',
    );
    expect(noToken.status).toBe(401);
  });

  it('auditors report on their own tenant only; other roles are refused', async () => {
    for (const name of ['acme', 'beta']) expect((await call('POST', '/api/v1/tenants', { name })).status).toBe(201);
    const tokenFor = async (name: string, role: string): Promise<string> => {
      const t = await call('POST', '/api/v1/tokens', { name, role, tenant: 'acme' });
      expect(t.status, t.bytes.toString()).toBe(201);
      return t.json().token as string;
    };
    const auditor = await tokenFor('auditor-acme', 'auditor');
    const operator = await tokenFor('operator-acme', 'operator');
    const body = (subject: Record<string, string>) => ({
      ...subject,
      start_date: '2026-03-01',
      end_date: '2026-03-10',
      include: ['revocations'],
    });
    const own = await call('POST', '/api/v1/reports/compliance', body({ agent_id: 'trader-7' }), auditor);
    expect(own.status, own.bytes.toString()).toBe(202);
    await server.reports.settle();
    const job = (await call('GET', `/api/v1/reports/${own.json().id}`, undefined, auditor)).json();
    expect(job).toMatchObject({ status: 'done', requestedBy: 'auditor:auditor-acme@acme' });
    expect((await call('GET', `/api/v1/reports/${job.id}/report.pdf`, undefined, auditor)).status).toBe(200);
    // Another tenant's agent, another tenant, another tenant's report: all read as absent.
    const other = await call('POST', '/api/v1/reports/compliance', body({ agent_id: 'other-bot' }), auditor);
    expect([other.status, other.json().code]).toEqual([404, 'ACA_ERR_REPORT_SUBJECT_UNKNOWN']);
    expect((await call('POST', '/api/v1/reports/compliance', body({ tenant: 'beta' }), auditor)).status).toBe(404);
    const beta = (await call('POST', '/api/v1/reports/compliance', body({ tenant: 'beta' }))).json();
    await server.reports.settle();
    expect((await call('GET', `/api/v1/reports/${beta.id}`, undefined, auditor)).status).toBe(404);
    expect((await call('GET', `/api/v1/reports/${beta.id}/evidence.zip`, undefined, auditor)).status).toBe(404);
    const op = await call('POST', '/api/v1/reports/compliance', body({ agent_id: 'trader-7' }), operator);
    expect([op.status, op.json().code]).toEqual([403, 'ACA_ERR_HTTP_FORBIDDEN']);
    expect((await call('GET', `/api/v1/reports/${job.id}`, undefined, operator)).status).toBe(403);
  });

  it('a tenant report, and the CLI through --server while the server holds the data dir', async () => {
    const out = join(tmp.dir, 'remote.zip');
    const r = await cli(
      { AGENT_CA_TOKEN: TOKEN },
      'report',
      '--tenant',
      'beta',
      ...RANGE,
      '--out',
      out,
      '--server',
      server.url,
    );
    expect(r.code, r.err.join('\n')).toBe(0);
    const files = readPackage(out);
    expect((await verifyReportPackage(files)).ok).toBe(true);
    const ev = files.get('evidence.jsonl')!.toString('utf8');
    expect(ev).toContain('other-bot');
    expect(ev).not.toContain('trader-7');
    const local = await cli({}, 'report', '--tenant', 'beta', ...RANGE, '--out', join(tmp.dir, 'x.zip'));
    expect(local.err[0]).toMatch(/ACA_ERR_STORE_LOCKED/);
  });
});
