/**
 * The agent registry over HTTP (docs/tenancy.md), behind the bearer token:
 *   POST   /api/v1/agents                      register (admin, operator)
 *   GET    /api/v1/agents?tenant=&status=      list (an agent token sees itself)
 *   GET    /api/v1/agents/:id                  registration, certificates, risk
 *   PATCH  /api/v1/agents/:id                  change the defaults of the next certificate
 *   DELETE /api/v1/agents/:id                  decommission: every certificate revoked (cessationOfOperation)
 *   POST   /api/v1/agents/:id/certify          next certificate from the registration
 *   POST   /api/v1/agents/:id/renew            renewal with the drift check (an agent may renew itself)
 *   GET    /api/v1/agents/:id/renewal-info     suggested window, RFC 9773 manner, with Retry-After
 *   GET    /api/v1/agents/:id/risk             score, band, features, contributions now
 *   POST   /api/v1/agents/:id/sign             an action signed with the agent's CA-held key (agent token)
 *   POST   /api/v1/agents/certify              the user's one-call form, snake_case in and out
 *   POST   /v1/agents {"name"}, POST /v1/agents/:id/certify {"validity_days"}, POST /v1/agents/certify
 *                                               the user's own shapes, accepted as written (snake_case)
 * Another tenant's agent (for an agent token: any other agent) answers 404 like a missing one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseAmountText } from '../../actions/claims.js';
import type { ActionAmount } from '../../actions/types.js';
import { AgentCaError } from '../../errors.js';
import { readCertifyInput, type AgentService, type RenewInput } from '../../tenancy/agent-service.js';
import { AGENT_STATUSES, type AgentRecord, type AgentStatus } from '../../tenancy/agent-registry.js';
import { readAgentSpec, refuseFields, requireObject, SPEC_FIELDS } from '../../tenancy/agent-spec.js';
import { canSee, requireRole, tenantFor, type Principal } from '../../tenancy/roles.js';
import type { Tenancy } from '../../tenancy/tenancy.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { oneCallCertify, readOneCallBody } from './agent-one-call.js';
import { useContract, withChecks } from '../schemas/validation.js';
import { schemas } from '../schemas/agents.js';

const WRITERS = ['admin', 'operator'] as const;

async function visibleAgent(s: AgentService, p: Principal, id: string): Promise<AgentRecord> {
  const a = await s.registry.get(id);
  if (!a || !canSee(p, a)) throw new AgentCaError('AGENT_NOT_FOUND', `no agent ${id}`, { agentId: id });
  return a;
}

function certifiedJson(c: Awaited<ReturnType<AgentService['certify']>>) {
  return {
    agentId: c.agent.agentId,
    tenant: c.agent.tenant,
    serial: c.serial,
    certificate: c.pem,
    chain: c.chainPem,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    ...(c.keyUri ? { keyUri: c.keyUri } : {}),
    warnings: c.warnings,
  };
}

function readRenewInput(body: unknown, arc: string): RenewInput {
  const b = requireObject(body);
  const bad: Record<string, string> = {};
  for (const k of Object.keys(b))
    if (!['publicKey', 'csr', 'createKeyIn', 'keyType', 'validityDays', 'validitySeconds', 'observed'].includes(k))
      bad[k] = 'unknown field';
  const input: RenewInput = readCertifyInput(b, bad);
  if (b.observed !== undefined) {
    const o = requireObject(b.observed);
    for (const k of Object.keys(o))
      if (k !== 'modelHash' && k !== 'scope') bad[`observed.${k}`] = 'unknown field (modelHash, scope)';
    const spec = readAgentSpec(
      {
        ...(o.modelHash !== undefined ? { modelHash: o.modelHash } : {}),
        ...(o.scope !== undefined ? { scope: o.scope } : {}),
      },
      arc,
      bad,
    );
    input.observed = {
      ...(spec.modelHash ? { modelHash: spec.modelHash } : {}),
      ...(spec.scope ? { scope: spec.scope } : {}),
    };
  }
  refuseFields(bad);
  return input;
}

/** Body checks that only read (withChecks runs them on a request its schema refused). */
function readCertifyBody(body: unknown) {
  const b = requireObject(body);
  const bad: Record<string, string> = {};
  for (const k of Object.keys(b))
    if (!['publicKey', 'csr', 'createKeyIn', 'keyType', 'validityDays', 'validitySeconds'].includes(k))
      bad[k] = 'unknown field';
  const input = readCertifyInput(b, bad);
  refuseFields(bad);
  return input;
}

function readSignBody(body: unknown): Record<string, unknown> {
  const b = requireObject(body);
  const bad: Record<string, string> = {};
  for (const k of Object.keys(b))
    if (!['payload', 'payloadEncoding', 'action', 'amount', 'market'].includes(k)) bad[k] = 'unknown field';
  if (typeof b.payload !== 'string') bad.payload = 'must be a string (payloadEncoding utf8 or base64)';
  if (b.payloadEncoding !== undefined && b.payloadEncoding !== 'utf8' && b.payloadEncoding !== 'base64')
    bad.payloadEncoding = 'must be utf8 or base64';
  if (typeof b.action !== 'string') bad.action = 'must be a string';
  if (b.market !== undefined && typeof b.market !== 'string') bad.market = 'must be a string';
  refuseFields(bad);
  return b;
}

