/**
 * Combining features into one score in [0,1] with its explanation.
 *
 *   score = 1 - Π_i (1 - w_i · f_i)        f_i in [0,1] features, w_i in [0,1] weights
 *
 * ("noisy-OR"): each feature alone yields exactly w_i · f_i, so a weight reads as "the score
 * this signal reaches on its own at full strength"; independent signals reinforce each other;
 * the score is monotone (never falls when a feature rises) and never leaves [0,1]. The
 * explanation splits the score between features in proportion to -ln(1 - w_i · f_i), the
 * share each one removed from the "trust" product, so the contributions add up to the score.
 */
import type { TenantRiskConfig, RiskThresholds } from './config.js';
import { FEATURE_NAMES, type FeatureName, type Features } from './features.js';

export type RiskBand = 'low' | 'medium' | 'warning' | 'revoke';
export const RISK_BANDS: readonly RiskBand[] = Object.freeze(['low', 'medium', 'warning', 'revoke']);

export interface RiskReason {
  feature: FeatureName;
  /** the feature, in [0,1] */
  value: number;
  weight: number;
  /** w · f: the score this feature would give on its own */
  alone: number;
  /** its share of the score (the shares add up to the score) */
  contribution: number;
  raw: Readonly<Record<string, number>>;
  detail: string;
}

export interface RiskScore {
  value: number;
  band: RiskBand;
  /** Contributing features (value > 0), largest contribution first. */
  reasons: RiskReason[];
}

/** < medium: low; >= medium: medium; >= warning: warning; >= revoke: revoke. */
export function bandOf(value: number, t: Readonly<RiskThresholds>): RiskBand {
  if (value >= t.revoke) return 'revoke';
  if (value >= t.warning) return 'warning';
  if (value >= t.medium) return 'medium';
  return 'low';
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

export function combineFeatures(features: Features, cfg: TenantRiskConfig): RiskScore {
  let trust = 1;
  const terms = FEATURE_NAMES.map((name) => {
    const f = features[name];
    const weight = cfg.weights[name];
    const alone = Math.min(1, Math.max(0, weight * f.value));
    trust *= 1 - alone;
    return { f, weight, alone };
  });
  // Rounded once, here, so the band and every report agree on the same number.
  const value = round(1 - trust);
  const saturated = terms.filter((t) => t.alone >= 1).length;
  const logSum = terms.reduce((s, t) => (t.alone < 1 ? s - Math.log1p(-t.alone) : s), 0);
  const reasons: RiskReason[] = [];
  for (const t of terms) {
    if (t.f.value <= 0) continue;
    let contribution: number;
    if (saturated > 0) contribution = t.alone >= 1 ? value / saturated : 0;
    else contribution = logSum > 0 ? (value * -Math.log1p(-t.alone)) / logSum : 0;
    reasons.push({
      feature: t.f.name,
      value: round(t.f.value),
      weight: t.weight,
      alone: round(t.alone),
      contribution: round(contribution),
      raw: t.f.raw,
      detail: t.f.detail,
    });
  }
  reasons.sort((a, b) => b.contribution - a.contribution || b.value - a.value);
  return { value, band: bandOf(value, cfg.thresholds), reasons };
}

/** A certificate's score at a time, as the engine reports it. */
export interface RiskAssessment extends RiskScore {
  serial: string;
  agentId?: string;
  tenant?: string;
  /** ISO 8601 */
  at: string;
}
