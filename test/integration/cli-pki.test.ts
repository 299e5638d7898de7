/**
 * The CLI quick start, in process (runCli with captured io, LevelDB in a temp data dir, the
 * system clock): init -> issue (--generate-key, --csr, --public-key) -> chain -> openssl
 * verify -> inspect; and the scripting contract: errors are one line on stderr
 * `agent-ca <cmd>: ACA_ERR_<CODE>: ...` with exit 1, usage errors exit 2.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentOids } from '../../src/asn1/oids.js';
import type { CertificateDescription } from '../../src/asn1/certificate-describe.js';
import { runCli } from '../../src/cli/main.js';
import { openssl, tempDir, type TempDir } from '../helpers/openssl.js';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

function cli(dataDir: string) {
  return async (...argv: string[]): Promise<Run> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { AGENT_CA_DATA: dataDir },
    });
    return { code, out, err };
  };
}

/** The documented error line: exactly one stderr line, the command, the stable code. */
function expectError(r: Run, cmd: string, code: string): string {
  expect(r.code, r.err.join('\n')).toBe(1);
  expect(r.err).toHaveLength(1);
  expect(r.err[0]).not.toContain('\n');
  expect(r.err[0]).toMatch(new RegExp(`^agent-ca ${cmd}: ${code}: \\S`));
  return r.err[0]!;
}

function expectUsageError(r: Run, cmd: string, message: RegExp): void {
  expect(r.code, r.err.join('\n')).toBe(2);
  expect(r.err).toHaveLength(1);
  const [first, second] = r.err[0]!.split('\n');
  expect(first).toMatch(new RegExp(`^agent-ca ${cmd}: `));
  expect(first).toMatch(message);
  expect(second).toMatch(new RegExp(`^usage: agent-ca ${cmd} `));
}

function verify(dataDir: string, cert: string, purpose = 'sslclient') {
  return openssl([
    'verify',
    '-x509_strict',
    '-purpose',
    purpose,
    '-CAfile',
    join(dataDir, 'ca', 'root.pem'),
    '-untrusted',
    join(dataDir, 'ca', 'intermediate.pem'),
    cert,
  ]);
}

let tmp: TempDir;
beforeAll(() => {
  tmp = tempDir('agent-ca-cli-');
});
afterAll(() => tmp.cleanup());

