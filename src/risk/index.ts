/** The behavioural risk engine: events -> rolling window -> features -> score -> actions. */
export {
  RISK_ACTOR,
  authorityRiskActions,
  type AuthorityRiskActionsOptions,
  type RevokingAuthority,
  type RiskActions,
  type RiskExplanation,
} from './actions.js';
export { EVENT_FIELDS, INGEST_ACTION, readBatch, type EventTuple } from './audit-record.js';
export {
  DEFAULT_TENANT_RISK_CONFIG,
  DEFAULT_THRESHOLDS,
  DEFAULT_WEIGHTS,
  parseRiskConfig,
  tenantRiskConfig,
  type RiskConfig,
  type RiskConfigInput,
  type RiskThresholds,
  type RiskWeights,
  type TenantRiskConfig,
  type TenantRiskOverrides,
} from './config.js';
export { CertificateContexts, type CertificateContext, type RiskHost } from './context.js';
export { canonicalAmount, compareDecimal } from './decimal.js';
export { RiskEngine, type IngestOptions, type IngestResult, type RiskEngineOptions } from './engine.js';
export { BandTransitions, SCORE_FORMULA, explain } from './transitions.js';
export {
  CORE_EVENT_TYPES,
  DEFAULT_EVENT_LIMITS,
  EVENT_OUTCOMES,
  RiskEventsRejected,
  validateEvents,
  type AgentEvent,
  type EventFieldError,
  type EventLimits,
  type EventOutcome,
  type EventType,
  type EventValidation,
  type NormalisedEvent,
} from './events.js';
export {
  DEFAULT_FEATURE_PARAMS,
  FEATURE_NAMES,
  amountStats,
  classifyEvent,
  extractFeatures,
  rateBaseline,
  type AmountStats,
  type CertificateFacts,
  type EventFlags,
  type FeatureName,
  type FeatureParams,
  type FeatureValue,
  type Features,
} from './features.js';
export {
  NotificationInbox,
  type InboxOptions,
  type NewRiskNotification,
  type NotificationFilter,
  type RiskNotification,
} from './notifications.js';
export {
  RISK_BANDS,
  bandOf,
  combineFeatures,
  type RiskAssessment,
  type RiskBand,
  type RiskReason,
  type RiskScore,
} from './score.js';
export {
  AgentWindow,
  COUNTERS,
  DEFAULT_WINDOW_SHAPE,
  WindowStore,
  windowBytes,
  type BucketIncrement,
  type WindowData,
  type WindowShape,
} from './window.js';
