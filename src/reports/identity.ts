/**
 * The report's subject: which certificates belong to the agent (or tenant), what each one says
 * (scope, policy, model hash, tenant, environment: its signed extensions, decoded from the DER),
 * its status, and the chain to the root with SHA-256 fingerprints, so a reader can match every
 * certificate against the one `openssl x509 -fingerprint -sha256` prints.
 */
import { createHash } from 'node:crypto';
import { describeCertificate } from '../asn1/certificate-describe.js';
import { pemOrDer } from '../asn1/pem.js';
import { AgentCaError } from '../errors.js';
import type { CertificateRecord } from '../store/ports.js';
import type { ReportRequest } from './request.js';
import { subjectText } from './request.js';
import type { ChainCertificate, ReportCertificate, ReportHost } from './types.js';

export interface ReportSubject {
  /** Every agent certificate of the subject, in issue order (the in-scope test of evidence.ts). */
  records: CertificateRecord[];
  serials: ReadonlySet<string>;
  agentIds: ReadonlySet<string>;
}

/** REPORT_SUBJECT_UNKNOWN when the CA never issued to this agent or tenant. */
export async function loadSubject(host: ReportHost, req: ReportRequest): Promise<ReportSubject> {
  const all =
    req.agentId !== undefined
      ? await host.store.certificates.listByAgent(req.agentId)
      : await host.store.certificates.listByTenant(req.tenant!);
  const records = all
    .filter((r) => !r.isCa && r.profile !== 'ocsp-responder' && (req.tenant === undefined || r.tenant === req.tenant))
    .sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime());
  if (records.length === 0) {
    throw new AgentCaError(
      'REPORT_SUBJECT_UNKNOWN',
      `no certificate was ever issued to ${subjectText(req)}`,
      req.agentId !== undefined ? { agentId: req.agentId } : { tenant: req.tenant },
    );
  }
  return {
    records,
    serials: new Set(records.map((r) => r.serial)),
    agentIds: new Set(records.flatMap((r) => (r.agentId !== undefined ? [r.agentId] : []))),
  };
}

function policyText(
  p:
    | {
        maxTransactionSize?: { amount: string; currency: string };
        allowedMarkets?: string[];
        revocationTimeoutSeconds?: number;
      }
    | undefined,
): string {
  if (!p) return 'none';
  const parts: string[] = [];
  if (p.maxTransactionSize)
    parts.push(`max ${p.maxTransactionSize.amount} ${p.maxTransactionSize.currency} per transaction`);
  if (p.allowedMarkets) parts.push(`markets ${p.allowedMarkets.join(', ')}`);
  if (p.revocationTimeoutSeconds !== undefined)
    parts.push(`revocation honoured within ${p.revocationTimeoutSeconds} s`);
  return parts.length ? parts.join('; ') : 'none';
}

/** Certificates whose validity overlaps the range (or that were issued in it). */
export async function reportCertificates(
  host: ReportHost,
  subject: ReportSubject,
  req: ReportRequest,
): Promise<ReportCertificate[]> {
  const out: ReportCertificate[] = [];
  for (const r of subject.records) {
    const overlaps = r.notBefore.getTime() < req.to.getTime() && r.notAfter.getTime() >= req.from.getTime();
    if (!overlaps) continue;
    const d = describeCertificate(r.der, host.config.oidArc);
    const status = await host.statusOf(r);
    out.push({
      serial: r.serial,
      ...(r.agentId !== undefined ? { agentId: r.agentId } : {}),
      ...((d.agent.agentContext?.tenantId ?? r.tenant) !== undefined
        ? { tenant: d.agent.agentContext?.tenantId ?? r.tenant }
        : {}),
      ...(d.agent.agentContext?.environment !== undefined ? { environment: d.agent.agentContext.environment } : {}),
      ...(d.subjectFields.organization !== undefined ? { operator: d.subjectFields.organization } : {}),
      subject: d.subject,
      profile: r.profile,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      issuedAt: r.issuedAt.toISOString(),
      ...(r.renewalOf !== undefined ? { renewalOf: r.renewalOf } : {}),
      scope: d.agent.agentScope ?? [],
      policy: policyText(d.agent.agentPolicy),
      ...(d.agent.modelHash ? { modelHash: `${d.agent.modelHash.algorithm}:${d.agent.modelHash.digest}` } : {}),
      status: {
        state: status.state,
        ...(status.reason !== undefined ? { reason: status.reason } : {}),
        ...(status.revokedAt !== undefined ? { revokedAt: status.revokedAt.toISOString() } : {}),
      },
      fingerprintSha256: d.fingerprintSha256,
    });
  }
  return out;
}

export function chainCertificates(host: ReportHost): ChainCertificate[] {
  const pems = host.chain();
  return (['root', 'intermediate'] as const).map((name) => {
    const der = pemOrDer(pems[name], ['CERTIFICATE']);
    const d = describeCertificate(der, host.config.oidArc);
    return {
      name,
      subject: d.subject,
      serial: d.serial,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      fingerprintSha256: createHash('sha256').update(der).digest('hex'),
      pem: pems[name],
    };
  });
}
