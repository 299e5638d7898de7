/**
 * GET /api/v1/verify/{serial}: public, no account. What a counterparty needs to decide
 * whether to trust an agent's action: operator, scope, model hash, validity and status.
 */
import type { FastifyInstance } from 'fastify';
import type { Authority, CertificateView } from '../../authority/authority.js';
import { describeCertificate } from '../../asn1/certificate-describe.js';
import { toPem } from '../../asn1/pem.js';

export async function publicVerifyJson(authority: Authority, view: CertificateView) {
  const r = view.record;
  const d = describeCertificate(r.der, authority.config.oidArc);
  const chain = [];
  for (const name of ['intermediate', 'root'] as const) {
    if (name === 'intermediate' && r.issuerId === 'root') continue;
    const ca = authority.ca(name);
    const caView = await authority.show(ca.certificate.serial);
    chain.push({ name, serial: ca.certificate.serial, subject: caView.record.subject, notAfter: ca.certificate.notAfter.toISOString(), status: caView.status.state, pem: toPem(ca.certificate.der) });
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
      ? { time: view.status.revokedAt.toISOString(), reason: view.status.reason, ...(view.status.inheritedFrom ? { viaIssuer: view.status.inheritedFrom } : {}) }
      : null,
    extensionParseErrors: d.agent.parseErrors,
    fingerprintSha256: d.fingerprintSha256,
    issuerChain: chain,
    checkedAt: authority.clock.now().toISOString(),
  };
}

export async function verifyRoutes(app: FastifyInstance, opts: { authority: Authority }): Promise<void> {
  app.get<{ Params: { serial: string } }>('/api/v1/verify/:serial', async (request, reply) => {
    const view = await opts.authority.show(request.params.serial);
    reply.header('cache-control', 'no-store');
    return publicVerifyJson(opts.authority, view);
  });
}
