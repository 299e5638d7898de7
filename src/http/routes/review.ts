/**
 * Human oversight of the risk engine's warnings (docs/console.md), behind the bearer token:
 *   GET  /api/v1/whoami                                the token's name, role and tenant (what to offer)
 *   GET  /api/v1/review-queue?tenant=&limit=           warnings newest first, each with its review and
 *                                                      the certificate's status now
 *   POST /api/v1/notifications/:id/review {comment}    mark a warning reviewed (admin, operator), audited
 *                                                      `risk.reviewed` with the reviewer's token name
 *   GET  /api/v1/notifications/stream                  server-sent events, one per new warning
 *   GET  /api/v1/agents/:id/risk/history?days=30       the agent's score over time (replayed from the
 *                                                      audit log), incidents and credential timeline
 *   GET  /api/v1/certificates/:serial/certificate.pem  the certificate, PEM
 *   GET  /api/v1/certificates/:serial/chain.pem        certificate + issuing CA(s), PEM
 *   GET  /api/v1/certificates/:serial/ocsp             the OCSP answer a relying party gets from /ocsp
 * Role and tenant rules are those of docs/tenancy.md: another tenant's warning, agent or
 * certificate answers 404 like a missing one.
 */
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ocspStatus } from '../../actions/ocsp-status.js';
import { toPem } from '../../asn1/pem.js';
import type { Authority } from '../../authority/authority.js';
import { AgentCaError } from '../../errors.js';
import type { RiskNotification } from '../../risk/notifications.js';
import type { RiskService } from '../../risk/service.js';
import { RiskReplay } from '../../reports/risk-history.js';
import { timelineEntry } from '../../reports/timeline.js';
import { entryConcerns } from '../../reports/evidence.js';
import type { TimelineEntry } from '../../reports/types.js';
import { canSee, requireRole, tenantFor, type Principal } from '../../tenancy/roles.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { visibleCertificate } from './admin.js';
import { binary, route } from '../schemas/common.js';

export const ReviewBody = Type.Object(
  {
    comment: Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'What the reviewer found: a bug, a genuine threat, what was done',
    }),
  },
  { additionalProperties: false },
);
export type ReviewBody = Static<typeof ReviewBody>;

export interface RiskReview {
  notificationId: string;
  serial: string;
  agentId?: string;
  tenant?: string;
  comment: string;
  /** The reviewer's token name (docs/tenancy.md), role and token id. */
  reviewer: string;
  role: string;
  tokenId: string;
  /** ISO 8601 */
  at: string;
}

const REVIEW_KEY = 'risk.reviews';
const DAY_MS = 86_400_000;

/**
 * Fastify validates with ajv, whose default drops unknown properties instead of refusing them;
 * this route's body is checked by TypeBox itself so that `additionalProperties: false` refuses,
 * with every bad field in the 400 problem+json.
 */
