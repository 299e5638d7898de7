/**
 * Baseline (a) for the OCSP bench: a bare fastify route answering fixed bytes, with the same
 * response headers agent-ca sends on GET (RFC 5019 caching headers) and on POST, so both put
 * the same bytes on the wire and the difference is agent-ca's own work per request.
 *
 * First argument: a file whose bytes are served (the OCSP bench passes one of agent-ca's own
 * answers), or a size in octets (default 900).
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const what = process.argv[2] ?? '900';
const body = /^\d+$/.test(what) ? Buffer.alloc(Number(what), 0x30) : readFileSync(what);
/** Second argument: processes (node:cluster on one port, as `serve --workers N`); default 1. */
const processes = Number(process.argv[3] ?? 1);
if (processes > 1 && cluster.isPrimary) {
  const urls: string[] = [];
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (m: { url?: string }) => {
      if (typeof m.url === 'string') urls.push(m.url);
      if (urls.length === processes) process.stdout.write(`listening ${urls[0]}\n`);
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else {
  await serveBare();
}

async function serveBare(): Promise<void> {
  const now = new Date();
  const getHeaders = {
    'cache-control': 'max-age=60, public, no-transform, must-revalidate',
    etag: '"0123456789abcdefghijklmnopqrstuvwxyz"'.slice(0, 29),
    'last-modified': now.toUTCString(),
    expires: new Date(now.getTime() + 86_400_000).toUTCString(),
  };
  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
  app.post('/ocsp', async (_req, reply) =>
    reply.type('application/ocsp-response').header('cache-control', 'no-cache, no-store, must-revalidate').send(body),
  );
  app.get('/ocsp/*', async (_req, reply) => reply.type('application/ocsp-response').headers(getHeaders).send(body));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  if (cluster.isWorker) process.send?.({ url });
  else process.stdout.write(`listening ${url}\n`);
  // A clean exit on SIGTERM, so `node --cpu-prof` writes its profile.
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}
