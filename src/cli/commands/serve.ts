/** serve: the standalone CA + OCSP + CRL + verify server; `start` (npm start) is init-if-missing + serve. */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Authority } from '../../authority/authority.js';
import { runClusterWorker, startLevelPrimary, startPeerPrimary } from '../../cluster/serve-cluster.js';
import { startServer } from '../../http/server.js';
import { storeKindOf } from '../../store/open-store.js';
import { AgentCaError } from '../../errors.js';
import { Tenancy } from '../../tenancy/tenancy.js';
import { parse, UsageError, type Io } from '../args.js';
import { openAuthority } from '../open.js';
import { writeServerFile } from '../server-file.js';
import { DEFAULT_HOST, listenOptions, parsePort } from './ca-options.js';
import { describeCa } from './init.js';

export const serveUsage =
  'agent-ca serve [--port P] [--host H] [--data DIR] [--workers N (default: number of cores; 1 = one process)]   (first run without an admin token: makes one and prints it once)';

export const serveOptions = { ...listenOptions, data: { type: 'string' }, workers: { type: 'string' } } as const;

/** --workers: a positive integer (default: the number of cores). */
export function parseWorkers(v: string | undefined): number {
  if (v === undefined) return availableParallelism();
  if (!/^[0-9]{1,4}$/.test(v) || Number(v) < 1)
    throw new UsageError(`--workers must be 1..9999, got ${JSON.stringify(v)}`);
  return Number(v);
}

function defaultPort(a: Authority): number {
  const u = new URL(a.config.baseUrl);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** How the banner's next command authenticates: AGENT_CA_ADMIN_TOKEN, a stored admin token, or one made now. */
export type AdminAccess = { kind: 'env' } | { kind: 'stored' } | { kind: 'created'; token: string };

/**
 * Without AGENT_CA_ADMIN_TOKEN and without any active stored admin token, nobody could use the
 * admin API of the server about to start (and the CLI cannot make a token while the server holds
 * a LevelDB store): make one, stored as its SHA-256 like every token, to print once.
 */
export async function ensureAdminAccess(a: Authority, io: Io): Promise<AdminAccess> {
  if (io.env.AGENT_CA_ADMIN_TOKEN) return { kind: 'env' };
  const tenancy = new Tenancy(a);
  const admins = await tenancy.tokens.list((t) => t.role === 'admin');
  if (admins.some((t) => t.state === 'active')) return { kind: 'stored' };
  const made = await tenancy.tokens.create({ name: 'first-admin', role: 'admin' }, 'cli', tenancy.checkTokenSubject);
  return { kind: 'created', token: made.token };
}

/** The listening line, the CA, the URLs to try and (once) a newly made admin token. */
export function printBanner(a: Authority, base: string, io: Io, access: AdminAccess): void {
  const d = a.dataDir;
  io.out(`agent-ca listening on ${base}`);
  for (const l of describeCa(a)) io.out(l);
  io.out('');
  io.out(`  OCSP          POST/GET ${base}/ocsp`);
  io.out(`  CRLs          ${base}/crl/intermediate.crl  ${base}/crl/intermediate-delta.crl  ${base}/crl/root.crl`);
  io.out(`  verify        ${base}/api/v1/verify/<serial>`);
  io.out(`  CA certs      ${base}/ca/root.pem  ${base}/ca/intermediate.pem`);
  io.out(`  health        ${base}/healthz  ${base}/readyz  ${base}/metrics`);
  if (base !== a.config.baseUrl)
    io.out(
      `  note: certificates name ${a.config.baseUrl} (set with --base-url when the CA is made: init or the first start)`,
    );
  io.out('');
  io.out('try (in another shell):');
  const issue = `npx agent-ca issue --server ${base} --agent-id trading-bot-v2 --scope read:accounts --generate-key bot.key --out bot.pem`;
  if (access.kind === 'created') {
    io.out(`  AGENT_CA_TOKEN=${access.token} ${issue}`);
  } else if (access.kind === 'env') {
    io.out(`  AGENT_CA_TOKEN=$AGENT_CA_ADMIN_TOKEN ${issue}`);
  } else {
    io.out(`  AGENT_CA_TOKEN=<your admin token> ${issue}`);
    io.out(
      `  (lost it? \`AGENT_CA_TOKEN=<admin token> npx agent-ca token create --name ops --server ${base}\`, or restart with AGENT_CA_ADMIN_TOKEN=<secret>)`,
    );
  }
  io.out(`  openssl ocsp -issuer ${d}/ca/intermediate.pem -cert bot.pem -url ${base}/ocsp -CAfile ${d}/ca/root.pem`);
  io.out(`  curl -s ${base}/api/v1/verify/${a.ca('intermediate').certificate.serial}`);
  io.out(
    `  openssl ocsp -issuer ${d}/ca/root.pem -cert ${d}/ca/intermediate.pem -url ${base}/ocsp -CAfile ${d}/ca/root.pem`,
  );
  io.out(`  curl -s ${base}/crl/intermediate.crl | openssl crl -inform DER -noout -text`);
  if (access.kind === 'created') {
    io.out('');
    io.out(`admin token: ${access.token}`);
    io.out('  (shown once: only its SHA-256 is stored; the CLI takes it as AGENT_CA_TOKEN with --server)');
  }
}

function listenError(host: string, port: number) {
  return (e: unknown): never => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new AgentCaError(
        'INPUT_INVALID',
        `cannot listen on ${host}:${port} (${code}): choose another --port or --host`,
        {
          host,
          port,
        },
      );
    throw e;
  };
}

