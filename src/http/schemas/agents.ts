/** Schemas of the agent registry (src/http/routes/agents.ts, agent-one-call.ts). */
import { Type, type TSchema } from 'typebox';
import { AnyJson, IdParams, Nullable, Open, Serial, Strict, Time, route } from './common.js';
import { CreateKeyIn, KeyType, ModelHash, Policy } from './certificates.js';

const TAGS = ['agents'];
const WRITERS = ['admin', 'operator'] as const;
const ALL = ['admin', 'operator', 'auditor', 'agent'] as const;
const StringList = Type.Array(Type.String());

/** The registered defaults of an agent's next certificate; `null` clears one (PATCH). */
function spec(nullable: boolean) {
  const f = <T extends TSchema>(t: T) => Type.Optional(nullable ? Nullable(t) : t);
  return {
    organization: f(Type.String()),
    environment: f(Type.String()),
    scope: f(StringList),
    policy: f(Policy),
    modelHash: f(ModelHash),
    profile: f(Type.String()),
    dnsNames: f(StringList),
    uris: f(StringList),
  };
}

const Agent = Open({
  agentId: Type.String(),
  tenant: Type.String(),
  status: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  revision: Type.Number(),
  currentSerial: Type.Optional(Serial),
  keyUri: Type.Optional(Type.String()),
});

const KeyInput = {
  publicKey: Type.Optional(
    Type.String({ description: 'PEM SubjectPublicKeyInfo; at most one of publicKey, csr, createKeyIn' }),
  ),
  csr: Type.Optional(Type.String({ description: 'PEM PKCS#10' })),
  createKeyIn: Type.Optional(CreateKeyIn),
  keyType: Type.Optional(KeyType),
  validityDays: Type.Optional(Type.Number({ description: 'a positive integer' })),
  validitySeconds: Type.Optional(Type.Number({ description: 'a positive integer (instead of validityDays)' })),
};

const Certified = Open({
  agentId: Type.String(),
  tenant: Type.String(),
  serial: Serial,
  certificate: Type.String({ description: 'PEM' }),
  chain: Type.String({ description: 'PEM' }),
  notBefore: Time(),
  notAfter: Time(),
  keyUri: Type.Optional(Type.String()),
  warnings: Type.Array(AnyJson),
});

const OneCallBody = Strict({
  agent_id: Type.Optional(Type.String()),
  organization: Type.Optional(Type.String()),
  max_transaction_size_usd: Type.Optional(Type.Union([Type.Number(), Type.String()], { description: 'non-negative' })),
  allowed_markets: Type.Optional(StringList),
  validity_days: Type.Optional(Type.Number({ description: 'a positive integer' })),
  tenant: Type.Optional(Type.String()),
  scope: Type.Optional(StringList),
  environment: Type.Optional(Type.String()),
  model_hash: Type.Optional(Type.String({ description: 'sha256:HEX' })),
  public_key: Type.Optional(Type.String({ description: 'PEM; without it the CA creates the key in its KMS' })),
  csr: Type.Optional(Type.String()),
});
const OneCallAnswer = Open({
  agent_id: Type.String(),
  serial_number: Type.String(),
  certificate_pem: Type.String(),
  valid_until: Type.String(),
});

