/**
 * GET /crl/{root,intermediate}{,-delta}.crl — the URLs the certificates' CRL Distribution
 * Points and Freshest CRL name. DER `application/pkix-crl` (RFC 5280 §4.2.1.13); PEM for
 * `.pem` or `Accept: application/x-pem-file`; caching from nextUpdate, ETag, 304.
 */
import type { FastifyInstance } from 'fastify';
import { toPem } from '../../asn1/pem.js';
import type { Clock } from '../../clock.js';
import type { CrlService } from '../../crl/service.js';
import { AgentCaError } from '../../errors.js';
import { schemas } from '../schemas/public.js';
import { useContract } from '../schemas/validation.js';

export const CRL_MAX_AGE_SECONDS = 30;

export async function crlRoutes(app: FastifyInstance, opts: { crls: CrlService; clock: Clock }): Promise<void> {
  useContract(app);
  app.get<{ Params: { name: string } }>('/crl/:name', { schema: schemas.crl }, async (request, reply) => {
    const m = request.params.name.match(/^(root|intermediate)(-delta)?\.(crl|pem)$/);
    if (!m)
      throw new AgentCaError(
        'HTTP_NOT_FOUND',
        `no CRL named ${request.params.name} (root.crl, root-delta.crl, intermediate.crl, intermediate-delta.crl)`,
      );
    const record = await opts.crls.latest(m[1]!, m[2] ? 'delta' : 'full');
    if (!record) throw new AgentCaError('STORE_UNAVAILABLE', 'no CRL has been published yet; retry shortly');
    const etag = `"${record.issuerId}-${record.kind}-${record.number.toString()}"`;
    const secondsLeft = Math.max(0, Math.floor((record.nextUpdate.getTime() - opts.clock.now().getTime()) / 1000));
    reply.header('etag', etag);
    reply.header('last-modified', record.thisUpdate.toUTCString());
    reply.header('expires', record.nextUpdate.toUTCString());
    // A change publishes a new delta, and a new full CRL while it is small, within 5 s; 30 s of
    // caching keeps a polling client (agent-ca crl sync, an HTTP cache) inside the 60 s promise.
    // nextUpdate stays long: past it, OpenSSL-based gateways refuse every client, so it is the
    // outage margin, not a refresh hint (docs/revocation-freshness.md).
    reply.header('cache-control', `public, max-age=${Math.min(CRL_MAX_AGE_SECONDS, secondsLeft)}, no-transform`);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    const wantsPem = m[3] === 'pem' || /application\/x-pem-file/.test(request.headers.accept ?? '');
    if (wantsPem) return reply.type('application/x-pem-file').send(toPem(record.der, 'X509 CRL'));
    return reply.type('application/pkix-crl').send(record.der);
  });
}
