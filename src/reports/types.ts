/**
 * What a compliance report holds once collected (collect.ts), before it is rendered (pdf/) and
 * packaged (package.ts). Every figure here is derived from the audit entries that go into
 * evidence.jsonl, or from certificates whose fingerprints the report prints, so a reader can
 * re-derive it (docs/compliance-reports.md).
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { CertificateStatus } from '../revocation/status.js';
import type { CertificateRecord, Store } from '../store/ports.js';
import type { RiskReason, RiskBand } from '../risk/score.js';
import type { RiskThresholds } from '../risk/config.js';
import type { ReportRequest } from './request.js';
import type { CheckpointJson } from '../audit/checkpoint.js';

export type { CheckpointJson };

/** The narrow slice of the authority a report reads (an Authority satisfies it). */
export interface ReportHost {
  readonly store: Store;
  /** Read at each use: the authority replaces its log when it loads. */
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly config: { readonly oidArc: string; readonly organization: string };
  statusOf(record: CertificateRecord): Promise<CertificateStatus>;
  /** PEM of the root and the issuing (intermediate) CA; the intermediate's key signs checkpoints. */
  chain(): { root: string; intermediate: string };
}

export interface ReportCertificate {
  serial: string;
  agentId?: string;
  tenant?: string;
  environment?: string;
  operator?: string;
  subject: string;
  profile: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  renewalOf?: string;
  scope: string[];
  /** "max 50000 USD per transaction; markets EUR_USD, GBP_USD" */
  policy: string;
  modelHash?: string;
  status: { state: string; reason?: string; revokedAt?: string };
  fingerprintSha256: string;
}

export interface ChainCertificate {
  name: 'root' | 'intermediate';
  subject: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  pem: string;
}

export interface TimelineEntry {
  seq: number;
  time: string;
  /** issue, renew, hold, release, revoke, key.created, key.deletion-scheduled, key.deletion-failed */
  action: string;
  serial?: string;
  actor: string;
  reason?: string;
  /** one line: the score behind an automatic action, the renewed serial, the key URI */
  note?: string;
}

export interface RiskPoint {
  /** ms since 1970 */
  t: number;
  score: number;
}

export interface RiskIncident {
  seq: number;
  time: string;
  /** warning | hold | release | revocation */
  kind: string;
  serial: string;
  actor: string;
  score: number;
  band?: RiskBand;
  reasons: RiskReason[];
}

export interface TradeGroup {
  market: string;
  currency: string;
  count: number;
  /** exact decimal sum of the amounts */
  total: string;
  breaches: number;
}

export interface TradeBreach {
  seq: number;
  time: string;
  serial: string;
  amount?: string;
  currency?: string;
  market?: string;
  /** 'amount over maxTransactionSize' and/or 'market not in allowedMarkets' */
  what: string[];
}

export interface TradeDay {
  /** YYYY-MM-DD (UTC) */
  day: string;
  count: number;
  breaches: number;
}

export interface EvidenceRange {
  firstSeq: number;
  /** prevHash of firstSeq: the hash of entry firstSeq - 1 in the live log */
  firstPrevHash: string;
  lastSeq: number;
  lastHash: string;
  entries: number;
  inScope: number;
  redacted: number;
}

export interface ReportData {
  request: ReportRequest;
  generatedAt: string;
  generatedBy: string;
  software: { name: string; version: string };
  reportId: string;
  operator: string;
  certificates: ReportCertificate[];
  chain: ChainCertificate[];
  timeline: TimelineEntry[];
  risk: {
    thresholds: RiskThresholds;
    points: RiskPoint[];
    incidents: RiskIncident[];
    events: number;
    maxScore: number;
  };
  trades: { groups: TradeGroup[]; breaches: TradeBreach[]; days: TradeDay[]; events: number };
  evidence: EvidenceRange | null;
  checkpoints: CheckpointJson[];
}
