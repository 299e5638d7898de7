/**
 * The embeddable fastify plugin: everything agent-ca serves over HTTP. A service mounts it
 * with `app.register(agentCaPlugin, { authority })`; `server.ts` is this plus listen().
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Authority } from '../authority/authority.js';
import { AdminTokens } from './plugins/admin-auth.js';
import { CaMetrics } from './plugins/metrics.js';
import { errorHandler, notFound, sendProblem } from './problem.js';
import { AgentCaError } from '../errors.js';
import { assertJsonDepth } from './json-depth.js';
import { clientErrorHandler } from './client-errors.js';
import { adminRoutes } from './routes/admin.js';
import { caCertificateRoutes } from './routes/ca-certificates.js';
import { healthRoutes } from './routes/health.js';
import { verifyRoutes } from './routes/verify.js';
import { ocspRoutes, sendMalformedRequest } from './routes/ocsp.js';
import { OcspService } from '../ocsp/service.js';
import { WebhookService } from '../webhooks/service.js';
import { webhookRoutes } from './routes/webhooks.js';
import { crlRoutes } from './routes/crl.js';
import { CrlService, type CrlServiceOptions } from '../crl/service.js';
import { startRiskService, type RiskService } from '../risk/service.js';
import { riskRoutes } from './routes/risk.js';
import { revocationStreamRoutes } from './routes/revocation-stream.js';
import { Tenancy } from '../tenancy/tenancy.js';
import { tenancyRoutes } from './routes/tenancy.js';
import { agentRoutes } from './routes/agents.js';
import { ReportJobs } from '../reports/report-jobs.js';
import { join } from 'node:path';
import { errorMessage, stderrLogger } from '../logger.js';
import { useContract } from './schemas/validation.js';
import { registerOpenApi } from './openapi.js';
import { reportRoutes } from './routes/reports.js';
import { cliRemoteRoutes } from './routes/cli-remote.js';
import { reviewRoutes } from './routes/review.js';
import { consoleRoutes } from './routes/console.js';

export interface AgentCaPluginOptions {
  authority: Authority;
  metrics?: CaMetrics;
  /** Also accepted as an admin token (AGENT_CA_ADMIN_TOKEN); stored tokens come from `agent-ca token create`. */
  adminToken?: string;
  /**
   * The OCSP responder (src/ocsp/service.ts), /ocsp. Give a service you start and stop
   * yourself, omit it for one the plugin starts on onReady and stops on onClose, or `false`
   * for no /ocsp route (the certificates' AIA still names it: serve it elsewhere).
   */
  ocsp?: OcspService | false;
  /** OCSP GET Cache-Control max-age bound (default 60 s, the revocation promise). */
  ocspMaxAgeSeconds?: number;
  /** Revocation webhooks (src/webhooks/service.ts), /api/v1/webhooks: yours, omitted (the plugin's), or `false`. */
  webhooks?: WebhookService | false;
  /**
   * CRL publishing (src/crl/service.ts), /crl/*: yours, omitted (the plugin's, with these
   * options when an object without `latest`), or `false` (the certificates' CRL DPs then
   * need another server).
   */
  crls?: CrlService | CrlServiceOptions | false;
  /** The risk engine (src/risk/service.ts), /api/v1/events and /api/v1/notifications: yours, omitted (the plugin's), or `false`. */
  risk?: RiskService | false;
  /** Tenants, tokens, agent registry (src/tenancy/); default: one over `authority` and `risk`, started here. */
  tenancy?: Tenancy;
  /** Compliance reports (src/reports/report-jobs.ts), /api/v1/reports/...: yours, omitted (the plugin's, under dataDir/reports), or `false`. */
  reports?: ReportJobs | false;
  /** GET /openapi.json, the OpenAPI 3.1 document (default true; false when your app registers @fastify/swagger itself). */
  openapi?: boolean;
  /** GET /docs, Swagger UI over /openapi.json, assets served locally (default true; needs `openapi`). */
  docs?: boolean;
  /** Announce certificate.expiring hourly for certificates ending within 7 days (default: only with the plugin's own services). */
  announceExpiring?: boolean;
}

