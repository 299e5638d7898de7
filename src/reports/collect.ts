/**
 * Collects one report's data in one streaming pass over the audit log in seq order (bounded
 * memory apart from the evidence file itself), from one risk-window span before the range to
 * the signed checkpoint that closes it: the risk replay, then for the subject's entries in the
 * range the timeline, trades and risk incidents, and from the range's first entry on,
 * evidence.jsonl (subject's entries in full, others redacted, src/reports/evidence.ts).
 * When no checkpoint closes the range yet, one is signed over the current head (the log's
 * on-demand checkpoint, src/audit/audit-log.ts), so every report ends at a signed hash.
 */
import { AgentCaError } from '../errors.js';
import { parseRiskConfig, type RiskConfig } from '../risk/config.js';
import { INGEST_ACTION } from '../risk/audit-record.js';
import { checkpointToJson } from '../audit/checkpoint.js';
import { EvidenceWriter, entryConcerns } from './evidence.js';
import { chainCertificates, loadSubject, reportCertificates } from './identity.js';
import type { ReportRequest } from './request.js';
import { RiskReplay } from './risk-history.js';
import { timelineEntry } from './timeline.js';
import { TradeTally } from './trades.js';
import type { CheckpointJson, ReportData, ReportHost, TimelineEntry } from './types.js';

export interface ReportProgress {
  phase: 'scan' | 'render' | 'package';
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

/** The seq of the first signed checkpoint at or after `seq`; signs one over the head when there is none. */
async function closingCheckpointSeq(host: ReportHost, seq: number): Promise<number> {
  for await (const cp of host.store.audit.iterateCheckpoints({ fromSeq: seq })) return cp.seq;
  const cp = await host.audit.checkpoint();
  if (!cp) throw new AgentCaError('INTERNAL', 'the audit log has entries but no head to checkpoint');
  return cp.seq;
}

export async function collectReport(
  host: ReportHost,
  req: ReportRequest,
  opts: CollectOptions,
): Promise<{ data: ReportData; evidence: { data: Buffer; sha256: string } }> {
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
  const writer = new EvidenceWriter();
  const fromMs = req.from.getTime();
  const lastMs = req.to.getTime() - 1; // [from, to): the store's toTime is inclusive
  // The replay starts one risk window before the range: the first entry of that span (time index).
  let startSeq: number | undefined;
  for await (const e of audit.iterate({
    fromTime: new Date(fromMs - riskConfig.limits.maxAgeMs),
    toTime: new Date(lastMs),
  })) {
    startSeq = e.seq;
    break;
  }
  let lastInRange = 0;
  let closingSeq: number | undefined;
  let n = 0;
  if (startSeq !== undefined) {
    // One pass in seq order (the log's order): replay, timeline, trades and evidence together.
    for await (const e of audit.iterate({ fromSeq: startSeq })) {
      if (++n % PROGRESS_EVERY === 0) progress('scan', e.seq);
      const t = e.time.getTime();
      if (t > lastMs && closingSeq === undefined) {
        if (lastInRange === 0) break;
        closingSeq = await closingCheckpointSeq(host, lastInRange);
      }
      if (closingSeq !== undefined && e.seq > closingSeq) break;
      const inRange = t >= fromMs && t <= lastMs;
      const concerns = entryConcerns(e, subject);
      if (inRange) lastInRange = e.seq;
      if (inRange || writer.first) writer.add(e, inRange && concerns);
      if (!concerns || t > lastMs) continue;
      replay.add(e, inRange);
      if (!inRange) continue;
      if (e.action === INGEST_ACTION) trades.add(e, subject.serials);
      const entry = timelineEntry(e);
      if (entry) timeline.push(entry);
    }
  }
  const checkpoints: CheckpointJson[] = [];
  if (lastInRange > 0) {
    // The log ended inside the range, or the closing checkpoint was signed after our read began.
    closingSeq ??= await closingCheckpointSeq(host, lastInRange);
    if (writer.last!.seq < closingSeq) {
      for await (const e of audit.iterate({ fromSeq: writer.last!.seq + 1, toSeq: closingSeq })) writer.add(e, false);
    }
    for await (const cp of audit.iterateCheckpoints({ fromSeq: writer.first!.seq, toSeq: closingSeq }))
      checkpoints.push(checkpointToJson(cp));
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
        ? {
            firstSeq: writer.first.seq,
            firstPrevHash: writer.first.prevHash,
            lastSeq: writer.last.seq,
            lastHash: writer.last.hash,
            entries: writer.entries,
            inScope: writer.inScope,
            redacted: writer.redacted,
          }
        : null,
    checkpoints,
  };
  return { data, evidence };
}
