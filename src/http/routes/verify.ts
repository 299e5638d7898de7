/**
 * GET /api/v1/verify/{serial}: public, no account. What a counterparty needs to decide
 * whether to trust an agent's action: operator, scope, model hash, validity and status.
 * Cacheable (docs/tenancy.md): `Cache-Control: public, max-age` of at most 60 s, so a cache
 * never hides a revocation longer than the revocation promise, and a strong ETag over the
 * answer (without its checkedAt) for conditional requests (RFC 9110 §8.8.3, §13.1.2).
 * `Accept: application/jose` gets the same JSON as a compact JWS (RFC 7515) signed by the
 * intermediate's delegated OCSP responder key, with x5c = [responder, intermediate]: a
 * counterparty checks it offline against the root it trusts.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { compactOf, signJws } from '../../actions/jws.js';
import type { Authority, CertificateView } from '../../authority/authority.js';
import { describeCertificate } from '../../asn1/certificate-describe.js';
import { toPem } from '../../asn1/pem.js';
import { schemas } from '../schemas/public.js';
import { useContract } from '../schemas/validation.js';

export async function publicVerifyJson(authority: Authority, view: CertificateView) {
  const r = view.record;
  const d = describeCertificate(r.der, authority.config.oidArc);
  const chain = [];
  for (const name of ['intermediate', 'root'] as const) {
    if (name === 'intermediate' && r.issuerId === 'root') continue;
    const ca = authority.ca(name);
    const caView = await authority.show(ca.certificate.serial);
    chain.push({
      name,
      serial: ca.certificate.serial,
      subject: caView.record.subject,
      notAfter: ca.certificate.notAfter.toISOString(),
      status: caView.status.state,
      pem: toPem(ca.certificate.der),
    });
  }
  return {
    serial: r.serial,
    subject: d.subject,
    operator: d.subjectFields.organization ?? null,
    agentId: r.agentId ?? d.subjectFields.commonName ?? null,
    subjectAltNames: d.subjectAltNames ?? { dns: [], uri: [] },
    scope: d.agent.agentScope ?? [],
    policy: d.agent.agentPolicy ?? null,
    modelHash: d.agent.modelHash ?? null,
    tenant: d.agent.agentContext?.tenantId ?? r.tenant ?? null,
    environment: d.agent.agentContext?.environment ?? null,
    agentInstanceId: d.agent.agentContext?.agentInstanceId ?? null,
    validity: { notBefore: d.notBefore, notAfter: d.notAfter },
    status: view.status.state,
    revocation: view.status.revokedAt
      ? {
          time: view.status.revokedAt.toISOString(),
          reason: view.status.reason,
          ...(view.status.inheritedFrom ? { viaIssuer: view.status.inheritedFrom } : {}),
        }
      : null,
    extensionParseErrors: d.agent.parseErrors,
    fingerprintSha256: d.fingerprintSha256,
    issuerChain: chain,
    checkedAt: authority.clock.now().toISOString(),
  };
}

/** The JWS `typ` of a signed verification answer. */
export const VERIFY_JWS_TYPE = 'agent-ca-verify+jws';
/** The revocation promise: no cache may keep an answer longer. */
const MAX_AGE_CEILING = 60;

function wantsJose(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((t) => t.trim().split(';')[0]!.trim().toLowerCase() === 'application/jose');
}

async function signedAnswer(authority: Authority, body: unknown): Promise<string> {
  const responder = authority.ca('intermediate').responder;
  const header = {
    typ: VERIFY_JWS_TYPE,
    x5c: [responder.certificate.der, authority.ca('intermediate').certificate.der].map((d) =>
      Buffer.from(d).toString('base64'),
    ),
  };
  return compactOf(await signJws(responder.signer, header, JSON.stringify(body)));
}

export async function verifyRoutes(
  app: FastifyInstance,
  opts: { authority: Authority; maxAgeSeconds?: number },
): Promise<void> {
  useContract(app);
  const maxAge = Math.max(0, Math.min(MAX_AGE_CEILING, Math.floor(opts.maxAgeSeconds ?? MAX_AGE_CEILING)));
  app.get<{ Params: { serial: string } }>(
    '/api/v1/verify/:serial',
    { schema: schemas.verify },
    async (request, reply) => {
      const view = await opts.authority.show(request.params.serial);
      const body = await publicVerifyJson(opts.authority, view);
      const jose = wantsJose(request.headers.accept);
      const { checkedAt: _t, ...stable } = body;
      const etag = `"${createHash('sha256').update(JSON.stringify(stable)).digest('base64url').slice(0, 27)}${jose ? '-jws' : ''}"`;
      reply.header('cache-control', `public, max-age=${maxAge}`);
      reply.header('etag', etag);
      reply.header('vary', 'Accept');
      const inm = request.headers['if-none-match'];
      if (
        inm &&
        inm
          .split(',')
          .map((t) => t.trim().replace(/^W\//, ''))
          .includes(etag)
      )
        return reply.code(304).send();
      if (jose) return reply.type('application/jose').send(await signedAnswer(opts.authority, body));
      return body;
    },
  );
}
