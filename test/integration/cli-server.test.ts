/**
 * Setup and the CLI while a server runs (docs/cli-and-package.md): `start` with init's options
 * (URLs follow --port), the first start's admin token printed once and working as printed, every
 * reading or changing command through `--server` (here AGENT_CA_SERVER) while the server holds
 * the LevelDB store, `init` refused with the server named, and the banner of a later start.
 * Certificates are checked with openssl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, tempDir, type TempDir } from '../helpers/openssl.js';
import { runCliCaptured } from '../helpers/run-cli.js';

const ROOT = resolve(__dirname, '../..');
let tmp: TempDir;
let data: string;
let port: number;
let child: ChildProcess | undefined;
let log = '';
let token = '';
let env: Record<string, string>;

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });
}

/** Starts `agent-ca start ARGS` and resolves once `until` appears in its stdout. */
async function start(args: string[], until: RegExp): Promise<void> {
  log = '';
  const { AGENT_CA_ADMIN_TOKEN: _a, AGENT_CA_SERVER: _s, AGENT_CA_TOKEN: _t, ...parentEnv } = process.env;
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'start', ...args], {
    cwd: ROOT,
    env: parentEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c = child;
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`start did not print ${until} in time:\n${log}`)), 120_000);
    const onData = (b: Buffer) => {
      log += b.toString();
      if (until.test(log)) {
        clearTimeout(timer);
        done();
      }
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    c.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`start exited ${code}:\n${log}`));
    });
  });
}

async function stop(): Promise<void> {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null) return;
  await new Promise<void>((done) => {
    c.removeAllListeners('exit');
    c.once('exit', () => done());
    c.kill('SIGTERM');
  });
}

const cli = (...argv: string[]) => runCliCaptured(argv, data, env);

beforeAll(async () => {
  tmp = tempDir('agent-ca-cli-server-');
  data = join(tmp.dir, 'data');
  port = await freePort();
  await start(['--org', 'Server Test Operator', '--port', String(port), '--data', data], /^admin token: \S+/m);
  token = log.match(/^admin token: (\S+)/m)![1]!;
  env = { AGENT_CA_SERVER: `http://127.0.0.1:${port}`, AGENT_CA_TOKEN: token };
}, 180_000);

afterAll(async () => {
  await stop();
  tmp?.cleanup();
});

describe('first start', () => {
  it('makes the CA with start --org, names --port in its URLs, prints the token once, as the banner uses it', () => {
    expect(log).toMatch(/created a new CA .* for http:\/\/127\.0\.0\.1:\d+/);
    expect(log).toContain('O=Server Test Operator, CN=Server Test Operator Root CA');
    expect(log).toContain(`AGENT_CA_TOKEN=${token} npx agent-ca issue --server http://127.0.0.1:${port}`);
    expect(log).not.toMatch(/restart with AGENT_CA_ADMIN_TOKEN/);
    expect(log.split(token).length - 1).toBe(2); // the try line and the admin token line, nowhere stored in clear
    expect(readFileSync(join(data, 'server.json'), 'utf8')).toContain(`"url":"http://127.0.0.1:${port}"`);
  });
});

