/**
 * The credential timeline: every committed lifecycle act on the subject's certificates and keys
 * (issue, renew, hold, release, revoke, key creation and scheduled deletion), with time, actor
 * (the admin token's name, `risk-engine`, `library`...) and reason, read from the audit
 * entries that record the outcome (`*.requested` and `*.failed` entries stay in the evidence
 * but are not acts that happened).
 */
import type { AuditEntry } from '../store/ports.js';
import type { TimelineEntry } from './types.js';

const ACTS = new Set([
  'issue',
  'renew',
  'hold',
  'release',
  'revoke',
  'key.created',
  'key.deletion-scheduled',
  'key.deletion-failed',
]);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function timelineEntry(e: AuditEntry): TimelineEntry | undefined {
  if (!ACTS.has(e.action)) return undefined;
  const d = e.details;
  // Lifecycle entries name the certificate as their subject (hex serial) or in details.serial.
  const serial = str(d.serial) ?? (/^[0-9a-f]{16,40}$/i.test(e.subject) ? e.subject : undefined);
  const explanation = d.explanation as { score?: number } | undefined;
  const notes: string[] = [];
  const score = typeof d.score === 'number' ? d.score : explanation?.score;
  if (typeof score === 'number') notes.push(`risk score ${score}`);
  if (str(d.renewalOf)) notes.push(`renews ${str(d.renewalOf)}`);
  if (str(d.notAfter) && (e.action === 'issue' || e.action === 'renew')) notes.push(`valid to ${str(d.notAfter)}`);
  if (str(d.keyUri)) notes.push(`key ${str(d.keyUri)}`);
  if (str(d.deletionDate)) notes.push(`deletion on ${str(d.deletionDate)}`);
  if (str(d.error)) notes.push(`error: ${str(d.error)}`);
  const reason = str(d.reason);
  return {
    seq: e.seq,
    time: e.time.toISOString(),
    action: e.action,
    ...(serial !== undefined ? { serial } : {}),
    actor: e.actor,
    ...(reason !== undefined ? { reason } : {}),
    ...(notes.length ? { note: notes.join('; ') } : {}),
  };
}