const REGISTER_FIELDS: readonly string[] = ['agentId', 'tenant', ...SPEC_FIELDS];

/** The registration fields' own checks (AgentService.register and patch run them again). */
function readSpecBody(body: unknown, known: readonly string[], arc: string): void {
  const b = requireObject(body);
  const bad: Record<string, string> = {};
  for (const k of Object.keys(b)) if (!known.includes(k)) bad[k] = 'unknown field';
  readAgentSpec(b, arc, bad);
  refuseFields(bad);
}

function actionAmount(v: unknown): ActionAmount | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return parseAmountText(v);
  const o = requireObject(v);
  return { value: String(o.value), currency: String(o.currency) };
}

export async function agentRoutes(
  app: FastifyInstance,
  opts: { tenancy: Tenancy; tokens: AdminTokens },
): Promise<void> {
  useContract(app);
  const s = opts.tenancy.agents;
  const arc = () => s.authority.config.oidArc;
  // onRequest: the token is checked before the body is read or parsed (401 before 413/415).
  app.addHook('onRequest', opts.tokens.guard);
  const p = (r: FastifyRequest): Principal => principalOf(r);

  app.post(
    '/api/v1/agents',
    { schema: schemas.register, attachValidation: true },
    withChecks(
      (request) => readSpecBody(request.body, REGISTER_FIELDS, arc()),
      async (request, reply) => {
        requireRole(p(request), WRITERS, 'register agents');
        const b = requireObject(request.body);
        const tenant = tenantFor(p(request), typeof b.tenant === 'string' ? b.tenant : undefined);
        if (tenant === undefined)
          throw new AgentCaError('INPUT_INVALID', 'tenant is required (an admin token spans every tenant)', {
            fields: { tenant: 'is required' },
          });
        return reply.code(201).send(await s.register(tenant, b, actorOf(request)));
      },
    ),
  );

  const oneCall = async (request: FastifyRequest, reply: FastifyReply) => {
    requireRole(p(request), WRITERS, 'certify agents');
    return reply.code(201).send(await oneCallCertify(s, p(request), request.body, actorOf(request)));
  };
  const oneCallChecked = withChecks((request) => readOneCallBody(request.body), oneCall);
  app.post('/api/v1/agents/certify', { schema: schemas.oneCall, attachValidation: true }, oneCallChecked);
  app.post('/v1/agents/certify', { schema: schemas.oneCall, attachValidation: true }, oneCallChecked);

  // The user's two-step shapes: register by name, then certify (key created in KMS).
  app.post('/v1/agents', { schema: schemas.registerByName }, async (request, reply) => {
    requireRole(p(request), WRITERS, 'register agents');
    const b = requireObject(request.body);
    for (const k of Object.keys(b))
      if (!['name', 'tenant', 'organization'].includes(k))
        throw new AgentCaError('INPUT_INVALID', `unknown field ${k}`, {
          fields: { [k]: 'unknown field (name, tenant, organization)' },
        });
    const tenant = tenantFor(p(request), typeof b.tenant === 'string' ? b.tenant : undefined);
    if (tenant === undefined)
      throw new AgentCaError('INPUT_INVALID', 'tenant is required (an admin token spans every tenant)', {
        fields: { tenant: 'is required' },
      });
    const a = await s.register(
      tenant,
      { agentId: b.name, ...(b.organization !== undefined ? { organization: b.organization } : {}) },
      actorOf(request),
    );
    return reply
      .code(201)
      .send({ agent_id: a.agentId, name: a.agentId, tenant: a.tenant, status: a.status, created_at: a.createdAt });
  });
  app.post<{ Params: { id: string } }>(
    '/v1/agents/:id/certify',
    { schema: schemas.certifyByName },
    async (request, reply) => {
      requireRole(p(request), WRITERS, 'certify agents');
      const a = await visibleAgent(s, p(request), request.params.id);
      const b = requireObject(request.body);
      for (const k of Object.keys(b))
        if (k !== 'validity_days')
          throw new AgentCaError('INPUT_INVALID', `unknown field ${k}`, {
            fields: { [k]: 'unknown field (validity_days)' },
          });
      return reply.code(201).send(
        await oneCallCertify(
          s,
          p(request),
          {
            agent_id: a.agentId,
            tenant: a.tenant,
            ...(b.validity_days !== undefined ? { validity_days: b.validity_days } : {}),
          },
          actorOf(request),
        ),
      );
    },
  );

  app.get<{ Querystring: { tenant?: string; status?: string } }>(
    '/api/v1/agents',
    { schema: schemas.list },
    async (request) => {
      const q = request.query;
      if (q.status !== undefined && !AGENT_STATUSES.includes(q.status as AgentStatus))
        throw new AgentCaError('INPUT_INVALID', `status must be one of ${AGENT_STATUSES.join(', ')}`);
      const tenant = tenantFor(p(request), q.tenant);
      const tenants = tenant !== undefined ? [tenant] : (await s.tenants.list()).map((t) => t.name);
      const list = await s.registry.list(tenants, q.status as AgentStatus | undefined);
      return { agents: list.filter((a) => canSee(p(request), a)) };
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/agents/:id', { schema: schemas.show }, async (request) => {
    await visibleAgent(s, p(request), request.params.id);
    return s.view(request.params.id);
  });

  app.patch<{ Params: { id: string } }>(
    '/api/v1/agents/:id',
    { schema: schemas.patch, attachValidation: true },
    withChecks(
      (request) => readSpecBody(request.body, SPEC_FIELDS, arc()),
      async (request) => {
        requireRole(p(request), WRITERS, 'change agents');
        await visibleAgent(s, p(request), request.params.id);
        const r = await s.patch(request.params.id, request.body, actorOf(request));
        return {
          ...r.agent,
          ...(r.superseded
            ? {
                superseded: {
                  serial: r.superseded,
                  note: 'the model hash changed: this certificate no longer describes the agent; certify or renew it',
                },
              }
            : {}),
        };
      },
    ),
  );

  app.delete<{ Params: { id: string } }>('/api/v1/agents/:id', { schema: schemas.decommission }, async (request) => {
    requireRole(p(request), WRITERS, 'decommission agents');
    await visibleAgent(s, p(request), request.params.id);
    return s.decommission(request.params.id, actorOf(request));
  });

  app.post<{ Params: { id: string } }>(
    '/api/v1/agents/:id/certify',
    { schema: schemas.certify, attachValidation: true },
    withChecks(
      (request) => readCertifyBody(request.body),
      async (request, reply) => {
        requireRole(p(request), WRITERS, 'certify agents');
        await visibleAgent(s, p(request), request.params.id);
        const input = readCertifyBody(request.body);
        return reply.code(201).send(certifiedJson(await s.certify(request.params.id, input, actorOf(request))));
      },
    ),
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/agents/:id/renew',
    { schema: schemas.renew, attachValidation: true },
    withChecks(
      (request) => readRenewInput(request.body, arc()),
      async (request, reply) => {
        requireRole(p(request), ['admin', 'operator', 'agent'], 'renew agents');
        await visibleAgent(s, p(request), request.params.id);
        return reply
          .code(201)
          .send(certifiedJson(await s.renew(request.params.id, readRenewInput(request.body, arc()), actorOf(request))));
      },
    ),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/agents/:id/renewal-info',
    { schema: schemas.renewalInfo },
    async (request, reply) => {
      await visibleAgent(s, p(request), request.params.id);
      const info = await s.renewalInfo(request.params.id);
      reply.header('retry-after', String(info.retryAfterSeconds));
      return info;
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/agents/:id/risk', { schema: schemas.risk }, async (request) => {
    const a = await visibleAgent(s, p(request), request.params.id);
    if (!a.currentSerial)
      throw new AgentCaError('CERT_NOT_FOUND', `agent ${a.agentId} has no certificate yet`, { agentId: a.agentId });
    const risk = await s.riskOf(a.currentSerial);
    if (!risk) throw new AgentCaError('HTTP_NOT_FOUND', 'this server runs no risk engine');
    return { agentId: a.agentId, tenant: a.tenant, ...risk };
  });

  const signHandler = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireRole(p(request), ['agent'], 'sign as an agent (an agent token signs for itself)');
    const a = await visibleAgent(s, p(request), request.params.id);
    const b = readSignBody(request.body);
    if (!a.currentSerial || !a.keyUri)
      throw new AgentCaError(
        'SIGNER_KEY_NOT_FOUND',
        `agent ${a.agentId} has no CA-held key: it signs with its own key (agent-ca/client)`,
        { agentId: a.agentId },
      );
    const payload = b.payloadEncoding === 'base64' ? Buffer.from(b.payload as string, 'base64') : (b.payload as string);
    const amount = actionAmount(b.amount);
    const envelope = await s.authority.signAction({
      serial: a.currentSerial,
      payload,
      action: b.action as string,
      ...(amount ? { amount } : {}),
      ...(b.market !== undefined ? { market: b.market as string } : {}),
    });
    await s.authority.audit.append({
      actor: actorOf(request),
      action: 'action.signed',
      subject: a.agentId,
      details: { tenant: a.tenant, agentId: a.agentId, serial: a.currentSerial, action: b.action },
    });
    return { serial: a.currentSerial, envelope };
  };
  app.post<{ Params: { id: string } }>(
    '/api/v1/agents/:id/sign',
    { schema: schemas.sign, attachValidation: true },
    withChecks((request) => readSignBody(request.body), signHandler),
  );
}
