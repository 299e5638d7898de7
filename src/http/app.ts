/**
 * The embeddable fastify plugin: everything agent-ca serves over HTTP. A service mounts it
 * with `app.register(agentCaPlugin, { authority })`; `server.ts` is this plus listen().
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Authority } from '../authority/authority.js';
import { AdminTokens } from './plugins/admin-auth.js';
import { CaMetrics } from './plugins/metrics.js';
import { errorHandler, notFound } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { caCertificateRoutes } from './routes/ca-certificates.js';
import { healthRoutes } from './routes/health.js';
import { verifyRoutes } from './routes/verify.js';

export interface AgentCaPluginOptions {
  authority: Authority;
  metrics?: CaMetrics;
  /** Also accepted as an admin token (AGENT_CA_ADMIN_TOKEN); stored tokens come from `agent-ca token create`. */
  adminToken?: string;
}

/** Limits on what a client may send: JSON bodies stay small; OCSP has its own cap. */
export const JSON_BODY_LIMIT = 64 * 1024;

export async function agentCaPlugin(app: FastifyInstance, opts: AgentCaPluginOptions): Promise<void> {
  const metrics = opts.metrics ?? new CaMetrics(false);
  const tokens = new AdminTokens(opts.authority.store, opts.adminToken);
  await tokens.reload();
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFound);
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  await app.register(healthRoutes, { authority: opts.authority, metrics });
  await app.register(caCertificateRoutes, { authority: opts.authority });
  await app.register(verifyRoutes, { authority: opts.authority });
  await app.register(adminRoutes, { authority: opts.authority, tokens, metrics });
}

export interface BuildAppOptions extends AgentCaPluginOptions {
  logger?: FastifyServerOptions['logger'];
}

/** A standalone fastify instance with the plugin mounted at the root. */
export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    // Per-request logs would cost more than an OCSP answer; errors are still logged.
    disableRequestLogging: true,
    bodyLimit: JSON_BODY_LIMIT,
    return503OnClosing: true,
  });
  await agentCaPlugin(app, { ...opts, metrics: opts.metrics ?? new CaMetrics(true) });
  return app;
}
