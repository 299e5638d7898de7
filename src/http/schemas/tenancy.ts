/** Schemas of tenants, tokens and the audit export (src/http/routes/tenancy.ts). */
import { Type } from 'typebox';
import { ROLES } from '../../tenancy/roles.js';
import { IdParams, NameParams, Open, Strict, route } from './common.js';

const Threshold = Type.Number({ description: 'risk score in (0, 1]' });
const Quota = Type.Number({ description: 'events per second, an integer in [1, 1000000]' });
const Tenant = Open({
  name: Type.String(),
  createdAt: Type.String(),
  thresholds: Open({ warning: Type.Optional(Type.Number()), revoke: Type.Optional(Type.Number()) }),
  eventsPerSecond: Type.Number(),
});
const TokenView = Open({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  tenant: Type.Optional(Type.String()),
  agentId: Type.Optional(Type.String()),
  expiresAt: Type.Optional(Type.String()),
});

export const schemas = {
  createTenant: route({
    summary: 'Create a tenant (risk thresholds, event quota)',
    tags: ['tenants'],
    roles: ['admin'],
    body: Strict({
      name: Type.String(),
      warning: Type.Optional(Threshold),
      revoke: Type.Optional(Threshold),
      eventsPerSecond: Type.Optional(Quota),
    }),
    response: { 201: Tenant },
    errors: [409],
  }),
  listTenants: route({
    summary: 'List tenants (an admin sees all, others their own)',
    tags: ['tenants'],
    roles: ['admin', 'operator', 'auditor', 'agent'],
    response: { 200: Open({ tenants: Type.Array(Tenant) }) },
  }),
  patchTenant: route({
    summary: "Change a tenant's thresholds or quota (at once, no restart)",
    tags: ['tenants'],
    roles: ['admin'],
    params: NameParams,
    body: Strict({
      warning: Type.Optional(Threshold),
      revoke: Type.Optional(Threshold),
      eventsPerSecond: Type.Optional(Quota),
    }),
    response: { 200: Tenant },
    errors: [404],
  }),
  createToken: route({
    summary: 'Create a bearer token (the secret is in this answer only)',
    tags: ['tokens'],
    roles: ['admin'],
    body: Strict({
      name: Type.String(),
      role: Type.String({ description: ROLES.join(', ') }),
      tenant: Type.Optional(Type.String()),
      agentId: Type.Optional(Type.String()),
      expires: Type.Optional(Type.String({ description: '90d, 12h, 30m or an ISO 8601 time' })),
    }),
    response: { 201: Open({ ...TokenView.properties, token: Type.String({ description: 'the secret, shown once' }) }) },
    errors: [404, 409],
  }),
  listTokens: route({
    summary: 'List tokens (never a secret or its hash)',
    tags: ['tokens'],
    roles: ['admin'],
    response: { 200: Open({ tokens: Type.Array(TokenView) }) },
  }),
  revokeToken: route({
    summary: 'Revoke a token',
    tags: ['tokens'],
    roles: ['admin'],
    params: IdParams,
    response: { 200: TokenView },
    errors: [404],
  }),
  auditExport: route({
    summary: "Export the audit log as JSON Lines, filtered to the token's tenant",
    tags: ['audit'],
    roles: ['admin', 'auditor'],
    querystring: Type.Object({
      from: Type.Optional(Type.String({ description: 'ISO 8601 time' })),
      to: Type.Optional(Type.String({ description: 'ISO 8601 time' })),
      agentId: Type.Optional(Type.String()),
    }),
    response: {
      200: {
        description: 'One audit entry per line.',
        content: { 'application/x-ndjson': { schema: { type: 'string' } } },
      },
    },
  }),
};
