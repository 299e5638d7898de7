/**
 * Feature extraction, PURE: every function here reads its arguments only (a
 * window, the certificate's own extensions, parameters, a time) and returns numbers, so the
 * same inputs always explain the same score.
 *
 * Two stages:
 *  - classifyEvent: per event, against the certificate's agentScope / agentPolicy and the
 *    agent's own transaction history -> flags counted into the window;
 *  - extractFeatures: over the window at a time -> five features, each in [0,1]:
 *      rate     recent bucket vs the agent's own busiest-normal bucket (a quantile of its
 *               history), so a steady high-volume agent scores 0;
 *      scope    actions outside agentScope + explicit scope_check denials;
 *      policy   amount > maxTransactionSize (same currency) or market not in allowedMarkets;
 *      auth     failed/denied auth_attempt events beyond a grace allowance;
 *      anomaly  transactions far above the agent's own amount history (log-amount z-score).
 * Counted features weigh each bucket by recency (half-life), over the 30-day window only, so a
 * burst of bad behaviour fades and the score can fall back below a band (hold release).
 */
import type { AgentPolicy } from '../asn1/extensions/index.js';
import { scopePermits } from '../asn1/scope-match.js';
import { compareDecimal } from './decimal.js';
import type { NormalisedEvent } from './events.js';
import { bucketOf, C, COUNTERS, slotLive, type WindowData } from './window.js';

export type FeatureName = 'rate' | 'scope' | 'policy' | 'auth' | 'anomaly';
export const FEATURE_NAMES: readonly FeatureName[] = Object.freeze(['rate', 'scope', 'policy', 'auth', 'anomaly']);

export interface FeatureParams {
  /** Recency weight of a counted event halves every this many hours (scope, policy, auth, anomaly). */
  halfLifeHours: number;
  rate: {
    /** ratio (recent / baseline) at which the feature starts rising from 0 */
    startRatio: number;
    /** ratio at which it reaches 1 */
    fullRatio: number;
    /** baseline never below this many events per bucket (quiet agents don't alarm on small bursts) */
    floorPerBucket: number;
    /** complete buckets of history needed before the feature is computed (0 until then) */
    minHistoryBuckets: number;
    /** which quantile of the agent's own per-bucket counts is its baseline */
    quantile: number;
  };
  scope: { saturation: number };
  policy: { saturation: number };
  auth: { grace: number; saturation: number };
  anomaly: {
    /** z-score (in ln(1+amount)) above which a transaction is anomalous */
    zThreshold: number;
    /** amounts in the window needed before anything is anomalous */
    minHistory: number;
    /** floor on the standard deviation, so an agent with constant amounts isn't flagged for +1% */
    minLogSd: number;
    saturation: number;
  };
}

export const DEFAULT_FEATURE_PARAMS: FeatureParams = Object.freeze({
  halfLifeHours: 72,
  rate: Object.freeze({ startRatio: 3, fullRatio: 10, floorPerBucket: 20, minHistoryBuckets: 24, quantile: 0.95 }),
  scope: Object.freeze({ saturation: 10 }),
  policy: Object.freeze({ saturation: 3 }),
  auth: Object.freeze({ grace: 3, saturation: 20 }),
  anomaly: Object.freeze({ zThreshold: 4, minHistory: 20, minLogSd: 0.25, saturation: 3 }),
});

/** What the certificate itself says the agent may do (its signed extensions). */
export interface CertificateFacts {
  scope?: readonly string[];
  policy?: AgentPolicy;
}

/** The agent's transaction history in ln(1+amount). */
export interface AmountStats {
  n: number;
  mean: number;
  sd: number;
}

export interface EventFlags {
  scopeViolation: boolean;
  amountOverLimit: boolean;
  marketNotAllowed: boolean;
  authFailure: boolean;
  anomalous: boolean;
  /** ln(1+amount) when this amount feeds the anomaly statistics. */
  amountLog?: number;
  /** z-score of the amount against the history, when there was enough history. */
  z?: number;
}

export interface FeatureValue {
  name: FeatureName;
  /** normalised to [0,1] */
  value: number;
  /** the numbers the value was computed from */
  raw: Readonly<Record<string, number>>;
  /** one sentence for the operator, the regulator and the agent's owner */
  detail: string;
}

export type Features = Readonly<Record<FeatureName, FeatureValue>>;

export interface RateBaseline {
  /** the quantile of per-bucket event counts over the complete history buckets */
  value: number;
  /** complete history buckets considered */
  history: number;
}

