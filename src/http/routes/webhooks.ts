/**
 * Webhook endpoints over HTTP, all behind the admin bearer token. Mount with
 * `app.register(webhookRoutes, { webhooks, tokens })` so the guard stays inside this plugin.
 *   POST   /api/v1/webhooks                      { url, events? } -> 201 { id, url, events, createdAt, secret }
 *   GET    /api/v1/webhooks                      -> { webhooks: [...] } (never a secret)
 *   DELETE /api/v1/webhooks/:id                  -> 204
 *   POST   /api/v1/webhooks/:id/rotate-secret    { graceSeconds? } -> { ..., secret, previousSecretExpiresAt }
 *   GET    /api/v1/webhooks/deliveries           -> { pending: [...], dead: [...] }
 *   POST   /api/v1/webhooks/deliveries/:id/redeliver -> 202 (a dead letter back into the queue)
 * The secret appears only in the POST answers: it cannot be read back later.
 * Tenancy (docs/tenancy.md): admin and operator tokens only; an operator's endpoint belongs to
 * its tenant and receives only that tenant's events; another tenant's endpoint reads as absent.
 */
import type { FastifyInstance } from 'fastify';
import { AgentCaError } from '../../errors.js';
import type { DeliveryRecord } from '../../webhooks/outbox.js';
import type { WebhookService } from '../../webhooks/service.js';
import { principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { canSee, requireRole, type Principal } from '../../tenancy/roles.js';

function jsonObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new AgentCaError('INPUT_INVALID', 'body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A delivery as the admin sees it: the body stays (it holds no secret), parsed for readability. */
function deliveryJson(d: DeliveryRecord): Record<string, unknown> {
  const { payload, ...rest } = d;
  let event: unknown = payload;
  try {
    event = JSON.parse(payload);
  } catch {
    // stored bodies are our own JSON; keep the raw string if not
  }
  return { ...rest, event };
}

const notFound = (id: string): AgentCaError => new AgentCaError('HTTP_NOT_FOUND', `no webhook endpoint ${id}`, { id });

export async function webhookRoutes(
  app: FastifyInstance,
  opts: { webhooks: WebhookService; tokens: AdminTokens },
): Promise<void> {
  const w = opts.webhooks;
  app.addHook('preHandler', opts.tokens.guard);
  app.addHook('preHandler', async (request) =>
    requireRole(principalOf(request), ['admin', 'operator'], 'manage webhooks'),
  );
  const visibleIds = async (p: Principal): Promise<Set<string>> =>
    new Set((await w.list()).filter((e) => canSee(p, e)).map((e) => e.id));
  const requireVisible = async (p: Principal, id: string): Promise<void> => {
    if (!(await visibleIds(p)).has(id)) throw notFound(id);
  };

  app.post('/api/v1/webhooks', async (request, reply) => {
    const b = jsonObject(request.body);
    const p = principalOf(request);
    const created = await w.register({
      url: b.url,
      ...(b.events !== undefined ? { events: b.events } : {}),
      ...(p.tenant !== undefined ? { tenant: p.tenant } : {}),
    });
    return reply.code(201).send(created);
  });

  app.get('/api/v1/webhooks', async (request) => ({
    webhooks: (await w.list()).filter((e) => canSee(principalOf(request), e)),
  }));

  app.delete<{ Params: { id: string } }>('/api/v1/webhooks/:id', async (request, reply) => {
    await requireVisible(principalOf(request), request.params.id);
    if (!(await w.delete(request.params.id))) throw notFound(request.params.id);
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/api/v1/webhooks/:id/rotate-secret', async (request) => {
    const b = jsonObject(request.body);
    if (b.graceSeconds !== undefined && typeof b.graceSeconds !== 'number') {
      throw new AgentCaError('INPUT_INVALID', 'graceSeconds must be a number', {
        fields: { graceSeconds: 'must be a number' },
      });
    }
    await requireVisible(principalOf(request), request.params.id);
    const rotated = await w.rotateSecret(
      request.params.id,
      b.graceSeconds !== undefined ? { graceSeconds: b.graceSeconds } : {},
    );
    if (!rotated) throw notFound(request.params.id);
    return rotated;
  });

  app.get('/api/v1/webhooks/deliveries', async (request) => {
    const ids = await visibleIds(principalOf(request));
    const { pending, dead } = await w.deliveries();
    return {
      pending: pending.filter((d) => ids.has(d.endpointId)).map(deliveryJson),
      dead: dead.filter((d) => ids.has(d.endpointId)).map(deliveryJson),
    };
  });

  app.post<{ Params: { id: string } }>('/api/v1/webhooks/deliveries/:id/redeliver', async (request, reply) => {
    const ids = await visibleIds(principalOf(request));
    const dead = (await w.deliveries()).dead.find((d) => d.id === request.params.id);
    const r = dead && ids.has(dead.endpointId) ? await w.redeliver(request.params.id) : undefined;
    if (!r)
      throw new AgentCaError('HTTP_NOT_FOUND', `no dead-lettered delivery ${request.params.id}`, {
        id: request.params.id,
      });
    return reply.code(202).send(deliveryJson(r));
  });
}
