/** The SDK's public shapes (camelCase; the one-call certify answer keeps the server's fields). */
export interface CertifyOptions {
  agentId?: string;
  organization?: string;
  maxTransactionSizeUsd?: number | string;
  allowedMarkets?: string[];
  validityDays?: number;
  scope?: string[];
  /** Needed with an admin token only (an operator token certifies in its own tenant). */
  tenant?: string;
  environment?: string;
  /** `sha256:HEX` */
  modelHash?: string;
  /** Certify this public key (PEM SPKI) instead of a new KMS key. */
  publicKeyPem?: string;
}

export interface CertifyResult {
  certificatePem: string;
  chainPem: string;
  /** The agent's key in KMS, when the CA created it there. */
  kmsKeyArn: string | null;
  keyUri: string | null;
  serialNumber: string;
  validUntil: string;
  agentId: string;
  tenant: string;
}

/** An event, in the user's spelling (agent_id, action_type, metadata) or the server's. */
export interface ClientEvent {
  serial?: string;
  agentId?: string;
  agent_id?: string;
  /** api_call, data_access, transaction, auth_attempt, scope_check, ... */
  type?: string;
  action_type?: string;
  action?: string;
  outcome?: 'success' | 'denied' | 'failed';
  time?: string | Date;
  amount?: string | number;
  currency?: string;
  market?: string;
  /** action / outcome / amount / currency / market may also come in here. */
  metadata?: Record<string, unknown>;
}

export interface VerifyResult {
  serial: string;
  status: 'good' | 'revoked' | 'held' | 'expired';
  operator: string | null;
  agentId: string | null;
  scope: string[];
  policy: Record<string, unknown> | null;
  modelHash: { algorithm: string; digest: string } | null;
  tenant: string | null;
  validity: { notBefore: string; notAfter: string };
  revocation: { time: string; reason: string } | null;
  [k: string]: unknown;
}

export interface RiskView {
  agentId: string;
  tenant: string;
  serial: string;
  score: number;
  band: 'low' | 'medium' | 'warning' | 'revoke';
  thresholds: { medium: number; warning: number; revoke: number };
  features: Record<string, number>;
  contributions: { feature: string; contribution: number; detail: string }[];
  [k: string]: unknown;
}

export interface RenewalInfo {
  serial: string;
  suggestedWindow: { start: string; end: string };
  retryAfterSeconds: number;
  notAfter: string;
  explanation?: string;
  drift: { field: string; registered: unknown; observed: unknown }[];
}

/** The user's shape: `complianceReport({ agent_id, start_date, end_date, include })`, or a tenant's. */
export type ComplianceReportRequest = (
  { agent_id?: string; tenant?: undefined } | { tenant: string; agent_id?: undefined }
) & {
  /** UTC day (2026-01-01) or an instant with a time zone; the end is excluded. */
  start_date: string;
  end_date: string;
  include?: ('trades' | 'risk_events' | 'revocations')[];
  /** How long to wait for the server to build it (default 120 s), and how often to ask. */
  waitMs?: number;
  pollMs?: number;
};

export interface ComplianceReport {
  id: string;
  /** report.pdf, for regulator submission */
  pdf: Buffer;
  /** the signed package: report.pdf, evidence.jsonl, manifest.json(.jws), CA chain */
  evidenceZip: Buffer;
}