const NC = COUNTERS.length;
const clip01 = (x: number): number => (x <= 0 || Number.isNaN(x) ? 0 : x >= 1 ? 1 : x);
const ramp = (x: number, from: number, to: number): number => clip01((x - from) / (to - from));
const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * ln(1+amount) when the event's amount belongs to the anomaly statistics: every amount, or only
 * those in the policy's currency when the policy names one (mixing USD and JPY would make any
 * JPY trade look anomalous).
 */
export function amountLogOf(
  e: Pick<NormalisedEvent, 'amount' | 'currency'>,
  facts: CertificateFacts,
): number | undefined {
  if (e.amount === undefined) return undefined;
  const policyCurrency = facts.policy?.maxTransactionSize?.currency;
  if (policyCurrency !== undefined && e.currency !== policyCurrency) return undefined;
  return Math.log1p(Number(e.amount));
}

/** Per-event flags. `permits` defaults to scopePermits over the certificate's agentScope (callers may memoise it). */
export function classifyEvent(
  e: NormalisedEvent,
  facts: CertificateFacts,
  stats: AmountStats,
  params: FeatureParams,
  permits: (action: string) => boolean = (a) => scopePermits(facts.scope ?? [], a),
): EventFlags {
  // Default deny (docs/architecture.md): an action the scope does not grant is a boundary test, whatever
  // the outcome the service reported; a scope_check the service denied is one explicitly.
  const scopeViolation =
    (e.action !== undefined && !permits(e.action)) || (e.type === 'scope_check' && e.outcome === 'denied');
  const limit = facts.policy?.maxTransactionSize;
  // Only comparable in the policy's own currency (no FX rates in the CA).
  const amountOverLimit =
    limit !== undefined &&
    e.amount !== undefined &&
    e.currency === limit.currency &&
    compareDecimal(e.amount, limit.amount) > 0;
  const markets = facts.policy?.allowedMarkets;
  const marketNotAllowed = markets !== undefined && e.market !== undefined && !markets.includes(e.market);
  const authFailure = e.type === 'auth_attempt' && e.outcome !== 'success';
  const amountLog = amountLogOf(e, facts);
  let anomalous = false;
  let z: number | undefined;
  if (amountLog !== undefined && stats.n >= params.anomaly.minHistory) {
    z = (amountLog - stats.mean) / Math.max(stats.sd, params.anomaly.minLogSd);
    anomalous = z > params.anomaly.zThreshold; // only "far above": small trades are not a risk signal
  }
  return {
    scopeViolation,
    amountOverLimit,
    marketNotAllowed,
    authFailure,
    anomalous,
    ...(amountLog !== undefined ? { amountLog } : {}),
    ...(z !== undefined ? { z } : {}),
  };
}

/** Mean and standard deviation of ln(1+amount) over the live window at `nowMs` (unweighted). */
export function amountStats(w: WindowData, nowMs: number): AmountStats {
  const now = bucketOf(nowMs, w.bucketMs);
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let s = 0; s < w.bucketCount; s++) {
    if (!slotLive(w, s, now)) continue;
    const k = w.counts[s * NC + C.amounts]!;
    if (k === 0) continue;
    n += k;
    sum += w.sums[s * 2]!;
    sumSq += w.sums[s * 2 + 1]!;
  }
  if (n === 0) return { n: 0, mean: 0, sd: 0 };
  const mean = sum / n;
  return { n, mean, sd: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
}

function countAt(w: WindowData, bucket: number): number {
  if (bucket < 0) return 0;
  const slot = bucket % w.bucketCount;
  return w.index[slot] === bucket ? w.counts[slot * NC + C.events]! : 0;
}

/**
 * The agent's own baseline: the `quantile` (nearest rank) of its per-bucket event counts over
 * the complete buckets from its first event (at most the window) up to, not including, the two
 * most recent (which the "recent" rate reads). Empty buckets count as 0.
 */
export function rateBaseline(w: WindowData, nowBucket: number, quantile: number): RateBaseline {
  const end = nowBucket - 2;
  const start = Math.max(w.firstBucket, nowBucket - w.bucketCount + 1);
  if (w.firstBucket < 0 || end < start) return { value: 0, history: 0 };
  const h = end - start + 1;
  const counts = new Uint32Array(h);
  for (let s = 0; s < w.bucketCount; s++) {
    const b = w.index[s]!;
    if (b >= start && b <= end) counts[b - start] = w.counts[s * NC + C.events]!;
  }
  counts.sort();
  const rank = Math.min(h - 1, Math.max(0, Math.ceil(quantile * h) - 1));
  return { value: counts[rank]!, history: h };
}

