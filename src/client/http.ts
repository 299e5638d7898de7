/**
 * The SDK's HTTP: JSON over fetch with a bearer token, problem+json answers turned back into
 * typed AgentCaErrors (same stable codes as on the server), bounded by a timeout.
 */
import { AgentCaError, ErrorCodes, type ErrorCodeName } from '../errors.js';

export interface HttpOptions {
  baseUrl: string;
  token?: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

/** An error answer: the server's code, HTTP status and Retry-After (seconds) when given. */
export class AgentCaHttpError extends AgentCaError {
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  constructor(
    code: ErrorCodeName,
    message: string,
    status: number,
    details: Record<string, unknown>,
    retryAfterSeconds?: number,
  ) {
    super(code, message, details);
    this.name = 'AgentCaHttpError';
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export async function request<T>(
  o: HttpOptions,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ json: T; headers: Headers }> {
  const { bytes, headers: h } = await requestBytes(o, method, path, body, headers);
  const text = bytes.toString('utf8');
  const type = h.get('content-type') ?? '';
  return { json: (type.includes('json') ? JSON.parse(text) : text) as T, headers: h };
}

/** The answer's body as bytes (a PDF, a zip), with the same typed errors as request(). */
export async function requestBytes(
  o: HttpOptions,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ bytes: Buffer; headers: Headers }> {
  let res: Response;
  try {
    res = await o.fetch(new URL(path, o.baseUrl.endsWith('/') ? o.baseUrl : `${o.baseUrl}/`), {
      method,
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (e) {
    throw new AgentCaHttpError('STORE_UNAVAILABLE', `cannot reach ${o.baseUrl}: ${(e as Error).message}`, 0, {});
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (!res.ok) {
    const text = bytes.toString('utf8');
    let code: ErrorCodeName =
      res.status === 429 ? 'QUOTA_EXCEEDED' : res.status >= 500 ? 'STORE_UNAVAILABLE' : 'INTERNAL';
    let detail = text.slice(0, 500);
    let details: Record<string, unknown> = {};
    try {
      const p = JSON.parse(text) as { code?: string; detail?: string; details?: Record<string, unknown> };
      const name = p.code?.replace(/^ACA_ERR_/, '') as ErrorCodeName | undefined;
      if (name && name in ErrorCodes) code = name;
      detail = p.detail ?? detail;
      details = p.details ?? {};
    } catch {
      /* not problem+json */
    }
    const ra = Number(res.headers.get('retry-after'));
    throw new AgentCaHttpError(
      code,
      `${method} ${path}: ${detail}`,
      res.status,
      details,
      Number.isFinite(ra) && ra > 0 ? ra : undefined,
    );
  }
  return { bytes, headers: res.headers };
}
