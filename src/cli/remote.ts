/**
 * The CLI's path through a running server's admin API (`--server URL`, token from
 * AGENT_CA_TOKEN): while `serve` holds the data directory, state-changing commands go here.
 */
import { AgentCaError, ErrorCodes, type ErrorCodeName } from '../errors.js';
import { UsageError, type Io } from './args.js';

export function serverOf(v: { server?: string | undefined }, io: Io): string | undefined {
  return v.server ?? io.env.AGENT_CA_SERVER;
}

export async function adminCall<T>(
  server: string,
  io: Io,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  return JSON.parse((await adminRequest(server, io, method, path, body)).toString('utf8')) as T;
}

/** The response body as bytes (a PDF, a zip), with the same errors as adminCall. */
export async function adminRequest(
  server: string,
  io: Io,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Buffer> {
  const token = io.env.AGENT_CA_TOKEN;
  if (!token) throw new UsageError('--server needs an admin token in AGENT_CA_TOKEN (agent-ca token create)');
  let res: Response;
  try {
    res = await fetch(new URL(path, server.endsWith('/') ? server : `${server}/`), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new AgentCaError('STORE_UNAVAILABLE', `cannot reach ${server}: ${(e as Error).message}`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (!res.ok) {
    const text = bytes.toString('utf8');
    let code = 'INTERNAL' as ErrorCodeName;
    let detail = text;
    try {
      const p = JSON.parse(text) as { code?: string; detail?: string };
      const name = p.code?.replace(/^ACA_ERR_/, '') as ErrorCodeName | undefined;
      if (name && name in ErrorCodes) code = name;
      detail = p.detail ?? text;
    } catch {
      /* not problem+json */
    }
    throw new AgentCaError(code, `${server}: ${detail}`);
  }
  return bytes;
}
