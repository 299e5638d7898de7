/**
 * Forwarding a request to another process of the same host (the LevelDB primary, or the
 * PostgreSQL peer that owns risk ingestion) over loopback HTTP/1.1 with keep-alive. The
 * client's address travels in X-Forwarded-For; hop-by-hop headers (RFC 9110 §7.6.1) do not.
 */
import http from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

export function endToEndHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

export interface Upstream {
  url: URL;
  agent: http.Agent;
}

export function upstream(url: string): Upstream {
  return { url: new URL(url), agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) };
}

/** RFC 9457 problem+json for a forwarding failure (the other process is down or restarting). */
export function sendUnavailable(res: http.ServerResponse, detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    type: 'urn:agent-ca:error:ACA_ERR_STORE_UNAVAILABLE',
    title: 'ACA_ERR_STORE_UNAVAILABLE',
    status: 503,
    detail,
    code: 'ACA_ERR_STORE_UNAVAILABLE',
  });
  res.writeHead(503, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'retry-after': '1',
  });
  res.end(body);
}

export interface ForwardedAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function outgoingHeaders(req: http.IncomingMessage, body: Buffer | undefined): http.OutgoingHttpHeaders {
  const headers = endToEndHeaders(req.headers);
  const from = req.socket.remoteAddress;
  const before = req.headers['x-forwarded-for'];
  if (from) headers['x-forwarded-for'] = before ? `${String(before)}, ${from}` : from;
  if (body) headers['content-length'] = String(body.length);
  return headers;
}

/**
 * Sends `req` (its body from `body` when already read, else streamed from `req`) to `up` and
 * streams the answer back to `res` as it arrives (event streams included).
 */
export function forward(
  up: Upstream,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: { body?: Buffer; extraHeaders?: Record<string, string> } = {},
): void {
  const out = http.request(
    {
      host: up.url.hostname,
      port: up.url.port,
      method: req.method,
      path: req.url,
      headers: outgoingHeaders(req, opts.body),
      agent: up.agent,
    },
    (answer) => {
      const h = endToEndHeaders(answer.headers);
      if (opts.extraHeaders) Object.assign(h, opts.extraHeaders);
      res.writeHead(answer.statusCode ?? 502, h);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    },
  );
  out.on('error', (e) => sendUnavailable(res, `the owning process did not answer: ${e.message}`));
  // A client that goes away stops the forwarded request too (long-lived event streams).
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
  if (opts.body) out.end(opts.body);
  else req.pipe(out);
}

/** Conditional request headers: an answer fetched for several clients must be the full one. */
const CONDITIONAL = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

/**
 * Sends `req` (a GET, or a request whose body was read into `body`) to `up` without its
 * conditional headers and reads the whole answer: one answer that may serve every client
 * asking the same thing meanwhile (cache-worker.ts). Rejects when `up` does not answer.
 */
export function fetchWhole(up: Upstream, req: http.IncomingMessage, body?: Buffer): Promise<ForwardedAnswer> {
  const headers = outgoingHeaders(req, body);
  for (const h of CONDITIONAL) delete headers[h];
  if (!body) delete headers['content-length'];
  return new Promise((resolve, reject) => {
    const out = http.request(
      { host: up.url.hostname, port: up.url.port, method: req.method, path: req.url, headers, agent: up.agent },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
        );
        answer.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}
