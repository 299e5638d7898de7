/** The standalone server: the plugin, listen(), background jobs, graceful shutdown on SIGINT/SIGTERM. */
import type { FastifyInstance } from 'fastify';
import type { Authority } from '../authority/authority.js';
import { buildApp, startExpiringAnnouncer } from './app.js';
import { OcspService } from '../ocsp/service.js';
import { WebhookService } from '../webhooks/service.js';
import { CrlService, type CrlServiceOptions } from '../crl/service.js';
import { startRiskService, type RiskService } from '../risk/service.js';
import { publishDeltasNow, startChangeSync, startCrlLeader } from './peer-sync.js';
import { join } from 'node:path';
import { ReportJobs } from '../reports/report-jobs.js';

export interface ServeOptions {
  authority: Authority;
  host?: string;
  port?: number;
  adminToken?: string;
  logLevel?: string;
  /** Where AGENT_CA_RISK_CONFIG is read from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** CRL publication (periods, validity, when a change rebuilds the full CRL). */
  crl?: CrlServiceOptions;
  /** Called with the app after its routes are registered and before it listens (hooks). */
  configure?: (app: FastifyInstance) => void | Promise<void>;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  ocsp: OcspService;
  crls: CrlService;
  webhooks: WebhookService;
  risk: RiskService;
  reports: ReportJobs;
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const ocsp = new OcspService(opts.authority);
  await ocsp.start();
  const webhooks = new WebhookService({ authority: opts.authority });
  await webhooks.start();
  // On PostgreSQL, peers elect one CRL publisher; a takeover publishes the deltas at once.
  let crls: CrlService | undefined = undefined;
  const leader = await startCrlLeader(opts.authority, () => crls && publishDeltasNow(crls));
  crls = new CrlService(opts.authority, { ...opts.crl, ...(leader ? { leader } : {}) });
  await crls.start();
  const peers = await startChangeSync(opts.authority, ocsp, crls);
  const risk = await startRiskService(opts.authority, { webhooks, ...(opts.env ? { env: opts.env } : {}) });
  // Reports use the running engine's bands (per tenant), and live beside the store.
  const reports = new ReportJobs(opts.authority, {
    dir: join(opts.authority.dataDir, 'reports'),
    riskConfig: risk.config,
  });
  const app = await buildApp({
    authority: opts.authority,
    ocsp,
    webhooks,
    crls,
    risk,
    reports,
    ...(opts.adminToken ? { adminToken: opts.adminToken } : {}),
    logger: { level: opts.logLevel ?? 'info' },
  });
  await opts.configure?.(app);
  // certificate.expiring, hourly; the first pass waits until the server listens (app.ts).
  const expiringTimer = startExpiringAnnouncer(opts.authority);
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  let closed = false;
  return {
    app,
    url: address,
    ocsp,
    crls,
    webhooks,
    risk,
    reports,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(expiringTimer);
      await app.close();
      await peers?.stop();
      await leader?.stop();
      await reports.settle();
      await risk.stop();
      await ocsp.stop();
      await webhooks.stop();
      await crls.stop();
      await opts.authority.hooks.settle();
    },
  };
}
