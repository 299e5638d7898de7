/**
 * Risk configuration: defaults plus per-tenant overrides, parsed once into frozen,
 * fully resolved objects so the hot path never merges or re-checks. Unknown keys are refused
 * (a misspelt "tresholds" must not silently fall back to defaults), thresholds must lie in
 * [0,1] and be ordered medium <= warning <= revoke.
 */
import { AgentCaError } from '../errors.js';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from './events.js';
import { DEFAULT_FEATURE_PARAMS, FEATURE_NAMES, type FeatureName, type FeatureParams } from './features.js';
import { DEFAULT_WINDOW_SHAPE, validateWindowShape, type WindowShape } from './window.js';

export interface RiskThresholds {
  medium: number;
  warning: number;
  revoke: number;
}

export type RiskWeights = Readonly<Record<FeatureName, number>>;

export interface TenantRiskConfig {
  readonly thresholds: Readonly<RiskThresholds>;
  /** w_i in [0,1]: the score a feature reaches alone at its maximum. */
  readonly weights: RiskWeights;
  /** Place a certificateHold on entering the warning band; released when the score falls back. */
  readonly holdOnWarning: boolean;
  /** Revoke (privilegeWithdrawn) on reaching the revoke threshold. */
  readonly autoRevoke: boolean;
  readonly features: Readonly<FeatureParams>;
}

