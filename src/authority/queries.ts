/** Read-only views over what the authority issued: list with filters, and expiring announcements. */
import type { CertificateStatus, CertificateState } from '../revocation/status.js';
import type { CertificateRecord } from '../store/ports.js';
import type { Serial } from '../types.js';
import type { Authority } from './authority.js';

export interface CertificateView {
  record: CertificateRecord;
  status: CertificateStatus;
}

export interface ListFilter {
  agentId?: string;
  tenant?: string;
  status?: CertificateState;
  /** Include CA and responder certificates (default false). */
  includeCa?: boolean;
}

export async function listCertificates(a: Authority, filter: ListFilter = {}): Promise<CertificateView[]> {
  let records: CertificateRecord[];
  if (filter.agentId !== undefined) records = await a.store.certificates.listByAgent(filter.agentId);
  else if (filter.tenant !== undefined) records = await a.store.certificates.listByTenant(filter.tenant);
  else {
    records = [];
    for await (const r of a.store.certificates.iterate()) records.push(r);
  }
  const out: CertificateView[] = [];
  for (const record of records) {
    // CA and OCSP-responder certificates are the CA's own, not agents: only on request.
    if (!filter.includeCa && (record.isCa || record.profile === 'ocsp-responder')) continue;
    if (filter.tenant !== undefined && record.tenant !== filter.tenant) continue;
    const status = await a.statusOf(record);
    if (filter.status && status.state !== filter.status) continue;
    out.push({ record, status });
  }
  return out.sort((x, y) => x.record.issuedAt.getTime() - y.record.issuedAt.getTime());
}

/** certificate.expiring for good agent certificates ending within `withinMs` that pass `filter`. */
export async function announceExpiring(
  a: Authority,
  withinMs: number,
  filter: (serial: Serial) => boolean,
): Promise<CertificateRecord[]> {
  const now = a.clock.now();
  const soon = await a.store.certificates.listExpiringBefore(new Date(now.getTime() + withinMs), { from: now });
  const out: CertificateRecord[] = [];
  for (const r of soon) {
    if (r.isCa || r.profile === 'ocsp-responder' || !filter(r.serial)) continue;
    if ((await a.statusOf(r)).state !== 'good') continue;
    out.push(r);
    a.hooks.emit('certificate.expiring', {
      serial: r.serial,
      issuerId: r.issuerId,
      ...(r.agentId ? { agentId: r.agentId } : {}),
      ...(r.tenant ? { tenant: r.tenant } : {}),
      at: now,
      actor: 'scheduler',
      notAfter: r.notAfter,
    });
  }
  return out;
}
