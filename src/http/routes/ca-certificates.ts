/** GET /ca/{root,intermediate}.{cer,pem}: the AIA caIssuers targets (RFC 5280 §4.2.2.1 wants DER; PEM for people). */
import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../authority/authority.js';
import { toPem } from '../../asn1/pem.js';
import { AgentCaError } from '../../errors.js';
import { schemas } from '../schemas/public.js';
import { useContract } from '../schemas/validation.js';

export async function caCertificateRoutes(app: FastifyInstance, opts: { authority: Authority }): Promise<void> {
  useContract(app);
  app.get<{ Params: { name: string } }>('/ca/:name', { schema: schemas.caCertificate }, async (request, reply) => {
    const m = request.params.name.match(/^(root|intermediate)\.(cer|der|pem|crt)$/);
    if (!m) throw new AgentCaError('HTTP_NOT_FOUND', `no CA certificate named ${request.params.name}`);
    const der = opts.authority.ca(m[1] as 'root' | 'intermediate').certificate.der;
    reply.header('cache-control', 'public, max-age=86400');
    if (m[2] === 'pem') return reply.type('application/x-pem-file').send(toPem(der));
    return reply.type('application/pkix-cert').send(der);
  });
}
