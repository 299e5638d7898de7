/**
 * Collects one report's data in two streaming passes over the audit log (bounded memory apart
 * from the evidence file itself):
 *   1. by time, from one risk-window span before the range to its end: risk replay, and for
 *      the subject's entries in the range the timeline, trades and risk incidents;
 *   2. by seq, from the first entry of the range to the signed checkpoint that closes it:
 *      evidence.jsonl (subject's entries in full, others redacted, src/reports/evidence.ts).
 * When no checkpoint closes the range yet, one is signed over the current head (the log's
 * on-demand checkpoint, src/audit/audit-log.ts), so every report ends at a signed hash.
 */
import { AgentCaError } from '../errors.js';
import { parseRiskConfig, type RiskConfig } from '../risk/config.js';
import { INGEST_ACTION } from '../risk/audit-record.js';
import type { AuditCheckpoint } from '../store/ports.js';
import { EvidenceWriter, entryConcerns } from './evidence.js';
import { chainCertificates, loadSubject, reportCertificates } from './identity.js';
import type { ReportRequest } from './request.js';
import { RiskReplay } from './risk-history.js';
import { timelineEntry } from './timeline.js';
import { TradeTally } from './trades.js';
import type { CheckpointJson, ReportData, ReportHost, TimelineEntry } from './types.js';

export interface ReportProgress {
  phase: 'scan' | 'evidence' | 'render' | 'package';
  done: number;
  total: number;
}

export interface CollectOptions {
  reportId: string;
  generatedBy: string;
  software: { name: string; version: string };
  /** The risk engine's configuration (bands per tenant); defaults when absent. */
  riskConfig?: RiskConfig;
  onProgress?: (p: ReportProgress) => void;
}

const PROGRESS_EVERY = 5000;

export function checkpointJson(cp: AuditCheckpoint): CheckpointJson {
  return { seq: cp.seq, hash: cp.hash, time: cp.time.toISOString(), algorithm: cp.algorithm, keyUri: cp.keyUri, signature: cp.signature.toString('base64') };
}

export async function collectReport(host: ReportHost, req: ReportRequest, opts: CollectOptions): Promise<{ data: ReportData; evidence: { data: Buffer; sha256: string } }> {
  const subject = await loadSubject(host, req);
  const riskConfig = opts.riskConfig ?? parseRiskConfig();
  const audit = host.store.audit;
  const head = await audit.head();
  const total = head?.seq ?? 0;
  const progress = (phase: ReportProgress['phase'], done: number): void => opts.onProgress?.({ phase, done, total });

  // Pass 1: by time.
  const replay = new RiskReplay(riskConfig, subject.records, host.config.oidArc);
  const trades = new TradeTally();
  const timeline: TimelineEntry[] = [];
  const fromMs = req.from.getTime();
  const lastMs = req.to.getTime() - 1; // [from, to): the store's toTime is inclusive
  let firstSeq = Number.POSITIVE_INFINITY;
  let lastSeq = 0;
  let n = 0;
  for await (const e of audit.iterate({ fromTime: new Date(fromMs - riskConfig.limits.maxAgeMs), toTime: new Date(lastMs) })) {
    if (++n % PROGRESS_EVERY === 0) progress('scan', e.seq);
    const inRange = e.time.getTime() >= fromMs;
    if (inRange) {
      firstSeq = Math.min(firstSeq, e.seq);
      lastSeq = Math.max(lastSeq, e.seq);
    }
    const concerns = entryConcerns(e, subject);
    if (!concerns) continue;
    replay.add(e, inRange);
    if (!inRange) continue;
    if (e.action === INGEST_ACTION) trades.add(e, subject.serials);
    const t = timelineEntry(e);
    if (t) timeline.push(t);
  }

  // Pass 2: by seq, to the closing checkpoint.
  const writer = new EvidenceWriter();
  const checkpoints: CheckpointJson[] = [];
  if (lastSeq > 0) {
    let closing: AuditCheckpoint | undefined;
    for await (const cp of audit.iterateCheckpoints({ fromSeq: lastSeq })) {
      closing = cp;
      break;
    }
    closing ??= (await host.audit.checkpoint()) ?? undefined;
    if (!closing) throw new AgentCaError('INTERNAL', 'the audit log has entries but no head to checkpoint');
    for await (const cp of audit.iterateCheckpoints({ fromSeq: firstSeq, toSeq: closing.seq })) checkpoints.push(checkpointJson(cp));
    let m = 0;
    for await (const e of audit.iterate({ fromSeq: firstSeq, toSeq: closing.seq })) {
      if (++m % PROGRESS_EVERY === 0) progress('evidence', e.seq);
      const t = e.time.getTime();
      writer.add(e, t >= fromMs && t <= lastMs && entryConcerns(e, subject));
    }
  }
  const evidence = writer.finish();
  const risk = replay.finish();

  const data: ReportData = {
    request: req,
    generatedAt: host.clock.now().toISOString(),
    generatedBy: opts.generatedBy,
    software: opts.software,
    reportId: opts.reportId,
    operator: host.config.organization,
    certificates: await reportCertificates(host, subject, req),
    chain: chainCertificates(host),
    timeline,
    risk: { thresholds: replay.thresholds(), ...risk },
    trades: trades.result(),
    evidence:
      writer.first && writer.last
        ? { firstSeq: writer.first.seq, firstPrevHash: writer.first.prevHash, lastSeq: writer.last.seq, lastHash: writer.last.hash, entries: writer.entries, inScope: writer.inScope, redacted: writer.redacted }
        : null,
    checkpoints,
  };
  return { data, evidence };
}