/** Runs until SIGINT/SIGTERM (or `until` resolves), then shuts down gracefully. */
export async function serveAuthority(
  a: Authority,
  v: { port?: string | undefined; host?: string | undefined },
  io: Io,
  until?: Promise<void>,
): Promise<number> {
  const port = parsePort(v.port) ?? defaultPort(a); // 0 = any free port
  const host = v.host ?? DEFAULT_HOST;
  const access = await ensureAdminAccess(a, io);
  const server = await startServer({
    authority: a,
    host,
    port,
    ...(io.env.AGENT_CA_ADMIN_TOKEN ? { adminToken: io.env.AGENT_CA_ADMIN_TOKEN } : {}),
    logLevel: io.env.AGENT_CA_LOG_LEVEL ?? 'warn',
  }).catch(listenError(host, port));
  const base = server.url;
  const removeServerFile = a.store.kind === 'level' ? writeServerFile(a.dataDir, base) : () => {};
  printBanner(a, base, io, access);
  const stop =
    until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  try {
    await stop;
    io.out('shutting down');
  } finally {
    await server.close();
    removeServerFile();
  }
  return 0;
}

export async function serveCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, serveOptions);
  const logLevel = io.env.AGENT_CA_LOG_LEVEL ?? 'warn';
  const adminToken = io.env.AGENT_CA_ADMIN_TOKEN;
  if (cluster.isWorker && io.env.AGENT_CA_CLUSTER_ROLE) {
    await runClusterWorker(io.env, () => openAuthority(io, v.data), {
      ...(adminToken ? { adminToken } : {}),
      logLevel,
    });
    return 0;
  }
  const workers = parseWorkers(v.workers);
  const a = await openAuthority(io, v.data);
  try {
    a.ca('root');
    if (workers <= 1) return await serveAuthority(a, v, io);
    return await serveCluster(a, v, workers, io);
  } finally {
    await a.close();
  }
}

/** `serve --workers N`, N > 1: node:cluster workers on one port (src/cluster/serve-cluster.ts). */
async function serveCluster(
  a: Authority,
  v: { port?: string | undefined; host?: string | undefined },
  workers: number,
  io: Io,
): Promise<number> {
  const port = parsePort(v.port) ?? defaultPort(a);
  const host = v.host ?? DEFAULT_HOST;
  const adminToken = io.env.AGENT_CA_ADMIN_TOKEN;
  const logLevel = io.env.AGENT_CA_LOG_LEVEL ?? 'warn';
  const access = await ensureAdminAccess(a, io);
  const onPostgres = storeKindOf(io.env.AGENT_CA_STORE) === 'postgres';
  const running = await (
    onPostgres
      ? startPeerPrimary({ workers, host, port, io })
      : startLevelPrimary({
          authority: a,
          workers,
          host,
          port,
          ...(adminToken ? { adminToken } : {}),
          logLevel,
          io,
        })
  ).catch(listenError(host, port));
  const removeServerFile = a.store.kind === 'level' ? writeServerFile(a.dataDir, running.url) : () => {};
  printBanner(a, running.url, io, access);
  io.out(
    `  workers       ${workers} (${onPostgres ? 'PostgreSQL peers' : 'caching workers; this process owns the store and signers'})`,
  );
  try {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    io.out('shutting down');
  } finally {
    await running.close();
    removeServerFile();
  }
  return 0;
}