function spanText(ms: number): string {
  return ms % 3_600_000 === 0 ? (ms === 3_600_000 ? 'hour' : `${ms / 3_600_000} hours`) : `${ms / 60_000} min`;
}

/** The five features at `nowMs`. Pass `baseline` to reuse a memoised rateBaseline for this bucket. */
export function extractFeatures(
  w: WindowData,
  nowMs: number,
  params: FeatureParams,
  baseline?: RateBaseline,
): Features {
  const now = bucketOf(nowMs, w.bucketMs);
  const halfLifeBuckets = (params.halfLifeHours * 3_600_000) / w.bucketMs;
  const total = { scope: 0, policy: 0, auth: 0, anomaly: 0 };
  const weighted = { scope: 0, policy: 0, auth: 0, anomaly: 0 };
  for (let s = 0; s < w.bucketCount; s++) {
    if (!slotLive(w, s, now)) continue;
    const base = s * NC;
    const sc = w.counts[base + C.scopeViolations]!;
    const po = w.counts[base + C.policyBreaches]!;
    const au = w.counts[base + C.authFailures]!;
    const an = w.counts[base + C.anomalies]!;
    if (sc + po + au + an === 0) continue;
    const weight = 2 ** (-(now - w.index[s]!) / halfLifeBuckets);
    total.scope += sc;
    total.policy += po;
    total.auth += au;
    total.anomaly += an;
    weighted.scope += sc * weight;
    weighted.policy += po * weight;
    weighted.auth += au * weight;
    weighted.anomaly += an * weight;
  }

  // Rate: the last bucket span, read as the current bucket plus the unelapsed share of the previous one.
  const r = params.rate;
  const elapsed = (nowMs - now * w.bucketMs) / w.bucketMs;
  const recent = countAt(w, now) + countAt(w, now - 1) * (1 - elapsed);
  const bl = baseline ?? rateBaseline(w, now, r.quantile);
  const floored = Math.max(bl.value, r.floorPerBucket);
  const ratio = recent / floored;
  const enough = bl.history >= r.minHistoryBuckets;
  const span = spanText(w.bucketMs);
  const rate: FeatureValue = {
    name: 'rate',
    value: enough ? ramp(ratio, r.startRatio, r.fullRatio) : 0,
    raw: { recent: round(recent, 2), baseline: bl.value, historyBuckets: bl.history, ratio: round(ratio) },
    detail: enough
      ? `${Math.round(recent)} events in the last ${span} vs its own p${Math.round(r.quantile * 100)} ${span} of ${bl.value} (floor ${r.floorPerBucket}): ${round(ratio, 2)}x`
      : `${bl.history} ${span}(s) of history, ${r.minHistoryBuckets} needed before the rate is judged`,
  };

  const counted = (
    name: FeatureName,
    value: number,
    n: number,
    wsum: number,
    what: string,
    bound: string,
  ): FeatureValue => ({
    name,
    value,
    raw: { count: n, weighted: round(wsum) },
    detail: `${n} ${what} in the window (recency-weighted ${round(wsum, 2)}, half-life ${params.halfLifeHours} h; ${bound})`,
  });
  return Object.freeze({
    rate,
    scope: counted(
      'scope',
      clip01(weighted.scope / params.scope.saturation),
      total.scope,
      weighted.scope,
      'action(s) outside agentScope or denied scope checks',
      `1 at ${params.scope.saturation}`,
    ),
    policy: counted(
      'policy',
      clip01(weighted.policy / params.policy.saturation),
      total.policy,
      weighted.policy,
      'agentPolicy breach(es) (amount over maxTransactionSize, market not allowed)',
      `1 at ${params.policy.saturation}`,
    ),
    auth: counted(
      'auth',
      ramp(weighted.auth, params.auth.grace, params.auth.saturation),
      total.auth,
      weighted.auth,
      'authentication failure(s)',
      `0 up to ${params.auth.grace}, 1 at ${params.auth.saturation}`,
    ),
    anomaly: counted(
      'anomaly',
      clip01(weighted.anomaly / params.anomaly.saturation),
      total.anomaly,
      weighted.anomaly,
      `transaction(s) more than ${params.anomaly.zThreshold} sd above its own amounts`,
      `1 at ${params.anomaly.saturation}`,
    ),
  });
}