export const schemas = {
  register: route({
    summary: 'Register an agent (its certificate defaults)',
    tags: TAGS,
    roles: WRITERS,
    body: Strict({ agentId: Type.String(), tenant: Type.Optional(Type.String()), ...spec(false) }),
    response: { 201: Agent },
    errors: [404, 409],
  }),
  oneCall: route({
    summary: 'Register if new and certify in one call (snake_case in and out)',
    tags: TAGS,
    roles: WRITERS,
    body: OneCallBody,
    response: { 201: OneCallAnswer },
    errors: [404, 409, 422, 503],
  }),
  registerByName: route({
    summary: "Register an agent by name (the user's two-step form, snake_case)",
    tags: TAGS,
    roles: WRITERS,
    body: Strict({
      name: Type.String(),
      tenant: Type.Optional(Type.String()),
      organization: Type.Optional(Type.String()),
    }),
    response: {
      201: Open({
        agent_id: Type.String(),
        name: Type.String(),
        tenant: Type.String(),
        status: Type.String(),
        created_at: Type.String(),
      }),
    },
    errors: [404, 409],
  }),
  certifyByName: route({
    summary: 'Certify a registered agent, key created in the KMS (snake_case)',
    tags: TAGS,
    roles: WRITERS,
    params: IdParams,
    body: Strict({ validity_days: Type.Optional(Type.Number({ description: 'a positive integer' })) }),
    response: { 201: OneCallAnswer },
    errors: [404, 409, 422, 503],
  }),
  list: route({
    summary: 'List agents (an agent token sees itself)',
    tags: TAGS,
    roles: ALL,
    querystring: Type.Object({ tenant: Type.Optional(Type.String()), status: Type.Optional(Type.String()) }),
    response: { 200: Open({ agents: Type.Array(Agent) }) },
  }),
  show: route({
    summary: 'An agent: registration, certificates, risk',
    tags: TAGS,
    roles: ALL,
    params: IdParams,
    response: { 200: Open({}) },
    errors: [404],
  }),
  patch: route({
    summary: "Change an agent's defaults for its next certificate (null clears one)",
    tags: TAGS,
    roles: WRITERS,
    params: IdParams,
    body: Strict(spec(true)),
    response: { 200: Agent },
    errors: [404, 409],
  }),
  decommission: route({
    summary: 'Decommission an agent: every certificate revoked (cessationOfOperation)',
    tags: TAGS,
    roles: WRITERS,
    params: IdParams,
    response: { 200: Open({}) },
    errors: [404, 409],
  }),
  certify: route({
    summary: "The agent's next certificate, from its registration",
    tags: TAGS,
    roles: WRITERS,
    params: IdParams,
    body: Strict(KeyInput),
    response: { 201: Certified },
    errors: [404, 409, 422, 503],
  }),
  renew: route({
    summary: 'Renew, with the drift check (an agent may renew itself)',
    tags: TAGS,
    roles: ['admin', 'operator', 'agent'],
    params: IdParams,
    body: Strict({
      ...KeyInput,
      observed: Type.Optional(
        Strict(
          { modelHash: Type.Optional(ModelHash), scope: Type.Optional(StringList) },
          'what the agent runs now; a difference from the registration is drift (409)',
        ),
      ),
    }),
    response: { 201: Certified },
    errors: [404, 409, 422, 503],
  }),
  renewalInfo: route({
    summary: 'Suggested renewal window (RFC 9773 manner), with Retry-After',
    tags: TAGS,
    roles: ALL,
    params: IdParams,
    response: { 200: Open({ retryAfterSeconds: Type.Number() }) },
    errors: [404],
  }),
  risk: route({
    summary: "The agent's risk now: score, band, features, contributions",
    tags: TAGS,
    roles: ALL,
    params: IdParams,
    response: { 200: Open({ agentId: Type.String(), tenant: Type.String() }) },
    errors: [404],
  }),
  sign: route({
    summary: "Sign an action with the agent's CA-held key (agent token, for itself)",
    tags: TAGS,
    roles: ['agent'],
    params: IdParams,
    body: Strict({
      payload: Type.String({ description: 'utf8 text or base64 (payloadEncoding)' }),
      payloadEncoding: Type.Optional(Type.String({ description: 'utf8 (default) or base64' })),
      action: Type.String({ description: 'e.g. write:payments' }),
      amount: Type.Optional(
        Type.Union([Type.String({ description: '"100 USD"' }), Open({ value: AnyJson, currency: AnyJson })]),
      ),
      market: Type.Optional(Type.String()),
    }),
    response: { 200: Open({ serial: Serial, envelope: Open({}, 'the action envelope (src/actions/types.ts)') }) },
    errors: [404],
  }),
};
