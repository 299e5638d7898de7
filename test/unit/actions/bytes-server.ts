/** An HTTP server on 127.0.0.1 whose every answer is whatever `answer` returns for the request body (crafted OCSP responses, CRLs). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BytesServer {
  baseUrl: string;
  answer: (body: Buffer) => Promise<Buffer>;
  close(): Promise<void>;
}

export async function startBytesServer(contentType: string): Promise<BytesServer> {
  const s: BytesServer = { baseUrl: '', answer: async () => Buffer.alloc(0), close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      s.answer(Buffer.concat(chunks)).then(
        (der) => res.writeHead(200, { 'content-type': contentType }).end(der),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}