/** The services the plugin runs over its lifetime, whichever it started itself. */
export interface AgentCaServices {
  ocsp?: OcspService;
  crls?: CrlService;
  webhooks?: WebhookService;
  risk?: RiskService;
  reports?: ReportJobs;
  tenancy: Tenancy;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What agentCaPlugin mounted (the services behind its routes). */
    agentCa?: AgentCaServices;
  }
}

/** Limits on what a client may send: JSON bodies stay small; OCSP has its own cap. */
export const JSON_BODY_LIMIT = 64 * 1024;

const isCrlService = (v: unknown): v is CrlService =>
  typeof v === 'object' && v !== null && typeof (v as CrlService).latest === 'function';

/**
 * Mounts every route the certificates and docs/http-api.md name, and runs the services behind
 * them with the fastify lifecycle: what the plugin creates it starts on onReady and stops on
 * onClose, in that order (OCSP first, so the first CRL and the first OCSP answer are signed
 * before `listen` returns); what the caller passes in stays the caller's to start and stop.
 */
export async function agentCaPlugin(app: FastifyInstance, opts: AgentCaPluginOptions): Promise<void> {
  const a = opts.authority;
  const metrics = opts.metrics ?? new CaMetrics(false);
  const offSigned = opts.authority.addSignObserver((key, seconds) =>
    metrics.signingSeconds.observe({ kind: key }, seconds),
  );
  app.addHook('onClose', async () => void offSigned());
  const owned: Array<{ start?: () => Promise<void>; stop: () => Promise<void> }> = [];
  const ocsp = opts.ocsp === false ? undefined : (opts.ocsp ?? new OcspService(a));
  if (ocsp && opts.ocsp === undefined) owned.push({ start: () => ocsp.start(), stop: () => ocsp.stop() });
  const webhooks = opts.webhooks === false ? undefined : (opts.webhooks ?? new WebhookService({ authority: a }));
  if (webhooks && opts.webhooks === undefined)
    owned.push({ start: () => webhooks.start(), stop: () => webhooks.stop() });
  const crls =
    opts.crls === false ? undefined : isCrlService(opts.crls) ? opts.crls : new CrlService(a, opts.crls ?? {});
  if (crls && !isCrlService(opts.crls) && opts.crls !== false)
    owned.push({ start: () => crls.start(), stop: () => crls.stop() });
  let risk: RiskService | undefined;
  if (opts.risk !== false) {
    // The engine starts when created (it restores its state first); stopped on onClose.
    risk = opts.risk ?? (await startRiskService(a, webhooks ? { webhooks } : {}));
    const r = risk;
    if (opts.risk === undefined) owned.push({ stop: () => r.stop() });
  }
  let reports: ReportJobs | undefined;
  if (opts.reports !== false) {
    const riskConfig = risk?.config;
    reports =
      opts.reports ?? new ReportJobs(a, { dir: join(a.dataDir, 'reports'), ...(riskConfig ? { riskConfig } : {}) });
    const r = reports;
    if (opts.reports === undefined) owned.push({ stop: () => r.settle() });
  }
  let tenancy = opts.tenancy;
  if (!tenancy) {
    tenancy = new Tenancy(opts.authority, {
      ...(opts.adminToken ? { envToken: opts.adminToken } : {}),
      ...(risk ? { risk: risk.engine } : {}),
    });
    await tenancy.start();
  }
  const announce = opts.announceExpiring ?? owned.length > 0;
  let expiringTimer: NodeJS.Timeout | undefined;
  app.decorate('agentCa', {
    ...(ocsp ? { ocsp } : {}),
    ...(crls ? { crls } : {}),
    ...(webhooks ? { webhooks } : {}),
    ...(risk ? { risk } : {}),
    ...(reports ? { reports } : {}),
    tenancy,
  });
  app.addHook('onReady', async () => {
    for (const s of owned) await s.start?.();
    if (announce) expiringTimer = startExpiringAnnouncer(a);
  });
  app.addHook('onClose', async () => {
    if (expiringTimer) clearInterval(expiringTimer);
    for (const s of [...owned].reverse()) await s.stop();
    if (owned.length > 0) await a.hooks.settle();
  });

  const tokens = new AdminTokens(opts.authority.store, undefined, { tokens: tenancy.tokens });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFound);
  useContract(app);
  if (opts.openapi !== false) await registerOpenApi(app, { docs: opts.docs !== false });
  // Callback-style hooks: an async hook costs every request (an OCSP GET too) a promise and a tick.
  app.addHook('preValidation', (request, _reply, done) => {
    try {
      assertJsonDepth(request.body);
    } catch (e) {
      return done(e as Error);
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
    done();
  });
  if (crls) metrics.watchCrls(crls);
  await app.register(healthRoutes, { authority: opts.authority, metrics, ...(crls ? { crls } : {}) });
  await app.register(caCertificateRoutes, { authority: opts.authority });
  await app.register(verifyRoutes, {
    authority: opts.authority,
    ...(opts.ocspMaxAgeSeconds !== undefined ? { maxAgeSeconds: opts.ocspMaxAgeSeconds } : {}),
  });
  await app.register(adminRoutes, { authority: opts.authority, tokens, metrics, tenancy });
  await app.register(cliRemoteRoutes, { authority: opts.authority, tokens });
  await app.register(tenancyRoutes, { tenancy, tokens });
  await app.register(agentRoutes, { tenancy, tokens });
  await app.register(revocationStreamRoutes, { authority: opts.authority, guard: tokens.guard });
  if (webhooks) await app.register(webhookRoutes, { webhooks, tokens });
  if (crls) await app.register(crlRoutes, { crls, clock: opts.authority.clock });
  if (risk) await app.register(riskRoutes, { risk, tokens, tenancy });
  if (reports) await app.register(reportRoutes, { host: opts.authority, reports, tokens });
  if (risk) await app.register(reviewRoutes, { authority: opts.authority, risk, tokens });
  await app.register(consoleRoutes);
  if (ocsp)
    await app.register(ocspRoutes, {
      ocsp,
      metrics,
      clock: opts.authority.clock,
      ...(opts.ocspMaxAgeSeconds !== undefined ? { maxAgeSeconds: opts.ocspMaxAgeSeconds } : {}),
    });
}

