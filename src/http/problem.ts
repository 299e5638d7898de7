/**
 * RFC 9457 problem details at the HTTP edge: every error leaves as application/problem+json
 * with the stable error code, never an HTML page or a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AgentCaError, isAgentCaError } from '../errors.js';
import { problemTitle } from './problem-titles.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [k: string]: unknown;
}

export function problemFrom(e: unknown): Problem {
  if (isAgentCaError(e)) {
    return {
      type: `urn:agent-ca:error:${e.code}`,
      title: problemTitle(e.code, e.httpStatus),
      status: e.httpStatus,
      detail: e.message,
      code: e.code,
      ...(Object.keys(e.details).length ? { details: e.details } : {}),
    };
  }
  const fe = e as FastifyError;
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    const code =
      fe.statusCode === 413
        ? 'ACA_ERR_HTTP_PAYLOAD_TOO_LARGE'
        : fe.statusCode === 404
          ? 'ACA_ERR_HTTP_NOT_FOUND'
          : 'ACA_ERR_INPUT_INVALID';
    return {
      type: `urn:agent-ca:error:${code}`,
      title: problemTitle(code, fe.statusCode),
      status: fe.statusCode,
      detail: fe.message,
      code,
    };
  }
  return {
    type: 'urn:agent-ca:error:ACA_ERR_INTERNAL',
    title: problemTitle('ACA_ERR_INTERNAL', 500),
    status: 500,
    detail: 'internal error',
    code: 'ACA_ERR_INTERNAL',
  };
}

/** RFC 9110 §10.2.3 Retry-After on 429/503 answers whose error says when to come back. */
function retryAfter(reply: FastifyReply, e: unknown): void {
  const s = isAgentCaError(e) ? e.details.retryAfterSeconds : undefined;
  if (typeof s === 'number' && Number.isFinite(s) && s > 0) void reply.header('retry-after', String(Math.ceil(s)));
}

export function sendProblem(reply: FastifyReply, e: unknown): FastifyReply {
  const p = problemFrom(e);
  retryAfter(reply, e);
  return reply.code(p.status).type('application/problem+json').send(JSON.stringify(p));
}

export function errorHandler(this: unknown, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const p = problemFrom(error);
  if (p.status >= 500) request.log.error({ err: error }, 'request failed');
  retryAfter(reply, error);
  void reply.code(p.status).type('application/problem+json').send(JSON.stringify(p));
}

export function notFound(request: FastifyRequest, reply: FastifyReply): void {
  void sendProblem(
    reply,
    new AgentCaError('HTTP_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
  );
}
