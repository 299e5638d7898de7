/**
 * The subject's risk score over time, recomputed from the log the way the engine computed it:
 * the `events.ingested` entries (with the flags recorded at ingest) are replayed into the same
 * rolling windows (src/risk/window.ts) from one window span before the range, and the pure
 * feature and score functions (src/risk/features.ts, score.ts) are evaluated once per window
 * bucket in which the subject had events, at the last such entry's time. Warnings, holds,
 * releases and automatic revocations carry the score and explanation the engine recorded; they
 * are listed as incidents (GDPR Art. 22: why the agent was stopped) and added to the curve.
 */
import { describeCertificate } from '../asn1/certificate-describe.js';
import { RISK_ACTOR } from '../risk/actions.js';
import { INGEST_ACTION, readBatch } from '../risk/audit-record.js';
import { tenantRiskConfig, type RiskConfig, type TenantRiskConfig } from '../risk/config.js';
import { amountLogOf, extractFeatures, type CertificateFacts } from '../risk/features.js';
import { combineFeatures, type RiskBand, type RiskReason } from '../risk/score.js';
import { AgentWindow, bucketOf } from '../risk/window.js';
import type { AuditEntry, CertificateRecord } from '../store/ports.js';
import type { RiskIncident, RiskPoint } from './types.js';

interface Tracked {
  facts: CertificateFacts;
  cfg: TenantRiskConfig;
  /** created at the certificate's first event (54 KiB each: most of a tenant's may have none) */
  window: AgentWindow | undefined;
  /** bucket with events not yet scored, and the time to score it at */
  pendingBucket: number;
  pendingAt: number;
}

const INCIDENT_KINDS: Readonly<Record<string, string>> = {
  'risk.warning': 'warning',
  hold: 'hold',
  release: 'release',
  revoke: 'revocation',
};

export class RiskReplay {
  readonly points: RiskPoint[] = [];
  readonly incidents: RiskIncident[] = [];
  events = 0;
  private readonly tracked = new Map<string, Tracked>();
  private readonly bucketMs: number;

  constructor(
    private readonly config: RiskConfig,
    records: readonly CertificateRecord[],
    oidArc: string,
  ) {
    this.bucketMs = config.window.bucketMs;
    for (const r of records) {
      const d = describeCertificate(r.der, oidArc);
      const facts: CertificateFacts = {
        ...(d.agent.agentScope ? { scope: d.agent.agentScope } : {}),
        ...(d.agent.agentPolicy ? { policy: d.agent.agentPolicy } : {}),
      };
      const cfg = tenantRiskConfig(config, d.agent.agentContext?.tenantId ?? r.tenant);
      this.tracked.set(r.serial, { facts, cfg, window: undefined, pendingBucket: -1, pendingAt: 0 });
    }
  }

  /** Bands of the subject: its tenant's (the first certificate's), else the defaults. */
  thresholds(): TenantRiskConfig['thresholds'] {
    return this.tracked.values().next().value?.cfg.thresholds ?? tenantRiskConfig(this.config, undefined).thresholds;
  }

  /** One audit entry, in log order; `inRange` says whether it falls inside the report's range. */
  add(entry: AuditEntry, inRange: boolean): void {
    if (entry.action === INGEST_ACTION) return this.ingest(entry, inRange);
    if (!inRange) return;
    const kind = INCIDENT_KINDS[entry.action];
    if (!kind || !this.tracked.has(entry.subject)) return;
    const d = entry.details;
    // Holds, releases and revocations by a human carry no score: they are the timeline's, not the engine's.
    if (kind !== 'warning' && entry.actor !== RISK_ACTOR) return;
    const explanation = (d.explanation ?? {}) as { score?: number; band?: RiskBand; reasons?: RiskReason[] };
    const score =
      typeof d.score === 'number' ? d.score : typeof explanation.score === 'number' ? explanation.score : NaN;
    if (!Number.isFinite(score)) return;
    this.flush(entry.subject, Number.POSITIVE_INFINITY);
    this.incidents.push({
      seq: entry.seq,
      time: entry.time.toISOString(),
      kind,
      serial: entry.subject,
      actor: entry.actor,
      score,
      ...(explanation.band ? { band: explanation.band } : {}),
      reasons: Array.isArray(explanation.reasons) ? explanation.reasons : [],
    });
    this.points.push({ t: entry.time.getTime(), score });
  }

  private ingest(entry: AuditEntry, inRange: boolean): void {
    const entryMs = entry.time.getTime();
    const bucket = bucketOf(entryMs, this.bucketMs);
    for (const ev of readBatch(entry.details)) {
      const t = this.tracked.get(ev.serial);
      if (!t) continue;
      if (inRange && t.pendingBucket !== bucket) this.flush(ev.serial, bucket);
      const amountLog = amountLogOf(ev, t.facts);
      // readBatch hands out a fresh increment per event: completing it in place saves a copy per event.
      if (amountLog !== undefined) ev.increment.amountLog = amountLog;
      (t.window ??= new AgentWindow(this.config.window)).add(Math.min(ev.timeMs, entryMs), ev.increment);
      if (inRange) {
        this.events++;
        t.pendingBucket = bucket;
        t.pendingAt = entryMs;
      }
    }
  }

  /** Scores a serial's pending bucket if it is before `beforeBucket`. */
  private flush(serial: string, beforeBucket: number): void {
    const t = this.tracked.get(serial);
    if (!t?.window || t.pendingBucket < 0 || t.pendingBucket >= beforeBucket) return;
    const features = extractFeatures(t.window, t.pendingAt, t.cfg.features);
    this.points.push({ t: t.pendingAt, score: combineFeatures(features, t.cfg).value });
    t.pendingBucket = -1;
  }

  /** Scores what is pending; points in time order. */
  finish(): { points: RiskPoint[]; incidents: RiskIncident[]; events: number; maxScore: number } {
    for (const serial of this.tracked.keys()) this.flush(serial, Number.POSITIVE_INFINITY);
    this.points.sort((a, b) => a.t - b.t);
    const maxScore = this.points.reduce((m, p) => Math.max(m, p.score), 0);
    return { points: this.points, incidents: this.incidents, events: this.events, maxScore };
  }
}