/**
 * certificate.expiring: checked at start and hourly for good agent certificates ending within
 * 7 days; each serial is announced once per process (embedders subscribe with
 * authority.hooks.on). A failed pass is logged and retried at the next hour.
 */
export function startExpiringAnnouncer(authority: Authority): NodeJS.Timeout {
  const announced = new Set<string>();
  const announce = async () => {
    const soon = await authority.announceExpiring(7 * 86_400_000, (serial) => !announced.has(serial));
    for (const r of soon) announced.add(r.serial);
  };
  const logged = () =>
    announce().catch((e: unknown) =>
      stderrLogger.error('announcing expiring certificates failed', { error: errorMessage(e) }),
    );
  // The first pass runs on the next turn, once the caller listens: over a large store it reads
  // every certificate expiring this week, which must not hold back OCSP and CRLs.
  setImmediate(() => void logged());
  const timer = setInterval(() => void logged(), 3_600_000);
  timer.unref();
  return timer;
}

export interface BuildAppOptions extends AgentCaPluginOptions {
  logger?: FastifyServerOptions['logger'];
}

/** A standalone fastify instance with the plugin mounted at the root. */
export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request logs are at info level and would cost more than an OCSP answer: the
    // standalone server logs at warn by default (AGENT_CA_LOG_LEVEL=info to see them).
    logger: opts.logger ?? false,
    bodyLimit: JSON_BODY_LIMIT,
    return503OnClosing: true,
    // Parser-level errors (e.g. a GET URL over 16 KiB) answered as OCSP DER on /ocsp.
    clientErrorHandler,
    // A URL fastify cannot even decode (bad percent-encoding) never reaches a route: answer it
    // in the route's own language (OCSP DER on /ocsp, problem+json elsewhere).
    frameworkErrors: (error, request, reply) => {
      const r = reply as unknown as FastifyReply;
      if (request.url.startsWith('/ocsp')) return void sendMalformedRequest(r);
      return void sendProblem(r, new AgentCaError('INPUT_INVALID', error.message));
    },
  });
  await agentCaPlugin(app, { ...opts, metrics: opts.metrics ?? new CaMetrics(true) });
  return app;
}
