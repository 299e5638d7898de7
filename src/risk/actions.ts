/**
 * The side effects of a score crossing a band, behind one port so the embedder
 * decides how they happen. `authorityRiskActions` is the standard wiring: warnings go to the
 * notifications inbox, hold / release / revoke go through the Authority, i.e. through the
 * same Revoker (audit intent, one commit with the re-signed OCSP response, hooks) as a human's
 * revocation, with the score and its explanation in the audit details. No human step.
 */
import type { RevocationRecord } from '../store/ports.js';
import type { Serial } from '../types.js';
import type { RiskThresholds } from './config.js';
import type { NewRiskNotification, NotificationInbox, RiskNotification } from './notifications.js';
import type { RiskBand, RiskReason } from './score.js';

/** The actor name on everything the engine does (audit log, revocation records). */
export const RISK_ACTOR = 'risk-engine';

/** Why the engine acted: what goes into the audit log with the revocation. */
export interface RiskExplanation {
  serial: string;
  agentId?: string;
  tenant?: string;
  /** ISO 8601 time the score was computed for */
  at: string;
  score: number;
  band: RiskBand;
  thresholds: RiskThresholds;
  formula: string;
  reasons: RiskReason[];
}

export interface RiskActions {
  /** Entering the warning band (or jumping past it). */
  warn(notification: NewRiskNotification): unknown;
  /** Only called when the tenant's config says holdOnWarning. */
  hold?(serial: Serial, explanation: RiskExplanation): Promise<unknown>;
  /** Back below warning, for a hold this engine placed. */
  release?(serial: Serial, explanation: RiskExplanation): Promise<unknown>;
  /** Once, on reaching the revoke threshold. */
  revoke(serial: Serial, explanation: RiskExplanation): Promise<unknown>;
}

/** The Authority methods the standard wiring needs. */
export interface RevokingAuthority {
  revoke(
    serial: string,
    opts: { reason?: 'privilegeWithdrawn'; actor?: string; details?: Record<string, unknown> },
  ): Promise<RevocationRecord>;
  hold(serial: string, opts: { actor?: string; details?: Record<string, unknown> }): Promise<RevocationRecord>;
  release(serial: string, opts: { actor?: string; details?: Record<string, unknown> }): Promise<void>;
}

export interface AuthorityRiskActionsOptions {
  /** Called with each stored warning (e.g. to send the `risk.warning` webhook); errors are the engine's to log. */
  onWarning?(notification: RiskNotification): unknown;
}

export function authorityRiskActions(
  authority: RevokingAuthority,
  notifications: NotificationInbox,
  opts: AuthorityRiskActionsOptions = {},
): RiskActions {
  const details = (e: RiskExplanation): Record<string, unknown> => ({ score: e.score, explanation: e });
  return {
    warn: async (n) => {
      const stored = await notifications.add(n);
      await opts.onWarning?.(stored);
    },
    hold: (serial, e) => authority.hold(serial, { actor: RISK_ACTOR, details: details(e) }),
    release: (serial, e) => authority.release(serial, { actor: RISK_ACTOR, details: details(e) }),
    // RFC 5280 §5.3.1 privilegeWithdrawn: the certificate is fine, the agent lost the privilege.
    revoke: (serial, e) =>
      authority.revoke(serial, { reason: 'privilegeWithdrawn', actor: RISK_ACTOR, details: details(e) }),
  };
}
