/** Liveness (/healthz: the process answers) and readiness (/readyz: the CA is loaded and the store answers). */
import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../authority/authority.js';
import type { CaMetrics } from '../plugins/metrics.js';

export async function healthRoutes(app: FastifyInstance, opts: { authority: Authority; metrics: CaMetrics }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      if (!opts.authority.initialised) throw new Error('CA not initialised');
      await opts.authority.store.meta.get('ca-state');
      return { status: 'ready' };
    } catch (e) {
      return reply.code(503).type('application/problem+json').send(JSON.stringify({ type: 'urn:agent-ca:error:ACA_ERR_STORE_UNAVAILABLE', title: 'not ready', status: 503, detail: (e as Error).message, code: 'ACA_ERR_STORE_UNAVAILABLE' }));
    }
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
