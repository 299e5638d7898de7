/**
 * Real gateways for the gateway-kit tests: a CA server with short agent OCSP validity, agents
 * with their private keys, an upstream that echoes the headers it got, nginx and Apache run as
 * non-daemon processes from configs in a temp dir, on 127.0.0.1 ephemeral ports, and curl as
 * the mTLS client. Every process started here is stopped by its `stop()`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { gatewayConfig, type RevocationMode } from '../../src/gateway/snippets.js';
import { startTestCa, type TestCa } from './ca-server.js';
import { openssl } from './openssl.js';

export const NGINX = '/usr/sbin/nginx';
export const APACHE = '/usr/sbin/apache2';

/** Whether to run: CI=true must run (and fail if the binary is missing); locally skip with a reason. */
export function gatewayAvailable(binary: string): { run: boolean; why: string } {
  if (process.env.CI === 'true') return { run: true, why: '' };
  const have = existsSync(binary) && existsSync('/usr/bin/curl');
  return {
    run: have,
    why: have ? '' : `${binary} or curl is not installed (Debian nginx / apache2 / curl; .ci/run installs them)`,
  };
}

export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`gateway not listening on ${port} within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface GatewayCa extends TestCa {
  /** Intermediate + root PEM: what the gateway trusts for client certificates. */
  chainFile: string;
  /** A self-signed server certificate for the gateway's TLS side. */
  serverCert: string;
  serverKey: string;
}

/** A CA whose `agent` profile answers OCSP with `ocspValiditySeconds` (short, so a gateway cache turns over quickly in a test). */
export async function startGatewayCa(ocspValiditySeconds: number): Promise<GatewayCa> {
  const agent = JSON.parse(
    readFileSync(new URL('../../ca-config/profiles/agent.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  const ca = await startTestCa({ profiles: [{ ...agent, ocspValiditySeconds }] });
  const chainFile = join(ca.dir, 'chain.pem');
  writeFileSync(chainFile, readFileSync(ca.intermediatePem, 'utf8') + readFileSync(ca.rootPem, 'utf8'));
  const serverCert = join(ca.dir, 'server.pem');
  const serverKey = join(ca.dir, 'server.key');
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-days',
    '1',
    '-keyout',
    serverKey,
    '-out',
    serverCert,
  ]);
  return Object.assign(ca, { chainFile, serverCert, serverKey });
}

/**
 * The shared setup of a gateway test file: a CA, an echo upstream, and start(mode) for a
 * gateway configured by `agent-ca gateway <kind>` (beforeAll/afterAll registered here).
 */
export function gatewayFixture(kind: 'nginx' | 'apache', ocspValiditySeconds: number) {
  const f = {} as { ca: GatewayCa; upstream: { url: string; stop(): Promise<void> } };
  beforeAll(async () => {
    f.ca = await startGatewayCa(ocspValiditySeconds);
    f.upstream = await startEchoUpstream();
  });
  afterAll(async () => {
    await f.upstream?.stop();
    await f.ca?.close();
  });
  return {
    get ca() {
      return f.ca;
    },
    crlFile: () => join(f.ca.dir, 'agents.crl'),
    async start(mode: RevocationMode): Promise<Gateway> {
      const port = await freePort();
      const config = gatewayConfig(kind, {
        caUrl: f.ca.url,
        mode,
        listen: kind === 'nginx' ? `127.0.0.1:${port}` : port,
        serverCert: f.ca.serverCert,
        serverKey: f.ca.serverKey,
        chainFile: f.ca.chainFile,
        crlFile: join(f.ca.dir, 'agents.crl'),
        upstream: f.upstream.url,
      });
      const dir = join(f.ca.dir, `${kind}-${mode}-${port}`);
      return kind === 'nginx' ? startNginx(dir, port, config) : startApache(dir, port, config);
    },
    /**
     * The CRL path end to end: agent-ca crl sync (every second, --exec reloads the gateway), a
     * gateway in crl mode, a good agent answered 200, then revoked through the admin API: the
     * seconds from the revoke call until `refused`.
     */
    async crlRevocationSeconds(agentId: string, refused: (r: ClientResult) => boolean): Promise<number> {
      const agent = await f.ca.issueAgent(agentId);
      const sync = spawnCrlSync(f.ca.dir, [
        '--url',
        `${f.ca.url}/crl/intermediate.crl`,
        '--root-crl',
        '--ca',
        f.ca.chainFile,
        '--out',
        join(f.ca.dir, 'agents.crl'),
        '--interval',
        '1s',
      ]);
      let gw: Gateway | undefined;
      try {
        await sync.firstWrite;
        gw = await this.start('crl');
        sync.setExec(gw.reloadCommand);
        const ok = await agentRequest(gw.port, agent);
        if (ok.status !== 200) throw new Error(`a good agent got ${ok.status}: ${gw.log()}`);
        const t0 = performance.now();
        const r = await f.ca.admin('POST', `/api/v1/certificates/${agent.serial}/revoke`, { reason: 'superseded' });
        if (r.status !== 200) throw new Error(`revoke answered ${r.status}`);
        return (await secondsUntilRefused(gw.port, agent, t0, refused, 30_000)).seconds;
      } finally {
        await gw?.stop();
        await sync.stop();
      }
    },
  };
}

/** An upstream on 127.0.0.1 that answers 200 with the request headers as JSON. */
export async function startEchoUpstream(): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface ClientResult {
  /** HTTP status, or 0 when the TLS handshake (or connection) failed. */
  status: number;
  body: string;
}

/** One mTLS request with curl (OpenSSL), like an agent would make; bounded in time. */
export function agentRequest(
  port: number,
  agent: { path: string; key: string },
  headers: Record<string, string> = {},
): Promise<ClientResult> {
  const args = [
    '--silent',
    '--insecure',
    '--max-time',
    '5',
    '--cert',
    agent.path,
    '--key',
    agent.key,
    '-w',
    '\n%{http_code}',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    `https://127.0.0.1:${port}/`,
  ];
  return new Promise((resolve) => {
    execFile('/usr/bin/curl', args, { timeout: 10_000 }, (_e, stdout) => {
      const i = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(i + 1)) || 0, body: stdout.slice(0, Math.max(0, i)) });
    });
  });
}