describe('quick start on a p256 CA', () => {
  let data: string;
  let run: ReturnType<typeof cli>;
  beforeAll(async () => {
    data = join(tmp.dir, 'p256');
    run = cli(data);
    const r = await run('init', '--org', 'Acme Agents', '--key-type', 'p256', '--agent-domain', 'agents.example');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toBe(`initialised a CA in ${data}`);
    expect(r.out.join('\n')).toMatch(
      /root\s+O=Acme Agents, CN=Acme Agents Root CA\n\s+key softkey:root \(p256\), valid until /,
    );
    expect(r.out.join('\n')).toMatch(/intermediate\s+O=Acme Agents, CN=Acme Agents Agent Issuing CA/);
    expect(r.out.join('\n')).toMatch(/SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  });

  it('issue --generate-key: a certificate openssl verifies for TLS client auth, and its private key (0600)', async () => {
    const cert = join(tmp.dir, 'bot.pem');
    const key = join(tmp.dir, 'bot.key');
    const r = await run(
      'issue',
      '--agent-id',
      'trading-bot-v2',
      '--org',
      'Example Operator',
      '--scope',
      'read:accounts,write:payments',
      '--generate-key',
      key,
      '--out',
      cert,
    );
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toMatch(/^issued [0-9a-f]{32} for trading-bot-v2, valid \S+ \.\. \S+$/);
    expect(r.out[1]).toBe(`certificate: ${cert}, private key: ${key}`);
    const v = verify(data, cert);
    expect(v.stdout.trim()).toBe(`${cert}: OK`);
    expect(v.status).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(openssl(['pkey', '-in', key, '-pubout']).stdout).toBe(
      openssl(['x509', '-in', cert, '-noout', '-pubkey']).stdout,
    );
    expect(openssl(['x509', '-in', cert, '-noout', '-text']).stdout).toContain('ASN1 OID: prime256v1');
  });

  it('issue --generate-key --key-type ed25519 / rsa2048', async () => {
    for (const kt of ['ed25519', 'rsa2048']) {
      const cert = join(tmp.dir, `gen-${kt}.pem`);
      const r = await run(
        'issue',
        '--agent-id',
        `gen-${kt}`,
        '--org',
        'Example Operator',
        '--generate-key',
        join(tmp.dir, `gen-${kt}.key`),
        '--key-type',
        kt,
        '--out',
        cert,
      );
      expect(r.code, r.err.join('\n')).toBe(0);
      expect(verify(data, cert).status).toBe(0);
      const text = openssl(['x509', '-in', cert, '-noout', '-text']).stdout;
      expect(text).toMatch(kt === 'ed25519' ? /Public Key Algorithm: ED25519/ : /Public-Key: \(2048 bit\)/);
    }
  });

  it('issue --csr with an openssl-made CSR certifies the CSR key', async () => {
    const key = join(tmp.dir, 'csr.key');
    const csr = join(tmp.dir, 'csr.pem');
    expect(
      openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=ignored', '-out', csr])
        .status,
    ).toBe(0);
    const cert = join(tmp.dir, 'from-csr.pem');
    const r = await run('issue', '--agent-id', 'csr-bot', '--org', 'Example Operator', '--csr', csr, '--out', cert);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(verify(data, cert).status).toBe(0);
    expect(openssl(['x509', '-in', cert, '-noout', '-pubkey']).stdout).toBe(
      openssl(['req', '-in', csr, '-noout', '-pubkey']).stdout,
    );
    expect(openssl(['x509', '-in', cert, '-noout', '-subject']).stdout.trim()).toBe(
      'subject=O = Example Operator, CN = csr-bot',
    );
  });

  it('issue --public-key with every agent extension; inspect and openssl show them', async () => {
    const key = join(tmp.dir, 'pub.key');
    expect(openssl(['genpkey', '-algorithm', 'ed25519', '-out', key]).status).toBe(0);
    const pub = tmp.file('pub.pem', openssl(['pkey', '-in', key, '-pubout']).stdout);
    const cert = join(tmp.dir, 'full.pem');
    const hash = 'ab'.repeat(32);
    const r = await run(
      'issue',
      '--agent-id',
      'payments-bot',
      '--org',
      'Example Operator',
      '--profile',
      'agent-high-risk',
      '--days',
      '30',
      '--scope',
      'write:payments',
      '--scope',
      'read:/ledger/*',
      '--max-tx',
      '1250.50:eur',
      '--markets',
      'EUR_USD,GBP_USD',
      '--revocation-timeout',
      '30',
      '--model-hash',
      `sha256:${hash}`,
      '--tenant',
      'acme-corp',
      '--env',
      'staging',
      '--instance-id',
      'i-7',
      '--dns',
      'payments-bot.agents.example',
      '--uri',
      'spiffe://agents.example/payments-bot',
      '--public-key',
      pub,
      '--out',
      cert,
    );
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(verify(data, cert).status).toBe(0);
    const text = openssl(['x509', '-in', cert, '-noout', '-text']).stdout;
    for (const oid of Object.values(AgentOids)) expect(text).toContain(`${oid}:`);
    expect(text).toContain('DNS:payments-bot.agents.example, URI:spiffe://agents.example/payments-bot');

    const i = await run('inspect', cert);
    expect(i.code).toBe(0);
    const d = JSON.parse(i.out.join('\n')) as CertificateDescription;
    expect(d.agent).toEqual({
      parseErrors: [],
      agentPolicy: {
        maxTransactionSize: { amount: '1250.50', currency: 'EUR' },
        allowedMarkets: ['EUR_USD', 'GBP_USD'],
        revocationTimeoutSeconds: 30,
      },
      agentScope: ['write:payments', 'read:/ledger/*'],
      modelHash: { algorithm: 'sha256', digest: hash },
      agentContext: { tenantId: 'acme-corp', environment: 'staging', agentInstanceId: 'i-7' },
    });
    expect(d.keyType).toBe('ed25519');
    expect(new Date(d.notAfter).getTime() - new Date(d.notBefore).getTime() + 1000).toBe(30 * 86_400_000);
  });

  it('chain --out writes the same root and intermediate that init exported', async () => {
    const out = join(tmp.dir, 'chain');
    const r = await run('chain', '--out', out, '--data', data);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out).toEqual([`wrote ${join(out, 'root.pem')} and ${join(out, 'intermediate.pem')}`]);
    for (const f of ['root.pem', 'intermediate.pem'])
      expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(data, 'ca', f), 'utf8'));
    const v = openssl(['verify', '-x509_strict', '-CAfile', join(out, 'root.pem'), join(out, 'intermediate.pem')]);
    expect(v.status).toBe(0);
  });

  describe('error contract', () => {
    it('init twice is refused (exit 1, one line, stable code)', async () => {
      expectError(await run('init', '--org', 'Again'), 'init', 'ACA_ERR_CA_ALREADY_INITIALISED');
    });

    it('lint refusals name the rule, and --generate-key leaves no orphan key', async () => {
      const key = join(tmp.dir, 'long.key');
      const line = expectError(
        await run(
          'issue',
          '--agent-id',
          'long-bot',
          '--org',
          'O',
          '--days',
          '366',
          '--generate-key',
          key,
          '--out',
          join(tmp.dir, 'long.pem'),
        ),
        'issue',
        'ACA_ERR_LINT_FAILED',
      );
      expect(line).toContain('e_validity_exceeds_profile_maximum');
      expect(existsSync(key)).toBe(false);
      expect(existsSync(join(tmp.dir, 'long.pem'))).toBe(false);
      const san = expectError(
        await run(
          'issue',
          '--agent-id',
          'bot',
          '--org',
          'O',
          '--dns',
          'bot.evil.example',
          '--generate-key',
          key,
          '--out',
          join(tmp.dir, 'x.pem'),
        ),
        'issue',
        'ACA_ERR_LINT_FAILED',
      );
      expect(san).toContain('e_agent_subject_alt_name');
      expectError(
        await run(
          'issue',
          '--agent-id',
          'bot',
          '--org',
          'O',
          '--profile',
          'agent-high-risk',
          '--days',
          '31',
          '--generate-key',
          key,
          '--out',
          join(tmp.dir, 'x.pem'),
        ),
        'issue',
        'ACA_ERR_LINT_FAILED',
      );
    });

    it('input refusals: tampered CSR, bad agent id, unknown profile, bad scope', async () => {
      const csr = join(tmp.dir, 'csr.pem');
      const der = Buffer.from(readFileSync(csr, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
      der[der.length - 1]! ^= 1;
      const bad = tmp.file('tampered.der', der);
      expectError(
        await run('issue', '--agent-id', 'bot', '--org', 'O', '--csr', bad, '--out', join(tmp.dir, 'x.pem')),
        'issue',
        'ACA_ERR_INPUT_CSR_SIGNATURE',
      );
      expectError(
        await run(
          'issue',
          '--agent-id',
          'bot',
          '--org',
          'O',
          '--csr',
          tmp.file('junk.csr', 'junk'),
          '--out',
          join(tmp.dir, 'x.pem'),
        ),
        'issue',
        'ACA_ERR_INPUT_CSR_INVALID',
      );
      expectError(
        await run(
          'issue',
          '--agent-id',
          'no good',
          '--org',
          'O',
          '--generate-key',
          join(tmp.dir, 'k'),
          '--out',
          join(tmp.dir, 'x.pem'),
        ),
        'issue',
        'ACA_ERR_INPUT_INVALID',
      );
      expectError(
        await run(
          'issue',
          '--agent-id',
          'bot',
          '--org',
          'O',
          '--profile',
          'nope',
          '--generate-key',
          join(tmp.dir, 'k'),
          '--out',
          join(tmp.dir, 'x.pem'),
        ),
        'issue',
        'ACA_ERR_PROFILE_UNKNOWN',
      );
      expectError(
        await run(
          'issue',
          '--agent-id',
          'bot',
          '--org',
          'O',
          '--scope',
          'x',
          '--generate-key',
          join(tmp.dir, 'k'),
          '--out',
          join(tmp.dir, 'x.pem'),
        ),
        'issue',
        'ACA_ERR_ASN1_ENCODE',
      );
      expect(existsSync(join(tmp.dir, 'x.pem'))).toBe(false);
    });

    it('usage errors exit 2: missing --out, unreadable --csr, two key sources, bad flags', async () => {
      expectUsageError(
        await run('issue', '--agent-id', 'bot', '--org', 'O', '--generate-key', join(tmp.dir, 'k')),
        'issue',
        /--out is required/,
      );
      const missing = join(tmp.dir, 'does-not-exist.csr');
      expectUsageError(
        await run('issue', '--agent-id', 'bot', '--org', 'O', '--csr', missing, '--out', join(tmp.dir, 'x.pem')),
        'issue',
        new RegExp(`--csr: cannot read ${missing}: ENOENT`),
      );
      expectUsageError(
        await run('issue', '--agent-id', 'bot', '--org', 'O', '--csr', 'a', '--public-key', 'b', '--out', 'c'),
        'issue',
        /exactly one of --csr FILE, --public-key FILE, --generate-key/,
      );
      expectUsageError(
        await run('issue', '--org', 'O', '--generate-key', 'k', '--out', 'c'),
        'issue',
        /--agent-id is required/,
      );
      expectUsageError(
        await run('issue', '--agent-id', 'b', '--days', 'ten', '--generate-key', 'k', '--out', 'c'),
        'issue',
        /--days must be a positive integer/,
      );
      expectUsageError(
        await run('issue', '--agent-id', 'b', '--max-tx', 'lots', '--generate-key', 'k', '--out', 'c'),
        'issue',
        /--max-tx must look like 50000:USD/,
      );
      expectUsageError(
        await run('issue', '--agent-id', 'b', '--model-hash', 'md5:00', '--generate-key', 'k', '--out', 'c'),
        'issue',
        /--model-hash must look like sha256:HEX/,
      );
      expectUsageError(
        await run('issue', '--agent-id', 'b', '--generate-key', 'k', '--key-type', 'rsa1024', '--out', 'c'),
        'issue',
        /--key-type must be one of/,
      );
      expectUsageError(await run('issue', '--bogus'), 'issue', /bogus/);
      expectUsageError(await run('chain'), 'chain', /--out is required/);
      expectUsageError(
        await run('inspect', join(tmp.dir, 'nothing.pem')),
        'inspect',
        /cannot read .*nothing\.pem: ENOENT/,
      );
    });

    it('inspect of something that is not a certificate, unknown commands, help', async () => {
      expectError(
        await run('inspect', tmp.file('not-a-cert.der', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))),
        'inspect',
        'ACA_ERR_ASN1_DECODE',
      );
      const unknown = await run('frobnicate');
      expect(unknown.code).toBe(2);
      expect(unknown.err[0]).toMatch(/^agent-ca: unknown command "frobnicate"/);
      const none = await run();
      expect(none.code).toBe(2);
      expect(none.out[0]).toMatch(/^usage:/);
      const help = await run('issue', '--help');
      expect(help.code).toBe(0);
      expect(help.out[0]).toMatch(/^usage: agent-ca issue /);
    });
  });
});

