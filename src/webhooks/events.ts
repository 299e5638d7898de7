/**
 * The events a webhook endpoint can subscribe to and the JSON envelope every
 * delivery carries. The envelope is serialised once, when the event is published, and those
 * exact bytes are stored in the outbox and signed on every attempt.
 */
export const WEBHOOK_EVENT_TYPES = [
  'certificate.revoked',
  'certificate.held',
  'certificate.released',
  'risk.warning',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(s: unknown): s is WebhookEventType {
  return typeof s === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);
}

/** data of certificate.revoked / held / released. */
export interface CertificateEventData {
  serial: string;
  issuerId: string;
  agentId: string | null;
  tenant: string | null;
  /** RFC 5280 §5.3.1 reason: certificateHold for held, removeFromCRL for released. */
  reason: string;
  /** When the revocation (or hold) took effect; null for released. */
  revokedAt: string | null;
  /** certificate.released only. */
  releasedAt?: string;
  invalidityDate?: string;
  actor: string;
}

export interface WebhookEvent<D = Record<string, unknown>> {
  /** evt_...: the same for every endpoint the event goes to. */
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: D;
}
