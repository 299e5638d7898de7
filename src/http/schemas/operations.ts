/** Schemas of webhooks, risk events and notifications, and compliance reports. */
import { Type } from 'typebox';
import { AnyJson, Empty, IdParams, Open, Strict, binary, route } from './common.js';

const Endpoint = Open({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  createdAt: Type.String(),
  tenant: Type.Optional(Type.String()),
  previousSecretExpiresAt: Type.Optional(Type.String()),
});
const WithSecret = Open({ ...Endpoint.properties, secret: Type.String({ description: 'shown in this answer only' }) });
const Delivery = Open({
  id: Type.String(),
  endpointId: Type.String(),
  event: AnyJson,
  attempts: Type.Number(),
  state: Type.String(),
});
const WEBHOOKS = ['admin', 'operator'] as const;

const ReportJob = Open({
  id: Type.String(),
  status: Type.String({ description: 'queued, running, done or failed' }),
  links: Open({ self: Type.String(), pdf: Type.Optional(Type.String()), evidence: Type.Optional(Type.String()) }),
});
const REPORTERS = ['admin', 'auditor'] as const;

export const schemas = {
  registerWebhook: route({
    summary: 'Register a webhook endpoint (the answer holds its secret, once)',
    tags: ['webhooks'],
    roles: WEBHOOKS,
    body: Strict({
      url: Type.String({ description: 'https URL (http to loopback only)' }),
      events: Type.Optional(Type.Array(Type.String(), { description: 'event types; default: all' })),
    }),
    response: { 201: WithSecret },
  }),
  listWebhooks: route({
    summary: 'List webhook endpoints (never a secret)',
    tags: ['webhooks'],
    roles: WEBHOOKS,
    response: { 200: Open({ webhooks: Type.Array(Endpoint) }) },
  }),
  deleteWebhook: route({
    summary: 'Delete a webhook endpoint',
    tags: ['webhooks'],
    roles: WEBHOOKS,
    params: IdParams,
    response: { 204: Empty },
    errors: [404],
  }),
  rotateSecret: route({
    summary: "Rotate an endpoint's secret (the old one signs too during the grace period)",
    tags: ['webhooks'],
    roles: WEBHOOKS,
    params: IdParams,
    body: Strict({ graceSeconds: Type.Optional(Type.Number()) }),
    response: { 200: WithSecret },
    errors: [404],
  }),
  deliveries: route({
    summary: 'Pending and dead-lettered deliveries',
    tags: ['webhooks'],
    roles: WEBHOOKS,
    response: { 200: Open({ pending: Type.Array(Delivery), dead: Type.Array(Delivery) }) },
  }),
  redeliver: route({
    summary: 'Put a dead-lettered delivery back into the queue',
    tags: ['webhooks'],
    roles: WEBHOOKS,
    params: IdParams,
    response: { 202: Delivery },
    errors: [404],
  }),
  events: route({
    summary: 'Behavioural events for the risk engine (a bad batch lists every bad field; nothing stored)',
    tags: ['risk'],
    roles: ['admin', 'operator', 'agent'],
    body: Strict({
      events: Type.Array(Type.Unknown(), {
        description: 'events attributed to certificate serials; each checked by the engine (docs/risk-engine.md)',
      }),
    }),
    response: {
      202: Open({
        accepted: Type.Number(),
        scores: Type.Array(Open({ serial: Type.String(), value: Type.Number(), band: Type.String() })),
      }),
    },
    errors: [404, 413, 429],
  }),
  notifications: route({
    summary: 'Risk warnings, newest first',
    tags: ['risk'],
    roles: ['admin', 'operator', 'auditor', 'agent'],
    querystring: Type.Object({
      serial: Type.Optional(Type.String()),
      tenant: Type.Optional(Type.String()),
      after: Type.Optional(Type.String({ description: 'a non-negative integer' })),
      limit: Type.Optional(Type.String({ description: 'a non-negative integer' })),
    }),
    response: { 200: Open({ notifications: Type.Array(Open({})) }) },
  }),
  compliance: route({
    summary: 'Ask for a compliance report (queued; 202 with its id)',
    tags: ['reports'],
    roles: REPORTERS,
    body: Strict({
      agent_id: Type.Optional(Type.String({ description: 'exactly one of agent_id and tenant' })),
      agentId: Type.Optional(Type.String()),
      tenant: Type.Optional(Type.String()),
      start_date: Type.Optional(Type.String({ description: 'a day (2026-01-01) or an ISO 8601 time' })),
      end_date: Type.Optional(Type.String()),
      from: Type.Optional(Type.String()),
      to: Type.Optional(Type.String()),
      include: Type.Optional(Type.Array(Type.String())),
    }),
    response: { 202: ReportJob },
    errors: [404, 429],
  }),
  report: route({
    summary: "A report job's status and links",
    tags: ['reports'],
    roles: REPORTERS,
    params: IdParams,
    response: { 200: ReportJob },
    errors: [404],
  }),
  reportPdf: route({
    summary: 'The report PDF (409 until done)',
    tags: ['reports'],
    roles: REPORTERS,
    params: IdParams,
    response: { 200: binary('The PDF.', 'application/pdf') },
    errors: [404, 409],
  }),
  evidence: route({
    summary: 'The evidence package: PDF, evidence, signed manifest, CA chain',
    tags: ['reports'],
    roles: REPORTERS,
    params: IdParams,
    response: { 200: binary('The ZIP.', 'application/zip') },
    errors: [404, 409],
  }),
};
