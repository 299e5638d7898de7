/**
 * A fastify preHandler that lets a route run only for an agent action signed for it:
 *
 *   app.post('/payments', { preHandler: requireAgentAction({ scope: 'write:payments', trustAnchors: rootPem, status: 'ocsp',
 *     amountFrom: (r) => ({ value: r.body.amount, currency: r.body.currency }), payloadFrom: (r) => r.rawBody }) }, handler)
 *
 * The envelope travels in the `AgentCA-Action` header as compact JWS (RFC 7515 §7.1) or as
 * base64url of the flattened JSON. A refusal is 403 application/problem+json (RFC 9457) whose
 * `reason` is the verifyAction reason; an allowed request carries the verdict in
 * `request.agentAction` for the handler and the audit trail. Replays are refused by default
 * (an in-memory jti cache per guard).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CertificateInput } from '../../actions/chain.js';
import { MemoryReplayCache, type ReplayGuard } from '../../actions/replay-cache.js';
import type { ActionAllowed, ActionAmount, ActionDenied, StatusSource } from '../../actions/types.js';
import { verifyAction } from '../../actions/verify.js';
import { loadCertificates } from '../../actions/chain.js';
import type { Clock } from '../../clock.js';
import { AgentCaError, isAgentCaError } from '../../errors.js';
import { sendProblem } from '../problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireAgentAction on routes it guards, once the action is allowed. */
    agentAction?: ActionAllowed;
  }
}

export const AGENT_ACTION_HEADER = 'agentca-action';

export interface RequireAgentActionOptions {
  /** The action this route performs; the envelope must sign exactly it and the certificate's scope must permit it. */
  scope: string;
  trustAnchors: CertificateInput | readonly CertificateInput[];
  intermediates?: CertificateInput | readonly CertificateInput[];
  status: StatusSource;
  amountFrom?(request: FastifyRequest): ActionAmount | undefined;
  marketFrom?(request: FastifyRequest): string | undefined;
  /** The bytes whose SHA-256 the envelope signs (e.g. the raw body); unchecked when absent. */
  payloadFrom?(request: FastifyRequest): Uint8Array | string | undefined;
  /** Header name, case-insensitive. Default `AgentCA-Action`. */
  header?: string;
  clock?: Clock;
  maxAgeSeconds?: number;
  /** Default: a MemoryReplayCache for this guard; false turns replay checks off. */
  replay?: ReplayGuard | false;
  oidArc?: string;
  /** Called with every refusal (logs, metrics, risk events: a denied scope is a scope-boundary test). */
  onDeny?(request: FastifyRequest, verdict: ActionDenied): void;
}

function denied(reply: FastifyReply, verdict: ActionDenied): FastifyReply {
  const body = {
    type: `urn:agent-ca:action-denied:${verdict.reason}`,
    title: 'agent action denied',
    status: 403,
    detail: verdict.detail,
    code: 'ACA_ERR_ACTION_DENIED',
    reason: verdict.reason,
    ...(verdict.serial ? { serial: verdict.serial } : {}),
    ...(verdict.agentId ? { agentId: verdict.agentId } : {}),
  };
  return reply.code(403).type('application/problem+json').send(JSON.stringify(body));
}

export function requireAgentAction(
  opts: RequireAgentActionOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  // Parse the anchors once, at route definition: a bad file fails the server start, not a request.
  const trustAnchors = loadCertificates(opts.trustAnchors);
  if (trustAnchors.length === 0)
    throw new AgentCaError('CONFIG_INVALID', 'requireAgentAction needs at least one trust anchor');
  const intermediates = loadCertificates(opts.intermediates);
  const header = (opts.header ?? AGENT_ACTION_HEADER).toLowerCase();
  const replay = opts.replay === false ? undefined : (opts.replay ?? new MemoryReplayCache());

  return async (request, reply) => {
    const refuse = (verdict: ActionDenied): FastifyReply => {
      opts.onDeny?.(request, verdict);
      return denied(reply, verdict);
    };
    const value = request.headers[header];
    if (typeof value !== 'string' || value.length === 0) {
      return refuse({
        allow: false,
        reason: 'malformed',
        detail: `exactly one ${opts.header ?? 'AgentCA-Action'} header with a signed action is required`,
      });
    }
    try {
      const amount = opts.amountFrom?.(request);
      const market = opts.marketFrom?.(request);
      const payload = opts.payloadFrom?.(request);
      const verdict = await verifyAction(value, {
        action: opts.scope,
        ...(amount ? { amount } : {}),
        ...(market !== undefined ? { market } : {}),
        ...(payload !== undefined ? { payload } : {}),
        trustAnchors,
        intermediates,
        status: opts.status,
        ...(opts.clock ? { clock: opts.clock } : {}),
        ...(opts.maxAgeSeconds !== undefined ? { maxAgeSeconds: opts.maxAgeSeconds } : {}),
        ...(replay ? { replay } : {}),
        ...(opts.oidArc ? { oidArc: opts.oidArc } : {}),
      });
      if (!verdict.allow) return refuse(verdict);
      request.agentAction = verdict;
      return undefined;
    } catch (e) {
      // A request whose amount or market is not even well-formed: the client's fault, 400.
      if (isAgentCaError(e) && e.httpStatus < 500) return sendProblem(reply, e);
      throw e;
    }
  };
}
