/**
 * `agent-ca serve --workers N` (N > 1): one port, N node:cluster workers
 * (docs/storage-postgres.md "serve --workers").
 *
 * - LevelDB (`level` roles): the primary process owns the data directory and the signers and
 *   runs the full server on a private loopback port; the workers answer the read paths from
 *   caches (cache-worker.ts) and forward everything else to it. Every commit that changes a
 *   cached answer waits for every worker's acknowledgement of the invalidation before it
 *   returns, so a revocation the API acknowledged is already answered `revoked` by every
 *   worker.
 * - PostgreSQL (`peer` role): every worker is a full peer (its own pool, OCSP service, LISTEN
 *   connection; one CRL leader among them); the primary only supervises. Risk events and
 *   notifications are partitioned to worker 0 (the risk engine's windows live in one process):
 *   the other workers forward them to its private loopback listener.
 *
 * A worker that dies is restarted by the primary; its cache or windows start from the store.
 */
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '../authority/authority.js';
import { startServer } from '../http/server.js';
import type { Store, WriteOp, CommitOptions, CommitResult } from '../store/ports.js';
import { startCacheWorker } from './cache-worker.js';
import { forward, sendUnavailable, upstream, type Upstream } from './forward.js';
import { invalidationFor, isClusterMessage, type ListeningMessage } from './protocol.js';
import { WorkerSupervisor } from './supervisor.js';

export type ClusterRole = 'cache-worker' | 'peer';

/** Environment the primary hands each worker. */
export interface WorkerEnv {
  AGENT_CA_CLUSTER_ROLE: ClusterRole;
  AGENT_CA_CLUSTER_HOST: string;
  AGENT_CA_CLUSTER_PORT: string;
  /** cache-worker: the primary's private URL. */
  AGENT_CA_CLUSTER_UPSTREAM?: string;
}

export interface ClusterIo {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Makes every commit of `store` wait for `after(batch)` before it returns (the invalidation
 * barrier). Returns the function that removes the wrapper.
 */
export function wrapCommit(store: Store, after: (batch: readonly WriteOp[]) => Promise<void>): () => void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back as it was
  const original = store.commit;
  const commit = original.bind(store);
  store.commit = async (batch: readonly WriteOp[], opts?: CommitOptions): Promise<CommitResult> => {
    const result = await commit(batch, opts);
    await after(batch);
    return result;
  };
  return () => {
    store.commit = original;
  };
}

/** The serials of the CA and responder certificates: a status change of one changes every chain. */
export function caSerialsOf(a: Authority): Set<string> {
  const out = new Set<string>();
  for (const name of ['root', 'intermediate'] as const) {
    try {
      const ca = a.ca(name);
      out.add(ca.certificate.serial);
      out.add(ca.responder.certificate.serial);
    } catch {
      // a CA that is not loaded has no answers to invalidate
    }
  }
  return out;
}

export interface LevelPrimaryOptions {
  authority: Authority;
  workers: number;
  host: string;
  port: number;
  adminToken?: string;
  logLevel: string;
  io: ClusterIo;
}

export interface RunningCluster {
  /** The public URL (the workers' shared port). */
  url: string;
  supervisor: WorkerSupervisor;
  close(): Promise<void>;
}

/** LevelDB: the full server on a private port, N caching workers on the public one. */
export async function startLevelPrimary(opts: LevelPrimaryOptions): Promise<RunningCluster> {
  const a = opts.authority;
  const internal = await startServer({
    authority: a,
    host: '127.0.0.1',
    port: 0,
    ...(opts.adminToken ? { adminToken: opts.adminToken } : {}),
    logLevel: opts.logLevel,
  });
  const caSerials = caSerialsOf(a);
  const supervisor = new WorkerSupervisor({
    count: opts.workers,
    env: () => ({
      AGENT_CA_CLUSTER_ROLE: 'cache-worker',
      AGENT_CA_CLUSTER_HOST: opts.host,
      AGENT_CA_CLUSTER_PORT: String(opts.port),
      AGENT_CA_CLUSTER_UPSTREAM: internal.url,
    }),
    log: (l) => opts.io.err(l),
    onListening: (index, m) => opts.io.out(`worker ${index} (pid ${supervisor.pids()[index]}) listening on ${m.url}`),
  });
  const unwrap = wrapCommit(a.store, async (batch) => {
    const inv = invalidationFor(batch, caSerials);
    if (inv) await supervisor.invalidate(inv);
  });
  try {
    const listening = await supervisor.start();
    return {
      url: listening[0]!.url,
      supervisor,
      close: async () => {
        await supervisor.stop();
        unwrap();
        await internal.close();
      },
    };
  } catch (e) {
    await supervisor.stop();
    unwrap();
    await internal.close();
    throw e;
  }
}

