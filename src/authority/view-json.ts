/** A certificate and its status as JSON: what `agent-ca show` prints and the admin API returns. */
import { describeCertificate } from '../asn1/certificate-describe.js';
import type { CertificateView } from './authority.js';

export function viewJson(v: CertificateView, arc?: string) {
  const r = v.record;
  return {
    serial: r.serial,
    status: v.status.state,
    ...(v.status.reason ? { reason: v.status.reason } : {}),
    ...(v.status.revokedAt ? { revokedAt: v.status.revokedAt.toISOString() } : {}),
    ...(v.status.invalidityDate ? { invalidityDate: v.status.invalidityDate.toISOString() } : {}),
    ...(v.status.inheritedFrom ? { revokedVia: v.status.inheritedFrom } : {}),
    agentId: r.agentId ?? null,
    tenant: r.tenant ?? null,
    profile: r.profile,
    subject: r.subject,
    issuer: r.issuerId,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    issuedAt: r.issuedAt.toISOString(),
    ...(r.renewalOf ? { renewalOf: r.renewalOf } : {}),
    ...(r.keyUri ? { keyUri: r.keyUri } : {}),
    certificate: describeCertificate(r.der, arc),
  };
}
