/**
 * Liveness (/healthz: the process answers) and readiness (/readyz: the CA is loaded, the store
 * answers and every CRL's latest publication succeeded; a CRL that cannot be built is an alarm).
 */
import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../authority/authority.js';
import type { CaMetrics } from '../plugins/metrics.js';
import type { CrlService } from '../../crl/service.js';
import { sendProblem } from '../problem.js';
import { AgentCaError } from '../../errors.js';
import { schemas } from '../schemas/public.js';
import { useContract } from '../schemas/validation.js';

export async function healthRoutes(
  app: FastifyInstance,
  opts: { authority: Authority; metrics: CaMetrics; crls?: CrlService },
): Promise<void> {
  useContract(app);
  app.get('/healthz', { schema: schemas.healthz }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: schemas.readyz }, async (_request, reply) => {
    try {
      if (!opts.authority.initialised) throw new Error('CA not initialised');
      await opts.authority.store.meta.get('ca-state');
    } catch (e) {
      return sendProblem(reply, new AgentCaError('STORE_UNAVAILABLE', `not ready: ${(e as Error).message}`));
    }
    const problems = opts.crls?.publishProblems() ?? [];
    if (problems.length > 0) {
      const list = problems.map((p) => ({
        issuer: p.issuerId,
        kind: p.kind,
        error: p.error,
        since: p.since.toISOString(),
      }));
      return sendProblem(
        reply,
        new AgentCaError(
          'CRL_PUBLISH_FAILED',
          `CRL publication failing: ${list.map((p) => `${p.kind} CRL of ${p.issuer} (${p.error})`).join('; ')}`,
          { crls: list },
        ),
      );
    }
    return { status: 'ready' };
  });
  app.get('/metrics', { schema: schemas.metrics }, async (_request, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
