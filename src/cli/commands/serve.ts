/** serve: the standalone CA + OCSP + CRL + verify server; `start` (npm start) is init-if-missing + serve. */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Authority } from '../../authority/authority.js';
import { runClusterWorker, startLevelPrimary, startPeerPrimary } from '../../cluster/serve-cluster.js';
import { startServer } from '../../http/server.js';
import { storeKindOf } from '../../store/open-store.js';
import { parse, UsageError, type Io } from '../args.js';
import { openAuthority } from '../open.js';
import { describeCa } from './init.js';

export const serveUsage =
  'agent-ca serve [--port P] [--host H] [--data DIR] [--workers N (default: number of cores; 1 = one process)]   (admin token: agent-ca token create, or AGENT_CA_ADMIN_TOKEN)';

export const serveOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  workers: { type: 'string' },
} as const;

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

/** The listening line, the CA and the URLs to try. */
export function printBanner(a: Authority, base: string, io: Io): void {
  const d = a.dataDir;
  io.out(`agent-ca listening on ${base}`);
  for (const l of describeCa(a)) io.out(l);
  io.out('');
  io.out(`  OCSP          POST/GET ${base}/ocsp`);
  io.out(`  CRLs          ${base}/crl/intermediate.crl  ${base}/crl/intermediate-delta.crl  ${base}/crl/root.crl`);
  io.out(`  verify        ${base}/api/v1/verify/<serial>`);
  io.out(`  CA certs      ${base}/ca/root.pem  ${base}/ca/intermediate.pem`);
  io.out(`  health        ${base}/healthz  ${base}/readyz  ${base}/metrics`);
  if (base !== a.config.baseUrl) io.out(`  note: certificates name ${a.config.baseUrl} (set with init --base-url)`);
  io.out('');
  io.out('try (in another shell):');
  if (io.env.AGENT_CA_ADMIN_TOKEN) {
    io.out(
      `  AGENT_CA_TOKEN=$AGENT_CA_ADMIN_TOKEN npx agent-ca issue --server ${base} --agent-id trading-bot-v2 --scope read:accounts --generate-key bot.key --out bot.pem`,
    );
    io.out(`  openssl ocsp -issuer ${d}/ca/intermediate.pem -cert bot.pem -url ${base}/ocsp -CAfile ${d}/ca/root.pem`);
  } else {
    io.out(
      `  (to issue while serving: restart with AGENT_CA_ADMIN_TOKEN=<secret>, then npx agent-ca issue --server ${base} with AGENT_CA_TOKEN=<secret>)`,
    );
  }
  io.out(`  curl -s ${base}/api/v1/verify/${a.ca('intermediate').certificate.serial}`);
  io.out(
    `  openssl ocsp -issuer ${d}/ca/root.pem -cert ${d}/ca/intermediate.pem -url ${base}/ocsp -CAfile ${d}/ca/root.pem`,
  );
  io.out(`  curl -s ${base}/crl/intermediate.crl | openssl crl -inform DER -noout -text`);
}

/** Runs until SIGINT/SIGTERM (or `until` resolves), then shuts down gracefully. */
export async function serveAuthority(
  a: Authority,
  v: { port?: string | undefined; host?: string | undefined },
  io: Io,
  until?: Promise<void>,
): Promise<number> {
  if (v.port !== undefined && !/^[0-9]{1,5}$/.test(v.port))
    throw new UsageError(`--port must be 0..65535, got ${JSON.stringify(v.port)}`);
  const port = v.port !== undefined ? Number(v.port) : defaultPort(a); // 0 = any free port
  const host = v.host ?? '127.0.0.1';
  const server = await startServer({
    authority: a,
    host,
    port,
    ...(io.env.AGENT_CA_ADMIN_TOKEN ? { adminToken: io.env.AGENT_CA_ADMIN_TOKEN } : {}),
    logLevel: io.env.AGENT_CA_LOG_LEVEL ?? 'warn',
  });
  printBanner(a, server.url, io);
  const stop =
    until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  await stop;
  io.out('shutting down');
  await server.close();
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
  if (v.port !== undefined && !/^[0-9]{1,5}$/.test(v.port))
    throw new UsageError(`--port must be 0..65535, got ${JSON.stringify(v.port)}`);
  const port = v.port !== undefined ? Number(v.port) : defaultPort(a);
  const host = v.host ?? '127.0.0.1';
  const adminToken = io.env.AGENT_CA_ADMIN_TOKEN;
  const logLevel = io.env.AGENT_CA_LOG_LEVEL ?? 'warn';
  const running =
    storeKindOf(io.env.AGENT_CA_STORE) === 'postgres'
      ? await startPeerPrimary({ workers, host, port, io })
      : await startLevelPrimary({
          authority: a,
          workers,
          host,
          port,
          ...(adminToken ? { adminToken } : {}),
          logLevel,
          io,
        });
  printBanner(a, running.url, io);
  io.out(
    `  workers       ${workers} (${storeKindOf(io.env.AGENT_CA_STORE) === 'postgres' ? 'PostgreSQL peers' : 'caching workers; this process owns the store and signers'})`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.out('shutting down');
  await running.close();
  return 0;
}
