/**
 * agent-ca/core: the CA without its HTTP edge. Authority, signers, codecs, OCSP, CRL, audit,
 * actions, risk, webhooks and tenancy, with no fastify in the static import graph (checked by
 * test/unit/package/core-import-graph.test.ts), for embedders that bring their own server or
 * none (docs/cli-and-package.md).
 */
export { createAuthority, defaultDataDir, type CreateAuthorityOptions } from '../authority/create-authority.js';
export {
  Authority,
  type AuthorityOptions,
  type InitOptions,
  type IssuedAgentCertificate,
  type CertificateView,
  type ListFilter,
} from '../authority/authority.js';
export type { AgentIssueRequest } from '../authority/agent-request.js';
export type { CaState, CaName, LoadedCa } from '../authority/ca-state.js';
export {
  AgentCaError,
  LintError,
  Asn1DecodeError,
  ErrorCodes,
  isAgentCaError,
  type ErrorCode,
  type ErrorCodeName,
  type LintFinding,
} from '../errors.js';
export { systemClock, FixedClock, type Clock } from '../clock.js';
export type { Serial, KeyUri, IssuerId, CrlNumber, KeyType, SignatureAlgorithm } from '../types.js';
export { parseConfig, DEFAULT_CONFIG, type CaConfig } from '../profile/config.js';
export { parseProfile, loadProfiles, type Profile } from '../profile/profile.js';
export { parseSerial } from '../profile/serial.js';

// hooks, status, revocation
export { HookBus, type HookEvents, type HookName } from '../revocation/hooks.js';
export type { CertificateStatus, CertificateState } from '../revocation/status.js';
export type { StatusPublisher, RevokeOptions } from '../revocation/revoker.js';
export { parseRevokeReason, REVOKE_REASONS } from '../revocation/reasons.js';

// signers
export { openSigner, registerSignerScheme, keyManagerFor } from '../signer/registry.js';
export type { Signer, KeyManager, SignerContext } from '../signer/signer.js';
export { signerFromPrivateKey } from '../signer/soft-key.js';

// the contract: our extensions
export * from '../asn1/extensions/index.js';
export {
  AGENT_CA_ARC,
  LEGACY_AGENT_CA_ARC,
  AgentOids,
  agentExtensionOids,
  readableAgentExtensionOids,
} from '../asn1/oids.js';
export { scopePermits, validateActionPattern } from '../asn1/scope-match.js';
export { describeCertificate, type CertificateDescription } from '../asn1/certificate-describe.js';
export { parseCertificate } from '../asn1/certificate-parse.js';
export { toPem, parsePem } from '../asn1/pem.js';

// stores and audit
export type {
  Store,
  WriteOp,
  CertificateRecord,
  RevocationRecord,
  RevocationReason,
  StatusChange,
  AuditEntry,
} from '../store/ports.js';
export { createMemoryStore, MemoryStore } from '../store/memory-store.js';
export { openLevelStore, LevelStore } from '../store/level/level-store.js';
export { AuditLog } from '../audit/audit-log.js';

// OCSP (the HTTP edge is agent-ca/http)
export { OcspService, type OcspServiceOptions } from '../ocsp/service.js';
export { OcspResponder } from '../ocsp/responder.js';

// signed agent actions: agents sign, counterparties verify (signature, chain, status, scope, policy)
export * from '../actions/index.js';

// behavioural risk engine
export {
  RiskEngine,
  RiskEventsRejected,
  parseRiskConfig,
  authorityRiskActions,
  NotificationInbox,
  validateEvents,
  type AgentEvent,
  type RiskConfig,
  type RiskActions,
} from '../risk/index.js';
export { startRiskService, loadRiskConfig, type RiskService } from '../risk/service.js';

// CRLs
export { CrlService, type CrlServiceOptions } from '../crl/service.js';
export { buildCrl, CrlPublisher, CrlScheduler } from '../crl/index.js';

// webhooks: receivers verify deliveries with verifyWebhookSignature
export { WebhookService, type WebhookServiceOptions } from '../webhooks/service.js';
export { verifyWebhookSignature, signPayload, SIGNATURE_HEADER } from '../webhooks/signature.js';

// compliance reports: build a signed package; verify one (what a regulator runs)
export { buildComplianceReport, type BuiltReport, type BuildReportOptions } from '../reports/build-report.js';
export { parseReportRequest, REPORT_SECTIONS, type ReportRequest, type ReportSection } from '../reports/request.js';
export { verifyReportPackage, type ReportVerification, type VerifyCheck } from '../reports/verify-report.js';
export { readPackage, writePackageDir } from '../reports/package.js';
export { ReportJobs, type ReportJob } from '../reports/report-jobs.js';

// tenancy: tenants, roles, tokens, the agent registry (docs/tenancy.md); the agent-side SDK is `agent-ca/client`
export { Tenancy, type TenancyOptions } from '../tenancy/tenancy.js';
export { AgentService, type CertifyInput, type RenewInput, type CertifiedAgent } from '../tenancy/agent-service.js';
export type { AgentRecord, AgentStatus } from '../tenancy/agent-registry.js';
export { TokenStore, type TokenView } from '../tenancy/tokens.js';
export { TenantRegistry, type TenantRecord } from '../tenancy/tenants.js';
export { ROLES, canSee, type Role, type Principal } from '../tenancy/roles.js';