export interface RiskConfig {
  readonly defaults: TenantRiskConfig;
  /** Resolved: defaults with each tenant's overrides applied. */
  readonly tenants: Readonly<Record<string, TenantRiskConfig>>;
  readonly limits: Readonly<EventLimits>;
  readonly window: Readonly<WindowShape>;
  /** Bytes the resident windows may hold before the least recently used are evicted to the store. */
  readonly memory: Readonly<{ maxWindowBytes: number }>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type TenantRiskOverrides = DeepPartial<TenantRiskConfig>;

/** What an operator writes (JSON). Times in the file are in seconds / minutes / days for readability. */
export interface RiskConfigInput {
  defaults?: TenantRiskOverrides;
  tenants?: Record<string, TenantRiskOverrides>;
  limits?: { maxBatch?: number; maxSkewSeconds?: number };
  window?: { bucketMinutes?: number; days?: number };
  memory?: { maxWindowBytes?: number };
}

/** 2 GiB of windows: about 650,000 agents of the mix docs/risk-engine.md measures, resident. */
export const DEFAULT_MAX_WINDOW_BYTES = 2 * 1024 ** 3;

export const DEFAULT_WEIGHTS: RiskWeights = Object.freeze({
  rate: 0.5,
  scope: 0.9,
  policy: 0.9,
  auth: 0.6,
  anomaly: 0.6,
});
export const DEFAULT_THRESHOLDS: Readonly<RiskThresholds> = Object.freeze({ medium: 0.3, warning: 0.75, revoke: 0.85 });

export const DEFAULT_TENANT_RISK_CONFIG: TenantRiskConfig = Object.freeze({
  thresholds: DEFAULT_THRESHOLDS,
  weights: DEFAULT_WEIGHTS,
  holdOnWarning: false,
  autoRevoke: true,
  features: DEFAULT_FEATURE_PARAMS,
});

const TENANT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function bad(path: string, why: string): never {
  throw new AgentCaError('CONFIG_INVALID', `risk config ${path}: ${why}`, { field: path });
}

function objectAt(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(path, 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) bad(`${path}.${k}`, `unknown key (known: ${allowed.join(', ')})`);
  return o;
}

function num(
  v: unknown,
  fallback: number,
  path: string,
  min: number,
  max: number,
  opts: { integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(path, 'must be a finite number');
  if (opts.integer && !Number.isInteger(v)) bad(path, 'must be an integer');
  if (v < min || (opts.exclusiveMin && v === min) || v > max)
    bad(path, `must be in ${opts.exclusiveMin ? '(' : '['}${min}, ${max}]`);
  return v;
}

function bool(v: unknown, fallback: boolean, path: string): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') bad(path, 'must be true or false');
  return v;
}

function mergeFeatures(raw: unknown, base: FeatureParams, path: string): FeatureParams {
  const o = objectAt(raw, path, ['halfLifeHours', 'rate', 'scope', 'policy', 'auth', 'anomaly']);
  const rate = objectAt(o.rate, `${path}.rate`, [
    'startRatio',
    'fullRatio',
    'floorPerBucket',
    'minHistoryBuckets',
    'quantile',
  ]);
  const scope = objectAt(o.scope, `${path}.scope`, ['saturation']);
  const policy = objectAt(o.policy, `${path}.policy`, ['saturation']);
  const auth = objectAt(o.auth, `${path}.auth`, ['grace', 'saturation']);
  const anomaly = objectAt(o.anomaly, `${path}.anomaly`, ['zThreshold', 'minHistory', 'minLogSd', 'saturation']);
  const BIG = 1e9;
  const out: FeatureParams = {
    halfLifeHours: num(o.halfLifeHours, base.halfLifeHours, `${path}.halfLifeHours`, 0, 100_000, {
      exclusiveMin: true,
    }),
    rate: {
      startRatio: num(rate.startRatio, base.rate.startRatio, `${path}.rate.startRatio`, 0, BIG),
      fullRatio: num(rate.fullRatio, base.rate.fullRatio, `${path}.rate.fullRatio`, 0, BIG, { exclusiveMin: true }),
      floorPerBucket: num(rate.floorPerBucket, base.rate.floorPerBucket, `${path}.rate.floorPerBucket`, 0, BIG, {
        exclusiveMin: true,
      }),
      minHistoryBuckets: num(
        rate.minHistoryBuckets,
        base.rate.minHistoryBuckets,
        `${path}.rate.minHistoryBuckets`,
        0,
        100_000,
        { integer: true },
      ),
      quantile: num(rate.quantile, base.rate.quantile, `${path}.rate.quantile`, 0, 1, { exclusiveMin: true }),
    },
    scope: {
      saturation: num(scope.saturation, base.scope.saturation, `${path}.scope.saturation`, 0, BIG, {
        exclusiveMin: true,
      }),
    },
    policy: {
      saturation: num(policy.saturation, base.policy.saturation, `${path}.policy.saturation`, 0, BIG, {
        exclusiveMin: true,
      }),
    },
    auth: {
      grace: num(auth.grace, base.auth.grace, `${path}.auth.grace`, 0, BIG),
      saturation: num(auth.saturation, base.auth.saturation, `${path}.auth.saturation`, 0, BIG, { exclusiveMin: true }),
    },
    anomaly: {
      zThreshold: num(anomaly.zThreshold, base.anomaly.zThreshold, `${path}.anomaly.zThreshold`, 0, 1000, {
        exclusiveMin: true,
      }),
      minHistory: num(anomaly.minHistory, base.anomaly.minHistory, `${path}.anomaly.minHistory`, 1, BIG, {
        integer: true,
      }),
      minLogSd: num(anomaly.minLogSd, base.anomaly.minLogSd, `${path}.anomaly.minLogSd`, 0, 100, {
        exclusiveMin: true,
      }),
      saturation: num(anomaly.saturation, base.anomaly.saturation, `${path}.anomaly.saturation`, 0, BIG, {
        exclusiveMin: true,
      }),
    },
  };
  if (out.rate.fullRatio <= out.rate.startRatio)
    bad(`${path}.rate`, `fullRatio (${out.rate.fullRatio}) must be above startRatio (${out.rate.startRatio})`);
  if (out.auth.saturation <= out.auth.grace)
    bad(`${path}.auth`, `saturation (${out.auth.saturation}) must be above grace (${out.auth.grace})`);
  return Object.freeze({
    ...out,
    rate: Object.freeze(out.rate),
    scope: Object.freeze(out.scope),
    policy: Object.freeze(out.policy),
    auth: Object.freeze(out.auth),
    anomaly: Object.freeze(out.anomaly),
  });
}

function mergeTenant(raw: unknown, base: TenantRiskConfig, path: string): TenantRiskConfig {
  const o = objectAt(raw, path, ['thresholds', 'weights', 'holdOnWarning', 'autoRevoke', 'features']);
  const t = objectAt(o.thresholds, `${path}.thresholds`, ['medium', 'warning', 'revoke']);
  const thresholds = {
    medium: num(t.medium, base.thresholds.medium, `${path}.thresholds.medium`, 0, 1),
    warning: num(t.warning, base.thresholds.warning, `${path}.thresholds.warning`, 0, 1),
    // 0 would revoke every certificate on its first event
    revoke: num(t.revoke, base.thresholds.revoke, `${path}.thresholds.revoke`, 0, 1, { exclusiveMin: true }),
  };
  if (!(thresholds.medium <= thresholds.warning && thresholds.warning <= thresholds.revoke)) {
    bad(
      `${path}.thresholds`,
      `must be ordered medium <= warning <= revoke (got ${thresholds.medium} / ${thresholds.warning} / ${thresholds.revoke})`,
    );
  }
  const w = objectAt(o.weights, `${path}.weights`, FEATURE_NAMES);
  const weights = Object.fromEntries(
    FEATURE_NAMES.map((f) => [f, num(w[f], base.weights[f], `${path}.weights.${f}`, 0, 1)]),
  ) as Record<FeatureName, number>;
  return Object.freeze({
    thresholds: Object.freeze(thresholds),
    weights: Object.freeze(weights),
    holdOnWarning: bool(o.holdOnWarning, base.holdOnWarning, `${path}.holdOnWarning`),
    autoRevoke: bool(o.autoRevoke, base.autoRevoke, `${path}.autoRevoke`),
    features: mergeFeatures(o.features, base.features, `${path}.features`),
  });
}

/** Parses and freezes a risk configuration; throws CONFIG_INVALID naming the offending key. */
export function parseRiskConfig(raw: unknown = {}): RiskConfig {
  const o = objectAt(raw, 'risk', ['defaults', 'tenants', 'limits', 'window', 'memory']);
  const defaults = mergeTenant(o.defaults, DEFAULT_TENANT_RISK_CONFIG, 'defaults');
  const tenantsRaw = objectAt(
    o.tenants,
    'tenants',
    Object.keys((o.tenants as Record<string, unknown> | undefined) ?? {}),
  );
  const tenants: Record<string, TenantRiskConfig> = Object.create(null) as Record<string, TenantRiskConfig>;
  for (const [id, overrides] of Object.entries(tenantsRaw)) {
    if (!TENANT_ID.test(id)) bad(`tenants.${id}`, 'tenant id must be 1..128 of A-Z a-z 0-9 - . _ :');
    tenants[id] = mergeTenant(overrides, defaults, `tenants.${id}`);
  }
  const l = objectAt(o.limits, 'limits', ['maxBatch', 'maxSkewSeconds']);
  const win = objectAt(o.window, 'window', ['bucketMinutes', 'days']);
  const bucketMinutes = num(
    win.bucketMinutes,
    DEFAULT_WINDOW_SHAPE.bucketMs / 60_000,
    'window.bucketMinutes',
    1,
    1440,
    { integer: true },
  );
  const days = num(
    win.days,
    (DEFAULT_WINDOW_SHAPE.bucketMs * DEFAULT_WINDOW_SHAPE.bucketCount) / 86_400_000,
    'window.days',
    1,
    366,
    { integer: true },
  );
  const windowShape: WindowShape = {
    bucketMs: bucketMinutes * 60_000,
    bucketCount: Math.round((days * 1440) / bucketMinutes),
  };
  if ((days * 1440) % bucketMinutes !== 0)
    bad('window', `${days} days is not a whole number of ${bucketMinutes}-minute buckets`);
  validateWindowShape(windowShape);
  const mem = objectAt(o.memory, 'memory', ['maxWindowBytes']);
  const maxWindowBytes = num(mem.maxWindowBytes, DEFAULT_MAX_WINDOW_BYTES, 'memory.maxWindowBytes', 0, 2 ** 50, {
    integer: true,
  });
  const limits: EventLimits = {
    maxBatch: num(l.maxBatch, DEFAULT_EVENT_LIMITS.maxBatch, 'limits.maxBatch', 1, 100_000, { integer: true }),
    maxSkewMs: num(l.maxSkewSeconds, DEFAULT_EVENT_LIMITS.maxSkewMs / 1000, 'limits.maxSkewSeconds', 0, 86_400) * 1000,
    // An event older than the window could not count towards any score.
    maxAgeMs: windowShape.bucketMs * windowShape.bucketCount,
  };
  return Object.freeze({
    defaults,
    tenants: Object.freeze(tenants),
    limits: Object.freeze(limits),
    window: Object.freeze(windowShape),
    memory: Object.freeze({ maxWindowBytes }),
  });
}

/** The configuration that applies to a tenant (defaults when it has no overrides or no tenant). */
export function tenantRiskConfig(config: RiskConfig, tenant: string | undefined): TenantRiskConfig {
  return (tenant !== undefined ? config.tenants[tenant] : undefined) ?? config.defaults;
}

/**
 * `config` with a tenant's warning / revoke thresholds replaced (the tenant registry's, which
 * win over the file's); the rest of the tenant's configuration is kept. The medium band is
 * lowered with them if it would otherwise lie above the new warning threshold.
 */
export function withTenantThresholds(
  config: RiskConfig,
  tenant: string,
  t: { warning?: number; revoke?: number },
): RiskConfig {
  const base = tenantRiskConfig(config, tenant);
  const thresholds = {
    ...base.thresholds,
    ...(t.warning !== undefined ? { warning: t.warning } : {}),
    ...(t.revoke !== undefined ? { revoke: t.revoke } : {}),
  };
  if (thresholds.warning > thresholds.revoke)
    bad(
      `tenants.${tenant}.thresholds`,
      `warning (${thresholds.warning}) must not be above revoke (${thresholds.revoke})`,
    );
  thresholds.medium = Math.min(thresholds.medium, thresholds.warning);
  const merged = mergeTenant({ thresholds }, base, `tenants.${tenant}`);
  return Object.freeze({ ...config, tenants: Object.freeze({ ...config.tenants, [tenant]: merged }) });
}
