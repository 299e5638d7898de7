/** Baseline (a) for the OCSP bench: a bare fastify route answering fixed bytes of the same size. */
import Fastify from 'fastify';

const size = Number(process.argv[2] ?? 900);
const body = Buffer.alloc(size, 0x30);
const app = Fastify({ logger: false });
app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer' }, (_r, b, done) => done(null, b));
app.post('/ocsp', async (_req, reply) => reply.type('application/ocsp-response').send(body));
app.get('/ocsp/*', async (_req, reply) => reply.type('application/ocsp-response').send(body));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${url}\n`);
