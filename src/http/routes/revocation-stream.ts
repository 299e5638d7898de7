/**
 * GET /api/v1/revocations/stream — server-sent events (HTML Living Standard §9.2), one per
 * revocation, hold, release and reason change, read from the store's status-change journal
 * (the one delta CRLs are built from, RFC 5280 §5.2.4) in seq order, so what is pushed is what
 * committed. `id:` is the journal seq: a client that reconnects with `Last-Event-ID` (or
 * `?after=SEQ`, for EventSource clients that cannot set headers on the first connect) gets every
 * change after it, none twice. Without either, the stream starts at the current head.
 *
 * In-process changes wake the stream through the hooks (the revoker emits after its commit);
 * a poll every `pollMs` picks up changes committed by another process sharing the store. A
 * comment line every `heartbeatMs` keeps proxies from timing the connection out.
 * See docs/revocation-freshness.md.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authority } from '../../authority/authority.js';
import { CA_NAMES } from '../../authority/ca-state.js';
import { AgentCaError } from '../../errors.js';
import type { StatusChange } from '../../store/ports.js';
import type { IssuerId } from '../../types.js';
import { principalOf } from '../plugins/admin-auth.js';
import { canSee, requireRole } from '../../tenancy/roles.js';
import { schemas } from '../schemas/public.js';
import { useContract } from '../schemas/validation.js';

export interface RevocationStreamOptions {
  authority: Authority;
  guard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Default 15 s. */
  heartbeatMs?: number;
  /** Default 2 s: how late a change committed by another process may be pushed. */
  pollMs?: number;
}

function cursorFrom(request: FastifyRequest<{ Querystring: { after?: string } }>): string | undefined {
  const header = request.headers['last-event-id'];
  return (Array.isArray(header) ? header[0] : header) ?? request.query.after;
}

export async function revocationStreamRoutes(app: FastifyInstance, opts: RevocationStreamOptions): Promise<void> {
  useContract(app);
  const { authority } = opts;
  const open = new Set<() => void>();
  // A hijacked response is never idle: end the streams first, or close() would wait on them.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<{ Querystring: { after?: string } }>(
    '/api/v1/revocations/stream',
    { onRequest: opts.guard, schema: schemas.revocationStream },
    async (request, reply) => {
      // Admins see every change; an operator or auditor only its own tenant's agents (docs/tenancy.md).
      const principal = principalOf(request);
      requireRole(principal, ['admin', 'operator', 'auditor'], 'follow the revocation stream');
      const given = cursorFrom(request);
      if (given !== undefined && !/^(0|[1-9][0-9]{0,15})$/.test(given)) {
        throw new AgentCaError(
          'INPUT_INVALID',
          `Last-Event-ID / after must be a change sequence number (a non-negative integer), got ${JSON.stringify(given)}`,
        );
      }
      let cursor = given !== undefined ? Number(given) : await authority.store.revocations.lastChangeSeq();
      reply.hijack();
      const raw: ServerResponse = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 2000\n: revocations after seq ${cursor}\n\n`);

      let closed = false;
      let draining: Promise<void> | undefined;
      let again = false;
      const write = async (chunk: string): Promise<void> => {
        if (closed) return;
        if (!raw.write(chunk)) await new Promise<void>((resolve) => raw.once('drain', resolve).once('close', resolve));
      };
      const drainOnce = async (): Promise<void> => {
        const changes: StatusChange[] = [];
        for (const n of CA_NAMES)
          for await (const c of authority.store.revocations.changesSince(n as IssuerId, cursor)) changes.push(c);
        changes.sort((x, y) => x.seq - y.seq);
        for (const c of changes) {
          if (closed) return;
          const cert = await authority.store.certificates.get(c.serial);
          if (!canSee(principal, { tenant: cert?.tenant ?? null, agentId: cert?.agentId ?? null })) {
            cursor = c.seq;
            continue;
          }
          const data = {
            seq: c.seq,
            kind: c.kind,
            serial: c.serial,
            issuerId: c.issuerId,
            reason: c.reason,
            at: c.at.toISOString(),
            ...(cert?.agentId ? { agentId: cert.agentId } : {}),
            ...(cert?.tenant ? { tenant: cert.tenant } : {}),
          };
          await write(`id: ${c.seq}\nevent: ${c.kind}\ndata: ${JSON.stringify(data)}\n\n`);
          cursor = c.seq;
        }
      };
      // One drain at a time per stream; a wake-up during a drain runs it once more after.
      const drain = (): void => {
        if (closed) return;
        if (draining) {
          again = true;
          return;
        }
        draining = (async () => {
          try {
            do {
              again = false;
              await drainOnce();
            } while (again && !closed);
          } catch (e) {
            request.log.warn({ err: e }, 'revocation stream: reading the journal failed; the next poll retries');
          } finally {
            draining = undefined;
          }
        })();
      };

      const unsubscribe = [
        authority.hooks.on('certificate.revoked', drain),
        authority.hooks.on('certificate.held', drain),
        authority.hooks.on('certificate.released', drain),
      ];
      const poll = setInterval(drain, opts.pollMs ?? 2_000);
      const heartbeat = setInterval(() => void write(': keep-alive\n\n'), opts.heartbeatMs ?? 15_000);
      const end = (): void => {
        if (closed) return;
        closed = true;
        open.delete(end);
        for (const u of unsubscribe) u();
        clearInterval(poll);
        clearInterval(heartbeat);
        raw.end();
      };
      open.add(end);
      raw.on('close', end);
      drain(); // what committed between the cursor and now
    },
  );
}