/** PostgreSQL: N full peers on the public port; the primary supervises and names the risk owner. */
export async function startPeerPrimary(opts: {
  workers: number;
  host: string;
  port: number;
  io: ClusterIo;
}): Promise<RunningCluster> {
  let riskUrl: string | undefined;
  const supervisor: WorkerSupervisor = new WorkerSupervisor({
    count: opts.workers,
    env: () => ({
      AGENT_CA_CLUSTER_ROLE: 'peer',
      AGENT_CA_CLUSTER_HOST: opts.host,
      AGENT_CA_CLUSTER_PORT: String(opts.port),
    }),
    log: (l) => opts.io.err(l),
    onListening: (index, m) => {
      opts.io.out(`worker ${index} (pid ${supervisor.pids()[index]}) listening on ${m.url}`);
      if (m.riskUrl !== undefined) {
        riskUrl = m.riskUrl;
        supervisor.broadcast({ t: 'risk-owner', url: riskUrl });
      } else if (riskUrl !== undefined) supervisor.send(index, { t: 'risk-owner', url: riskUrl });
    },
  });
  try {
    const listening = await supervisor.start();
    return { url: listening[0]!.url, supervisor, close: () => supervisor.stop() };
  } catch (e) {
    await supervisor.stop();
    throw e;
  }
}

/** Paths served by the risk engine's owner (its windows are in that process's memory). */
export function isRiskPath(url: string): boolean {
  return url === '/api/v1/events' || url.startsWith('/api/v1/events?') || url.startsWith('/api/v1/notifications');
}

function reportListening(msg: ListeningMessage): void {
  process.send?.(msg);
}

/** A cluster worker's life (role from the environment); resolves when it should exit. */
export async function runClusterWorker(
  env: Readonly<Record<string, string | undefined>>,
  openPeer: () => Promise<Authority>,
  opts: { adminToken?: string; logLevel: string },
): Promise<void> {
  const role = env.AGENT_CA_CLUSTER_ROLE as ClusterRole;
  const host = env.AGENT_CA_CLUSTER_HOST ?? '127.0.0.1';
  const port = Number(env.AGENT_CA_CLUSTER_PORT ?? 0);
  const index = Number(env.AGENT_CA_WORKER_INDEX ?? 0);
  const stop = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    // The primary is gone: nothing restarts or invalidates this worker any more.
    process.once('disconnect', resolve);
  });
  if (role === 'cache-worker') {
    const w = await startCacheWorker({ host, port, upstreamUrl: env.AGENT_CA_CLUSTER_UPSTREAM!, workerId: index });
    reportListening({ t: 'listening', url: w.url });
    await stop;
    await w.close();
    return;
  }
  const a = await openPeer();
  try {
    let owner: Upstream | undefined;
    const onMessage = (m: unknown): void => {
      if (isClusterMessage(m) && m.t === 'risk-owner' && index !== 0) owner = upstream(m.url);
    };
    process.on('message', onMessage);
    const configure = (app: FastifyInstance): void => {
      app.addHook('onRequest', async (_request, reply) => {
        reply.header('x-agent-ca-worker', String(index));
      });
      if (index === 0) return;
      app.addHook('onRequest', async (request, reply) => {
        if (!isRiskPath(request.url)) return;
        reply.hijack();
        if (!owner) sendUnavailable(reply.raw, 'the risk engine is starting; retry shortly');
        else forward(owner, request.raw, reply.raw);
        return reply;
      });
    };
    const server = await startServer({
      authority: a,
      host,
      port,
      ...(opts.adminToken ? { adminToken: opts.adminToken } : {}),
      logLevel: opts.logLevel,
      configure,
    });
    let riskServer: http.Server | undefined;
    let riskUrl: string | undefined;
    if (index === 0) {
      // Private loopback listener (exclusive: not shared through the primary) for forwarded risk traffic.
      const rs = http.createServer((req, res) => server.app.routing(req, res));
      riskServer = rs;
      await new Promise<void>((resolve, reject) => {
        rs.once('error', reject);
        rs.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
      });
      const addr = rs.address();
      riskUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    }
    reportListening({ t: 'listening', url: server.url, ...(riskUrl ? { riskUrl } : {}) });
    await stop;
    process.off('message', onMessage);
    if (riskServer) {
      const closed = new Promise<void>((resolve) => riskServer.close(() => resolve()));
      riskServer.closeAllConnections();
      await closed;
    }
    await server.close();
    owner?.agent.destroy();
  } finally {
    await a.close();
  }
}
