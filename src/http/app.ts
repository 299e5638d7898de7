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
import type { OcspService } from '../ocsp/service.js';
import type { WebhookService } from '../webhooks/service.js';
import { webhookRoutes } from './routes/webhooks.js';
import { crlRoutes } from './routes/crl.js';
import type { CrlService } from '../crl/service.js';
import type { RiskService } from '../risk/service.js';
import { riskRoutes } from './routes/risk.js';
import { revocationStreamRoutes } from './routes/revocation-stream.js';
import { Tenancy } from '../tenancy/tenancy.js';
import { tenancyRoutes } from './routes/tenancy.js';
import { agentRoutes } from './routes/agents.js';
import type { ReportJobs } from '../reports/report-jobs.js';
import { reportRoutes } from './routes/reports.js';
import { cliRemoteRoutes } from './routes/cli-remote.js';
import { reviewRoutes } from './routes/review.js';
import { consoleRoutes } from './routes/console.js';

export interface AgentCaPluginOptions {
  authority: Authority;
  metrics?: CaMetrics;
  /** Also accepted as an admin token (AGENT_CA_ADMIN_TOKEN); stored tokens come from `agent-ca token create`. */
  adminToken?: string;
  /** The OCSP responder service (src/ocsp/service.ts); started by the caller. */
  ocsp: OcspService;
  /** OCSP GET Cache-Control max-age bound (default 60 s, the revocation promise). */
  ocspMaxAgeSeconds?: number;
  /** Revocation webhooks (src/webhooks/service.ts); started by the caller. */
  webhooks?: WebhookService;
  /** CRL publishing (src/crl/service.ts); started by the caller. */
  crls?: CrlService;
  /** The risk engine (src/risk/service.ts): POST /api/v1/events, GET /api/v1/notifications. */
  risk?: RiskService;
  /** Tenants, tokens, agent registry (src/tenancy/); default: one over `authority` and `risk`, started here. */
  tenancy?: Tenancy;
  /** Compliance reports (src/reports/report-jobs.ts): /api/v1/reports/... */
  reports?: ReportJobs;
}

/** Limits on what a client may send: JSON bodies stay small; OCSP has its own cap. */
export const JSON_BODY_LIMIT = 64 * 1024;

export async function agentCaPlugin(app: FastifyInstance, opts: AgentCaPluginOptions): Promise<void> {
  const metrics = opts.metrics ?? new CaMetrics(false);
  opts.authority.onSigned = (key, seconds) => metrics.signingSeconds.observe({ kind: key }, seconds);
  let tenancy = opts.tenancy;
  if (!tenancy) {
    tenancy = new Tenancy(opts.authority, {
      ...(opts.adminToken ? { envToken: opts.adminToken } : {}),
      ...(opts.risk ? { risk: opts.risk.engine } : {}),
    });
    await tenancy.start();
  }
  const tokens = new AdminTokens(opts.authority.store, undefined, { tokens: tenancy.tokens });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFound);
  app.addHook('preValidation', async (request) => assertJsonDepth(request.body));
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  if (opts.crls) metrics.watchCrls(opts.crls);
  await app.register(healthRoutes, { authority: opts.authority, metrics, ...(opts.crls ? { crls: opts.crls } : {}) });
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
  if (opts.webhooks) await app.register(webhookRoutes, { webhooks: opts.webhooks, tokens });
  if (opts.crls) await app.register(crlRoutes, { crls: opts.crls, clock: opts.authority.clock });
  if (opts.risk) await app.register(riskRoutes, { risk: opts.risk, tokens, tenancy });
  if (opts.reports) await app.register(reportRoutes, { host: opts.authority, reports: opts.reports, tokens });
  if (opts.risk) await app.register(reviewRoutes, { authority: opts.authority, risk: opts.risk, tokens });
  await app.register(consoleRoutes);
  await app.register(ocspRoutes, {
    ocsp: opts.ocsp,
    metrics,
    clock: opts.authority.clock,
    ...(opts.ocspMaxAgeSeconds !== undefined ? { maxAgeSeconds: opts.ocspMaxAgeSeconds } : {}),
  });
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