function typeboxValidator({ schema }: { schema: unknown }) {
  const s = schema as TSchema;
  return (data: unknown) => {
    if (Value.Check(s, data)) return { value: data };
    const fields: Record<string, string> = {};
    for (const e of Value.Errors(s, data)) {
      if (e.keyword === 'boolean') continue;
      const extra = (e.params as { additionalProperties?: string[] }).additionalProperties;
      if (extra) for (const k of extra) fields[k] = 'unknown field';
      else fields[e.instancePath.replace(/^\//, '') || 'body'] = e.message;
    }
    return {
      error: new AgentCaError('INPUT_INVALID', `invalid body: ${JSON.stringify(fields)}`, { fields }),
    };
  };
}

function nonNegativeInt(v: string | undefined, field: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(v)) throw new AgentCaError('INPUT_INVALID', `${field} must be a non-negative integer`);
  return Math.min(Number(v), max);
}

/** Our own listening address, to ask /ocsp over HTTP exactly like a counterparty. */
function selfOcspUrl(app: FastifyInstance): string | undefined {
  const a: AddressInfo | string | null = app.server.address();
  if (!a || typeof a === 'string') return undefined;
  const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
  return `http://${a.family === 'IPv6' && host !== '127.0.0.1' ? `[${host}]` : host}:${a.port}/ocsp`;
}

const ALL_ROLES = ['admin', 'operator', 'auditor', 'agent'] as const;
const READERS = ['admin', 'operator', 'auditor'] as const;
const JSON_ANSWER = { 200: Type.Object({}, { additionalProperties: true }) };
const docs = {
  whoami: route({
    summary: 'Who this token is (name, role, tenant)',
    tags: ['console'],
    roles: ALL_ROLES,
    response: JSON_ANSWER,
  }),
  queue: route({
    summary: 'Warnings to review, newest first, with their reviews',
    tags: ['console'],
    roles: READERS,
    response: JSON_ANSWER,
  }),
  review: route({
    summary: 'Mark a warning reviewed with a comment (audited with the token name)',
    tags: ['console'],
    roles: ['admin', 'operator'],
    body: ReviewBody,
    response: { 201: Type.Object({}, { additionalProperties: true }) },
    errors: [404],
  }),
  stream: route({
    summary: 'Server-sent events: each new risk warning',
    tags: ['console'],
    roles: READERS,
    response: {
      200: { description: 'An event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
    },
  }),
  history: route({
    summary: "An agent's risk score over the last days, replayed from the audit log",
    tags: ['console'],
    roles: ALL_ROLES,
    response: JSON_ANSWER,
    errors: [404],
  }),
  pem: route({
    summary: 'The certificate as PEM (download)',
    tags: ['certificates'],
    roles: ALL_ROLES,
    response: { 200: binary('PEM certificate', 'application/x-pem-file') },
    errors: [404],
  }),
  chain: route({
    summary: 'The certificate and its CA chain as PEM (download)',
    tags: ['certificates'],
    roles: ALL_ROLES,
    response: { 200: binary('PEM certificates', 'application/x-pem-file') },
    errors: [404],
  }),
  ocsp: route({
    summary: 'The OCSP answer a counterparty gets for this certificate, checked',
    tags: ['certificates'],
    roles: ALL_ROLES,
    response: JSON_ANSWER,
    errors: [404],
  }),
};

export async function reviewRoutes(
  app: FastifyInstance,
  opts: { authority: Authority; risk: RiskService; tokens: AdminTokens; heartbeatMs?: number; pollMs?: number },
): Promise<void> {
  const { authority, risk } = opts;
  app.addHook('preHandler', opts.tokens.guard);
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  const reviewOf = (id: string) => authority.store.meta.get<RiskReview>(`${REVIEW_KEY}.${id}`);
  const visibleNotification = (p: Principal, id: string): RiskNotification => {
    const n = risk.inbox.list({ limit: risk.inbox.capacity }).find((x) => x.id === id);
    if (!n || !canSee(p, { tenant: n.tenant ?? null, agentId: n.agentId ?? null }))
      throw new AgentCaError('NOTIFICATION_NOT_FOUND', `no notification ${id}`, { id });
    return n;
  };

  app.get('/api/v1/whoami', { schema: docs.whoami }, async (request) => {
    const p = principalOf(request);
    return {
      name: p.name,
      role: p.role,
      tenant: p.tenant ?? null,
      ...(p.agentId !== undefined ? { agentId: p.agentId } : {}),
    };
  });

  app.get<{ Querystring: { tenant?: string; limit?: string } }>(
    '/api/v1/review-queue',
    { schema: docs.queue },
    async (request) => {
      const p = principalOf(request);
      requireRole(p, ['admin', 'operator', 'auditor'], 'read the review queue');
      const tenant = tenantFor(p, request.query.tenant);
      const limit = nonNegativeInt(request.query.limit, 'limit', 500) ?? 100;
      const list = risk.inbox
        .list({ ...(tenant ? { tenant } : {}), limit })
        .filter((n) => canSee(p, { tenant: n.tenant ?? null, agentId: n.agentId ?? null }));
      const items = [];
      for (const n of list) {
        const review = (await reviewOf(n.id)) ?? null;
        let certificate: { status: string; reason?: string } | null = null;
        try {
          const v = await authority.show(n.serial);
          certificate = { status: v.status.state, ...(v.status.reason ? { reason: v.status.reason } : {}) };
        } catch {
          // a serial the store no longer has: shown without actions (certificate null)
        }
        items.push({ ...n, review, certificate });
      }
      return { items };
    },
  );

  app.post<{ Params: { id: string }; Body: ReviewBody }>(
    '/api/v1/notifications/:id/review',
    {
      schema: docs.review,
      validatorCompiler: typeboxValidator,
    },
    async (request, reply) => {
      const p = principalOf(request);
      requireRole(p, ['admin', 'operator'], 'review warnings');
      const n = visibleNotification(p, request.params.id);
      const review: RiskReview = {
        notificationId: n.id,
        serial: n.serial,
        ...(n.agentId !== undefined ? { agentId: n.agentId } : {}),
        ...(n.tenant !== undefined ? { tenant: n.tenant } : {}),
        comment: request.body.comment,
        reviewer: p.name,
        role: p.role,
        tokenId: p.id,
        at: authority.clock.now().toISOString(),
      };
      // The review and its audit entry are one store commit (docs/architecture.md).
      const prepared = await authority.audit.entriesFor({
        actor: actorOf(request),
        action: 'risk.reviewed',
        subject: n.serial,
        details: { ...review, score: n.score, band: n.band },
      });
      await prepared.commit([{ op: 'putMeta', key: `${REVIEW_KEY}.${n.id}`, value: review }]);
      return reply.code(201).send(review);
    },
  );

  app.get<{ Querystring: { after?: string } }>(
    '/api/v1/notifications/stream',
    { schema: docs.stream },
    async (request, reply) => {
      const p = principalOf(request);
      requireRole(p, ['admin', 'operator', 'auditor'], 'follow the warning stream');
      const header = request.headers['last-event-id'];
      const given = (Array.isArray(header) ? header[0] : header) ?? request.query.after;
      if (given !== undefined && !/^(0|[1-9][0-9]{0,15})$/.test(given))
        throw new AgentCaError('INPUT_INVALID', 'Last-Event-ID / after must be a notification seq (integer)');
      let cursor = given !== undefined ? Number(given) : (risk.inbox.list({ limit: 1 })[0]?.seq ?? 0);
      reply.hijack();
      const raw: ServerResponse = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 2000\n: warnings after seq ${cursor}\n\n`);
      let closed = false;
      const push = (): void => {
        if (closed) return;
        // The inbox is in memory, newest first: what is newer than the cursor, oldest first.
        const fresh = risk.inbox.list({ after: cursor, limit: risk.inbox.capacity }).reverse();
        for (const n of fresh) {
          cursor = n.seq;
          if (!canSee(p, { tenant: n.tenant ?? null, agentId: n.agentId ?? null })) continue;
          raw.write(`id: ${n.seq}\nevent: warning\ndata: ${JSON.stringify(n)}\n\n`);
        }
      };
      const poll = setInterval(push, opts.pollMs ?? 500);
      const heartbeat = setInterval(() => !closed && raw.write(': keep-alive\n\n'), opts.heartbeatMs ?? 15_000);
      const end = (): void => {
        if (closed) return;
        closed = true;
        open.delete(end);
        clearInterval(poll);
        clearInterval(heartbeat);
        raw.end();
      };
      open.add(end);
      raw.on('close', end);
      push();
    },
  );

  app.get<{ Params: { id: string }; Querystring: { days?: string } }>(
    '/api/v1/agents/:id/risk/history',
    { schema: docs.history },
    async (request) => {
      const p = principalOf(request);
      requireRole(p, ['admin', 'operator', 'auditor', 'agent'], 'read risk history');
      const id = request.params.id;
      const records = (await authority.store.certificates.listByAgent(id))
        .filter((r) => !r.isCa && r.profile !== 'ocsp-responder' && canSee(p, r))
        .sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime());
      if (records.length === 0) throw new AgentCaError('AGENT_NOT_FOUND', `no agent ${id}`, { agentId: id });
      const days = nonNegativeInt(request.query.days, 'days', 366) ?? 30;
      const now = authority.clock.now().getTime();
      const from = now - Math.max(1, days) * DAY_MS;
      const subject = {
        serials: new Set(records.map((r) => r.serial as string)),
        agentIds: new Set([id]),
      };
      // The replay needs one risk window of history before the range (src/reports/risk-history.ts).
      // The engine's config now: tenant thresholds from the registry win over risk-config.json.
      const config = risk.engine.config;
      const replay = new RiskReplay(config, records, authority.config.oidArc);
      const timeline: TimelineEntry[] = [];
      for await (const e of authority.store.audit.iterate({
        fromTime: new Date(from - config.limits.maxAgeMs),
        toTime: new Date(now),
      })) {
        if (!entryConcerns(e, subject)) continue;
        const inRange = e.time.getTime() >= from;
        replay.add(e, inRange);
        const t = inRange ? timelineEntry(e) : undefined;
        if (t) timeline.push(t);
      }
      const r = replay.finish();
      return {
        agentId: id,
        from: new Date(from).toISOString(),
        to: new Date(now).toISOString(),
        thresholds: replay.thresholds(),
        points: r.points,
        incidents: r.incidents,
        timeline: timeline.slice(-200),
      };
    },
  );

  const certificateOf = async (request: FastifyRequest<{ Params: { serial: string } }>) =>
    visibleCertificate(authority, principalOf(request), request.params.serial);

  app.get<{ Params: { serial: string } }>(
    '/api/v1/certificates/:serial/certificate.pem',
    { schema: docs.pem },
    async (request, reply) => {
      const v = await certificateOf(request);
      return reply
        .type('application/x-pem-file')
        .header('content-disposition', `attachment; filename="${v.record.serial}.pem"`)
        .send(toPem(v.record.der));
    },
  );

  app.get<{ Params: { serial: string } }>(
    '/api/v1/certificates/:serial/chain.pem',
    { schema: docs.chain },
    async (request, reply) => {
      const v = await certificateOf(request);
      const chain = authority.chain();
      const parts = [toPem(v.record.der)];
      if (v.record.issuerId !== 'root') parts.push(chain.intermediate);
      parts.push(chain.root);
      return reply
        .type('application/x-pem-file')
        .header('content-disposition', `attachment; filename="${v.record.serial}-chain.pem"`)
        .send(parts.map((s) => (s.endsWith('\n') ? s : `${s}\n`)).join(''));
    },
  );

  app.get<{ Params: { serial: string } }>(
    '/api/v1/certificates/:serial/ocsp',
    { schema: docs.ocsp },
    async (request) => {
      const v = await certificateOf(request);
      const issuer = authority.ca(v.record.issuerId === 'root' ? 'root' : 'intermediate').certificate.der;
      const url = selfOcspUrl(app);
      const now = authority.clock.now();
      // RFC 5019: SHA-1 CertID, no nonce, the pre-signed answer every gateway gets.
      const out = await ocspStatus(
        { serial: v.record.serial, certificate: Buffer.from(v.record.der), issuer: Buffer.from(issuer), now },
        { ...(url ? { url } : {}), hash: 'sha1', timeoutMs: 5000 },
      );
      if (!out.ok) return { serial: v.record.serial, ok: false, detail: out.detail, checkedAt: now.toISOString() };
      const s = out.status;
      return {
        serial: v.record.serial,
        ok: true,
        source: out.source,
        status: s.state,
        ...('revokedAt' in s && s.revokedAt ? { revokedAt: s.revokedAt.toISOString() } : {}),
        ...('reason' in s && s.reason ? { reason: s.reason } : {}),
        checkedAt: now.toISOString(),
      };
    },
  );
}