describe('the CLI while the server holds the data directory', () => {
  let serial = '';
  const pem = () => join(tmp.dir, 'bot.pem');

  it('issue --validity 90m goes through the server; openssl reads the URLs and the OCSP answer', async () => {
    const r = await cli(
      'issue',
      '--agent-id',
      'srv-bot',
      '--scope',
      'write:payments',
      '--validity',
      '90m',
      '--generate-key',
      join(tmp.dir, 'bot.key'),
      '--out',
      pem(),
      '--json',
    );
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out[0]!) as { serial: string; notBefore: string; notAfter: string };
    serial = j.serial;
    expect(Date.parse(j.notAfter) - Date.parse(j.notBefore)).toBe(90 * 60_000 - 1000);
    const text = openssl(['x509', '-in', pem(), '-noout', '-text']).stdout;
    expect(text).toContain(`OCSP - URI:http://127.0.0.1:${port}/ocsp`);
    expect(text).toContain(`URI:http://127.0.0.1:${port}/crl/intermediate.crl`);
    expect((await cli('chain', '--out', join(tmp.dir, 'chain'))).code).toBe(0);
    expect(readFileSync(join(tmp.dir, 'chain', 'root.pem'), 'utf8')).toBe(
      readFileSync(join(data, 'ca', 'root.pem'), 'utf8'),
    );
    const ocsp = openssl([
      'ocsp',
      '-issuer',
      join(tmp.dir, 'chain', 'intermediate.pem'),
      '-cert',
      pem(),
      '-url',
      `http://127.0.0.1:${port}/ocsp`,
      '-CAfile',
      join(tmp.dir, 'chain', 'root.pem'),
    ]);
    expect(ocsp.stdout + ocsp.stderr).toMatch(/: good/);
  }, 120_000);

  it('list, show, renew --validity, audit verify and export, token list answer through the server', async () => {
    const list = await cli('list', '--agent-id', 'srv-bot', '--json');
    expect((JSON.parse(list.out.join('\n')) as { serial: string }[]).map((x) => x.serial)).toEqual([serial]);
    expect(JSON.parse((await cli('show', serial, '--json')).out[0]!)).toMatchObject({ serial, status: 'good' });
    const renewed = await cli('renew', serial, '--validity', '12h', '--out', join(tmp.dir, 'renewed.pem'), '--json');
    expect(renewed.code, renewed.err.join('\n')).toBe(0);
    const end = openssl(['x509', '-in', join(tmp.dir, 'renewed.pem'), '-noout', '-startdate', '-enddate']).stdout;
    const [nb, na] = [...end.matchAll(/=(.+)$/gm)].map((m) => Date.parse(m[1]!));
    expect(na! - nb!).toBe(12 * 3_600_000 - 1000);
    const audit = await cli('audit', 'verify', '--json');
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.out[0]!)).toMatchObject({ ok: true });
    const exported = await cli('audit', 'export', '--agent-id', 'srv-bot');
    expect(exported.out.some((l) => (JSON.parse(l) as { action: string }).action.includes('renew'))).toBe(true);
    const tokens = JSON.parse((await cli('token', 'list', '--json')).out[0]!) as { tokens: { role: string }[] };
    expect(tokens.tokens.map((t) => t.role)).toContain('admin');
  }, 120_000);

  it('sign-action --serial signs here with the certificate from the server; verify-action allows it', async () => {
    const order = join(tmp.dir, 'order.json');
    writeFileSync(order, '{"amount":"100"}');
    const env1 = join(tmp.dir, 'env.json');
    const signed = await cli(
      'sign-action',
      '--serial',
      serial,
      '--key',
      join(tmp.dir, 'bot.key'),
      '--payload',
      order,
      '--action',
      'write:payments',
      '--out',
      env1,
    );
    expect(signed.code, signed.err.join('\n')).toBe(0);
    const v = await cli(
      'verify-action',
      env1,
      '--action',
      'write:payments',
      '--payload',
      order,
      '--ca',
      join(tmp.dir, 'chain', 'root.pem'),
    );
    expect(v.code, v.err.join('\n')).toBe(0);
  }, 120_000);

  it('init refuses and names the running server; without --server the lock error names it too', async () => {
    const init = await runCliCaptured(['init', '--org', 'Other'], data);
    expect(init.code).toBe(1);
    expect(init.err[0]).toMatch(
      new RegExp(`ACA_ERR_STORE_LOCKED: a server \\(pid \\d+, http://127\\.0\\.0\\.1:${port}\\)`),
    );
    const list = await runCliCaptured(['list'], data);
    expect(list.err[0]).toContain(`pass --server http://127.0.0.1:${port}`);
  });
});

describe('a later start', () => {
  it('makes no second token, does not ask for a restart, refuses a different --org', async () => {
    await stop();
    expect(existsSync(join(data, 'server.json'))).toBe(false);
    const other = await runCliCaptured(['start', '--org', 'Someone Else', '--port', String(port)], data);
    expect(other.code).toBe(1);
    expect(other.err[0]).toMatch(/ACA_ERR_CA_ALREADY_INITIALISED: .*--org \(the CA's is "Server Test Operator"\)/);
    await start(['--port', String(port), '--data', data], /^try \(in another shell\):[\s\S]*crl -inform DER/m);
    expect(log).not.toMatch(/^admin token:/m);
    expect(log).toContain('AGENT_CA_TOKEN=<your admin token>');
    expect(log).not.toMatch(/^ {2}\(to issue while serving: restart/m);
  }, 180_000);
});