/** Polls until `refused(result)`; returns the seconds since `since` (performance.now() ms). */
export async function secondsUntilRefused(
  port: number,
  agent: { path: string; key: string },
  since: number,
  refused: (r: ClientResult) => boolean,
  timeoutMs = 50_000,
): Promise<{ seconds: number; last: ClientResult }> {
  for (;;) {
    const r = await agentRequest(port, agent);
    if (refused(r)) return { seconds: (performance.now() - since) / 1000, last: r };
    if (performance.now() - since > timeoutMs) throw new Error(`still answered ${r.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

export interface Gateway {
  port: number;
  pid: number;
  /** Re-read the configuration (and the CRL file): SIGHUP to nginx's master, SIGUSR1 (graceful) to Apache's parent. */
  reloadCommand: string;
  log(): string;
  stop(): Promise<void>;
}

async function startProcess(
  binary: string,
  args: string[],
  port: number,
  errorLog: string,
  reloadSignal: string,
): Promise<Gateway> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const log = () => `${output}\n${existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-4000) : ''}`;
  try {
    await waitForPort(port, child, log);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    pid: child.pid!,
    reloadCommand: `kill -${reloadSignal} ${child.pid}`,
    log,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** nginx in the foreground (master + 1 worker) with `serverBlock` (from `agent-ca gateway nginx`) inside http {}. */
export async function startNginx(dir: string, port: number, serverBlock: string): Promise<Gateway> {
  const tmp = join(dir, 'nginx-tmp');
  mkdirSync(tmp, { recursive: true });
  const errorLog = join(dir, 'nginx-error.log');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${tmp}/body;
    proxy_temp_path ${tmp}/proxy;
    fastcgi_temp_path ${tmp}/fastcgi;
    uwsgi_temp_path ${tmp}/uwsgi;
    scgi_temp_path ${tmp}/scgi;
${serverBlock}
}
`,
  );
  return startProcess(NGINX, ['-p', dir, '-e', errorLog, '-c', conf], port, errorLog, 'HUP');
}

/** Apache in the foreground (-DFOREGROUND, event MPM) with `vhost` (from `agent-ca gateway apache`). */
export async function startApache(dir: string, port: number, vhost: string): Promise<Gateway> {
  mkdirSync(dir, { recursive: true });
  const errorLog = join(dir, 'apache-error.log');
  const conf = join(dir, 'apache.conf');
  const mod = (name: string, file: string) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${file}.so`;
  writeFileSync(
    conf,
    `ServerRoot ${dir}
ServerName 127.0.0.1
PidFile ${join(dir, 'apache.pid')}
DefaultRuntimeDir ${dir}
Mutex file:${dir} default
ErrorLog ${errorLog}
LogLevel warn ssl:info
${mod('mpm_event', 'mpm_event')}
${mod('authz_core', 'authz_core')}
${mod('socache_shmcb', 'socache_shmcb')}
${mod('ssl', 'ssl')}
${mod('headers', 'headers')}
${mod('proxy', 'proxy')}
${mod('proxy_http', 'proxy_http')}
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
${vhost}
`,
  );
  return startProcess(APACHE, ['-DFOREGROUND', '-f', conf], port, errorLog, 'USR1');
}

/**
 * `agent-ca crl sync` as its own process (the CLI an operator runs). Its --exec is a script in
 * `dir` that setExec() rewrites, so the gateway's reload can be named once the gateway is up.
 */
export function spawnCrlSync(dir: string, args: string[]) {
  const script = join(dir, 'reload.sh');
  const setExec = (command: string) => writeFileSync(script, `#!/bin/sh\n${command}\n`, { mode: 0o755 });
  setExec('true');
  const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', bin, 'crl', 'sync', ...args, '--exec', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstWrite = (async () => {
    const deadline = Date.now() + 20_000;
    while (!out.includes('wrote')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`crl sync did not write: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    firstWrite,
    setExec,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
