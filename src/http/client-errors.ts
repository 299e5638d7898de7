/**
 * Errors Node's HTTP parser raises before any route runs (a request line or headers over
 * 16 KiB, bad syntax, a timeout). fastify answers them with a JSON body by default; here an
 * OCSP GET still gets OCSP DER (malformedRequest, RFC 6960 §2.3: `application/ocsp-response`
 * is promised for /ocsp whatever the input) and everything else problem+json (RFC 9457).
 *
 * The parser does not say which URL overflowed; it hands over the chunk it was reading
 * (`err.rawPacket`). That chunk either starts the request (`GET /ocsp/...`) or, when the
 * request arrived in several reads, continues an over-long line: a run of URL characters with
 * no line break cannot be a header block, so it is the rest of a request line, and every
 * request line that long is an OCSP GET in practice (no other route takes data in its path).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorResponse } from '../ocsp/response.js';

const OCSP_GET = /^GET \/ocsp\//;
const URL_RUN = /^[A-Za-z0-9%+/=_.~-]+(?: HTTP\/1\.[01]\r\n|$)/;

function wasOcspGet(raw: unknown): boolean {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return false;
  const head = raw.toString('latin1', 0, Math.min(raw.length, 4096));
  return OCSP_GET.test(head) || URL_RUN.test(head);
}

/** fastify's `clientErrorHandler`: answers in the language of the route the request was for. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'HPE_HEADER_OVERFLOW' && wasOcspGet((err as { rawPacket?: unknown }).rawPacket)) {
    const der = errorResponse('malformedRequest');
    socket.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: ${der.length}\r\nConnection: close\r\n\r\n`,
          'latin1',
        ),
        der,
      ]),
    );
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail =
    status === 431
      ? 'request line and headers exceed 16 KiB'
      : status === 408
        ? 'the request took too long to arrive'
        : 'the request could not be parsed as HTTP/1.1';
  const body = JSON.stringify({
    type: 'urn:agent-ca:error:ACA_ERR_INPUT_INVALID',
    title: STATUS_CODES[status],
    status,
    detail,
    code: 'ACA_ERR_INPUT_INVALID',
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
