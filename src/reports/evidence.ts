/**
 * evidence.jsonl: the audit entries from the first entry of the range up to the signed
 * checkpoint that closes it, one JSON line per entry in seq order, exactly as
 * `agent-ca audit export` writes them (src/audit/export.ts), so the hash of each line's entry
 * can be recomputed and the chain followed to the checkpoint's signed hash.
 *
 * Entries about other agents (or tenants), and entries after the range, are REDACTED to
 * `{"seq","prevHash","hash","redacted":true}`: they keep the chain continuous without
 * disclosing another party's data (GDPR Art. 32). A redacted line's hash cannot be recomputed,
 * only linked; docs/compliance-reports.md says what that does and does not prove.
 */
import { createHash, type Hash } from 'node:crypto';
import { entryToJsonLine } from '../audit/export.js';
import type { AuditEntry } from '../store/ports.js';
import type { ReportSubject } from './identity.js';

/** True when the entry is about one of the subject's certificates or agents. */
export function entryConcerns(e: AuditEntry, subject: Pick<ReportSubject, 'serials' | 'agentIds'>): boolean {
  if (subject.serials.has(e.subject) || subject.agentIds.has(e.subject)) return true;
  const d = e.details;
  if (typeof d.serial === 'string' && subject.serials.has(d.serial)) return true;
  if (typeof d.agentId === 'string' && subject.agentIds.has(d.agentId)) return true;
  // Event batches about several certificates name them all (src/risk/audit-record.ts).
  return Array.isArray(d.serials) && d.serials.some((s) => typeof s === 'string' && subject.serials.has(s));
}

export function redactedLine(e: Pick<AuditEntry, 'seq' | 'prevHash' | 'hash'>): string {
  return `${JSON.stringify({ seq: e.seq, prevHash: e.prevHash, hash: e.hash, redacted: true })}\n`;
}

export class EvidenceWriter {
  private readonly chunks: Buffer[] = [];
  private readonly sha: Hash = createHash('sha256');
  bytes = 0;
  entries = 0;
  inScope = 0;
  redacted = 0;
  first: AuditEntry | undefined;
  last: AuditEntry | undefined;

  add(e: AuditEntry, full: boolean): void {
    const line = Buffer.from(full ? entryToJsonLine(e) : redactedLine(e), 'utf8');
    this.chunks.push(line);
    this.sha.update(line);
    this.bytes += line.length;
    this.entries++;
    if (full) this.inScope++;
    else this.redacted++;
    this.first ??= e;
    this.last = e;
  }

  /** The file's bytes and SHA-256 (hex); call once. */
  finish(): { data: Buffer; sha256: string } {
    return { data: Buffer.concat(this.chunks, this.bytes), sha256: this.sha.digest('hex') };
  }
}