describe('other CA key types', () => {
  it.each(['ed25519', 'rsa2048', 'p384'])('init --key-type %s, issue, verify', async (kt) => {
    const data = join(tmp.dir, `ca-${kt}`);
    const run = cli(data);
    const init = await run('init', '--org', `Org ${kt}`, '--key-type', kt);
    expect(init.code, init.err.join('\n')).toBe(0);
    expect(init.out.join('\n')).toContain(`key softkey:root (${kt})`);
    const cert = join(data, 'agent.pem');
    const r = await run(
      'issue',
      '--agent-id',
      'agent-1',
      '--org',
      'Example Operator',
      '--generate-key',
      join(data, 'agent.key'),
      '--out',
      cert,
    );
    expect(r.code, r.err.join('\n')).toBe(0);
    const v = verify(data, cert);
    expect(v.stdout.trim()).toBe(`${cert}: OK`);
    const sig = openssl(['x509', '-in', cert, '-noout', '-text']).stdout.match(/Signature Algorithm: (\S+)/)?.[1];
    expect(sig).toBe({ ed25519: 'ED25519', rsa2048: 'sha256WithRSAEncryption', p384: 'ecdsa-with-SHA384' }[kt]);
  });

  it('issue without a CA: STORE_UNAVAILABLE for a missing data dir, CA_NOT_INITIALISED for an empty one', async () => {
    const args = [
      'issue',
      '--agent-id',
      'a',
      '--org',
      'O',
      '--generate-key',
      join(tmp.dir, 'k'),
      '--out',
      join(tmp.dir, 'o.pem'),
    ];
    const missing = expectError(await cli(join(tmp.dir, 'missing'))(...args), 'issue', 'ACA_ERR_STORE_UNAVAILABLE');
    expect(missing).toMatch(/agent-ca init/);
    expect(existsSync(join(tmp.dir, 'missing'))).toBe(false);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    expectError(await cli(empty)(...args), 'issue', 'ACA_ERR_CA_NOT_INITIALISED');
  });
});
