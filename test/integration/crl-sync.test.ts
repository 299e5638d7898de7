/**
 * Small CRLs change within seconds, and `agent-ca crl sync` carries them to a gateway's file:
 * a revocation publishes a new *full* CRL (OpenSSL-based gateways read no deltas); sync writes
 * the intermediate's and the root's CRLs as PEM only after checking them, runs --exec only on
 * change, and keeps the last good file on any error. Checked with `openssl verify -crl_check_all`.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { crlSyncCommand } from '../../src/cli/commands/crl-sync.js';
import { startTestCa, type TestCa } from '../helpers/ca-server.js';
import { opensslAsync } from '../helpers/openssl.js';

let ca: TestCa;
let chain: string;

beforeAll(async () => {
  ca = await startTestCa();
  chain = join(ca.dir, 'chain.pem');
  writeFileSync(chain, readFileSync(ca.intermediatePem, 'utf8') + readFileSync(ca.rootPem, 'utf8'));
});
afterAll(async () => {
  await ca?.close();
});

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const verify = (cert: string, crlFile: string) =>
  opensslAsync([
    'verify',
    '-crl_check_all',
    '-CAfile',
    ca.rootPem,
    '-untrusted',
    ca.intermediatePem,
    '-CRLfile',
    crlFile,
    cert,
  ]);

function crlNumber(): Promise<bigint> {
  return fetch(`${ca.url}/crl/intermediate.crl`).then((r) => BigInt(r.headers.get('etag')!.match(/-(\d+)"$/)![1]!));
}

describe('full CRLs on change, and crl sync', () => {
  it('a revocation publishes a new full CRL within 5 s; sync writes it (with the root CRL), runs --exec only on change', async () => {
    const good = await ca.issueAgent('sync-good');
    const bad = await ca.issueAgent('sync-bad');
    const out = join(ca.dir, 'agents.crl');
    const marker = join(ca.dir, 'reloads');
    writeFileSync(marker, '');
    const args = [
      'crl',
      'sync',
      '--url',
      `${ca.url}/crl/intermediate.crl`,
      '--root-crl',
      '--ca',
      chain,
      '--out',
      out,
      '--exec',
      `echo reload >> ${marker}`,
    ];
    const first = await cli(args);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`wrote ${out}`);
    expect(readFileSync(out, 'utf8').match(/BEGIN X509 CRL/g)).toHaveLength(2);
    expect((await verify(good.path, out)).stdout).toContain(': OK');
    expect(readFileSync(marker, 'utf8')).toBe('reload\n');
    const again = await cli(args);
    expect(again.out).toContain('is current');
    expect(readFileSync(marker, 'utf8')).toBe('reload\n');

    const before = await crlNumber();
    const t0 = performance.now();
    expect(
      (await ca.admin('POST', `/api/v1/certificates/${bad.serial}/revoke`, { reason: 'keyCompromise' })).status,
    ).toBe(200);
    while ((await crlNumber()) <= before) {
      if (performance.now() - t0 > 5_000) throw new Error('no new full CRL within 5 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const published = (performance.now() - t0) / 1000;
    process.stdout.write(
      `full CRL with the revocation published ${published.toFixed(2)} s after the admin API returned\n`,
    );
    expect((await cli(args)).code).toBe(0);
    const r = await verify(bad.path, out);
    expect(r.stdout + r.stderr).toContain('certificate revoked');
    expect((await verify(good.path, out)).stdout).toContain(': OK');
    expect(readFileSync(marker, 'utf8')).toBe('reload\nreload\n');
  });

  it('keeps the last good file on any error: server down, another CA, a delta CRL', async () => {
    const out = join(ca.dir, 'kept.crl');
    expect(
      (await cli(['crl', 'sync', '--url', `${ca.url}/crl/intermediate.crl`, '--ca', chain, '--out', out])).code,
    ).toBe(0);
    const good = readFileSync(out, 'utf8');
    const mtime = statSync(out).mtimeMs;

    const down = await cli([
      'crl',
      'sync',
      '--url',
      'http://127.0.0.1:1/crl/intermediate.crl',
      '--ca',
      chain,
      '--out',
      out,
    ]);
    expect(down.code).toBe(1);
    expect(down.err).toContain('ACA_ERR_CRL_FETCH_FAILED');

    const other = await startTestCa();
    try {
      const foreign = await cli([
        'crl',
        'sync',
        '--url',
        `${other.url}/crl/intermediate.crl`,
        '--ca',
        chain,
        '--out',
        out,
      ]);
      expect(foreign.code).toBe(1);
      // Both test CAs carry the same names: the name matches, the signature does not.
      expect(foreign.err).toMatch(/ACA_ERR_CRL_REJECTED: .*the signature does not verify with the CA certificate/);
      const rootOnly = await cli([
        'crl',
        'sync',
        '--url',
        `${ca.url}/crl/intermediate.crl`,
        '--ca',
        ca.rootPem,
        '--out',
        out,
      ]);
      expect(rootOnly.code).toBe(1);
      expect(rootOnly.err).toMatch(/ACA_ERR_CRL_REJECTED: .*issued by none of the given CA certificates/);
    } finally {
      await other.close();
    }

    const delta = await cli([
      'crl',
      'sync',
      '--url',
      `${ca.url}/crl/intermediate-delta.crl`,
      '--ca',
      chain,
      '--out',
      out,
    ]);
    expect(delta.code).toBe(1);
    expect(delta.err).toContain('a delta CRL');
    expect(readFileSync(out, 'utf8')).toBe(good);
    expect(statSync(out).mtimeMs).toBe(mtime);

    const usage = await cli([
      'crl',
      'sync',
      '--url',
      `${ca.url}/crl/intermediate.crl`,
      '--ca',
      chain,
      '--out',
      out,
      '--interval',
      'often',
    ]);
    expect(usage.code).toBe(2);
  });

  it('--interval keeps the file current until stopped', async () => {
    const out = join(ca.dir, 'loop.crl');
    const a = await ca.issueAgent('sync-loop');
    const stop = new AbortController();
    const lines: string[] = [];
    const running = crlSyncCommand(
      ['--url', `${ca.url}/crl/intermediate.crl`, '--ca', chain, '--out', out, '--interval', '1s'],
      { out: (l) => lines.push(l), err: (l) => lines.push(l), env: {} },
      stop.signal,
    );
    try {
      const t0 = performance.now();
      while (lines.length === 0) {
        if (performance.now() - t0 > 10_000) throw new Error('no first sync');
        await new Promise((r) => setTimeout(r, 50));
      }
      await ca.authority.revoke(a.serial, { reason: 'superseded', actor: 'test' });
      for (;;) {
        const r = await verify(a.path, out);
        if ((r.stdout + r.stderr).includes('certificate revoked')) break;
        if (performance.now() - t0 > 15_000) throw new Error('the synced file never listed the revocation');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      stop.abort();
      expect(await running).toBe(0);
    }
  });
});
