import { describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../../src/errors.js';
import { DEFAULT_TENANT_RISK_CONFIG, parseRiskConfig, tenantRiskConfig } from '../../../src/risk/config.js';
import { FEATURE_NAMES, type FeatureName, type Features } from '../../../src/risk/features.js';
import { bandOf, combineFeatures } from '../../../src/risk/score.js';

function features(values: Partial<Record<FeatureName, number>>): Features {
  return Object.fromEntries(
    FEATURE_NAMES.map((name) => [name, { name, value: values[name] ?? 0, raw: {}, detail: name }]),
  ) as unknown as Features;
}
const D = DEFAULT_TENANT_RISK_CONFIG; // weights rate .5 scope .9 policy .9 auth .6 anomaly .6

describe('combineFeatures: score = 1 - Π(1 - w·f)', () => {
  it.each<[string, Partial<Record<FeatureName, number>>, number, string]>([
    ['nothing', {}, 0, 'low'],
    ['rate alone at full strength stays medium', { rate: 1 }, 0.5, 'medium'],
    ['auth alone', { auth: 1 }, 0.6, 'medium'],
    ['anomaly alone', { anomaly: 0.5 }, 0.3, 'medium'],
    ['scope half-way', { scope: 0.5 }, 0.45, 'medium'],
    ['scope nearly saturated: warning', { scope: 0.9 }, 0.81, 'warning'],
    ['scope saturated: revoke', { scope: 1 }, 0.9, 'revoke'],
    ['scope .6 + policy 2/3', { scope: 0.6, policy: 2 / 3 }, 1 - (1 - 0.54) * (1 - 0.6), 'warning'],
    ['scope .7 + policy 2/3', { scope: 0.7, policy: 2 / 3 }, 1 - (1 - 0.63) * (1 - 0.6), 'revoke'],
    ['rate + auth + anomaly all full', { rate: 1, auth: 1, anomaly: 1 }, 1 - 0.5 * 0.4 * 0.4, 'revoke'],
  ])('%s', (_name, values, want, band) => {
    const s = combineFeatures(features(values), D);
    expect(s.value).toBeCloseTo(want, 6);
    expect(s.band).toBe(band);
    // contributions: only contributing features, and they add up to the score
    expect(s.reasons.map((r) => r.feature).sort()).toEqual(
      Object.keys(values)
        .filter((k) => values[k as FeatureName]! > 0)
        .sort(),
    );
    expect(s.reasons.reduce((a, r) => a + r.contribution, 0)).toBeCloseTo(s.value, 5);
    for (const r of s.reasons) expect(r.alone).toBeCloseTo(r.weight * r.value, 6);
  });

  it('is monotone in every feature and stays in [0,1]', () => {
    const grid = [0, 0.25, 0.5, 0.75, 1];
    for (const name of FEATURE_NAMES) {
      let last = -1;
      for (const v of grid) {
        const s = combineFeatures(features({ scope: 0.3, rate: 0.2, [name]: v }), D).value;
        expect(s).toBeGreaterThanOrEqual(last);
        expect(s).toBeLessThanOrEqual(1);
        last = s;
      }
    }
  });

  it('orders reasons by contribution and shares a saturated score between saturated features', () => {
    const cfg = parseRiskConfig({ defaults: { weights: { scope: 1, policy: 1 } } }).defaults;
    const s = combineFeatures(features({ scope: 1, policy: 1, rate: 0.5 }), cfg);
    expect(s.value).toBe(1);
    expect(s.reasons.map((r) => [r.feature, r.contribution])).toEqual([
      ['scope', 0.5],
      ['policy', 0.5],
      ['rate', 0],
    ]);
    const t = combineFeatures(features({ scope: 0.2, policy: 0.6 }), D);
    expect(t.reasons.map((r) => r.feature)).toEqual(['policy', 'scope']);
  });

  it.each([
    [0.2999, 'low'],
    [0.3, 'medium'],
    [0.7499, 'medium'],
    [0.75, 'warning'],
    [0.8499, 'warning'],
    [0.85, 'revoke'],
    [1, 'revoke'],
  ])('band of %s is %s (defaults 0.3 / 0.75 / 0.85)', (v, band) => {
    expect(bandOf(v, D.thresholds)).toBe(band);
  });
});

describe('parseRiskConfig', () => {
  it('defaults: 0.3 / 0.75 / 0.85, frozen', () => {
    const c = parseRiskConfig();
    expect(c.defaults.thresholds).toEqual({ medium: 0.3, warning: 0.75, revoke: 0.85 });
    expect(c.limits).toEqual({ maxBatch: 1000, maxSkewMs: 300_000, maxAgeMs: 30 * 86_400_000 });
    expect(c.window).toEqual({ bucketMs: 3_600_000, bucketCount: 720 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.defaults.thresholds)).toBe(true);
    expect(Object.isFrozen(c.defaults.features.rate)).toBe(true);
  });

  it('resolves tenants over the (overridden) defaults', () => {
    const c = parseRiskConfig({
      defaults: { weights: { rate: 0.4 } },
      tenants: {
        strict: {
          thresholds: { warning: 0.4, revoke: 0.5 },
          holdOnWarning: true,
          features: { scope: { saturation: 5 } },
        },
      },
      window: { bucketMinutes: 30, days: 7 },
      limits: { maxBatch: 100, maxSkewSeconds: 60 },
    });
    const strict = tenantRiskConfig(c, 'strict');
    expect(strict.thresholds).toEqual({ medium: 0.3, warning: 0.4, revoke: 0.5 });
    expect(strict.weights.rate).toBe(0.4); // inherited from the overridden defaults
    expect(strict.holdOnWarning).toBe(true);
    expect(strict.features.scope.saturation).toBe(5);
    expect(strict.features.policy.saturation).toBe(3);
    expect(tenantRiskConfig(c, 'other')).toBe(c.defaults);
    expect(tenantRiskConfig(c, undefined)).toBe(c.defaults);
    expect(c.window).toEqual({ bucketMs: 1_800_000, bucketCount: 336 });
    expect(c.limits).toEqual({ maxBatch: 100, maxSkewMs: 60_000, maxAgeMs: 7 * 86_400_000 });
  });

  it.each<[string, unknown, RegExp]>([
    [
      'unordered thresholds',
      { defaults: { thresholds: { warning: 0.9, revoke: 0.8 } } },
      /defaults\.thresholds: must be ordered/,
    ],
    [
      'tenant thresholds unordered against inherited ones',
      { tenants: { t: { thresholds: { medium: 0.8 } } } },
      /tenants\.t\.thresholds: must be ordered/,
    ],
    ['threshold above 1', { defaults: { thresholds: { revoke: 1.2 } } }, /defaults\.thresholds\.revoke: must be in/],
    [
      'revoke threshold 0',
      { tenants: { t: { thresholds: { medium: 0, warning: 0, revoke: 0 } } } },
      /revoke: must be in \(0, 1\]/,
    ],
    ['negative weight', { defaults: { weights: { scope: -0.1 } } }, /weights\.scope: must be in \[0, 1\]/],
    ['weight not a number', { defaults: { weights: { scope: '0.9' } } }, /weights\.scope: must be a finite number/],
    ['unknown feature weight', { defaults: { weights: { speed: 1 } } }, /weights\.speed: unknown key/],
    ['misspelt key', { defaults: { tresholds: {} } }, /defaults\.tresholds: unknown key/],
    ['bad tenant id', { tenants: { 'a b': {} } }, /tenant id/],
    ['holdOnWarning not boolean', { tenants: { t: { holdOnWarning: 'yes' } } }, /holdOnWarning: must be true or false/],
    [
      'rate ramp inverted',
      { defaults: { features: { rate: { startRatio: 5, fullRatio: 4 } } } },
      /fullRatio \(4\) must be above startRatio \(5\)/,
    ],
    ['batch size 0', { limits: { maxBatch: 0 } }, /limits\.maxBatch/],
    ['window not whole buckets', { window: { bucketMinutes: 7, days: 1 } }, /whole number/],
    ['not an object', 'x', /risk config risk: must be an object/],
  ])('refuses %s', (_name, raw, message) => {
    let err: unknown;
    try {
      parseRiskConfig(raw);
    } catch (e) {
      err = e;
    }
    expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_CONFIG_INVALID');
    expect((err as Error).message).toMatch(message);
  });
});
