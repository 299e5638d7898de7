import { describe, expect, it } from 'vitest';
import type { NormalisedEvent } from '../../../src/risk/events.js';
import {
  amountStats,
  classifyEvent,
  DEFAULT_FEATURE_PARAMS,
  extractFeatures,
  rateBaseline,
  type CertificateFacts,
  type FeatureParams,
} from '../../../src/risk/features.js';
import { AgentWindow, bucketOf } from '../../../src/risk/window.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const P = DEFAULT_FEATURE_PARAMS;
const FACTS: CertificateFacts = {
  scope: ['read:accounts', 'write:payments', 'read:/data/raw/*'],
  policy: { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] },
};
const NO_HISTORY = { n: 0, mean: 0, sd: 0 };
const ev = (patch: Partial<NormalisedEvent>): NormalisedEvent => ({
  type: 'api_call',
  outcome: 'success',
  timeMs: T0,
  ...patch,
});

describe('classifyEvent (against the certificate’s own extensions)', () => {
  it.each<[string, Partial<NormalisedEvent>, CertificateFacts, Partial<Record<string, boolean>>]>([
    ['in-scope action', { action: 'read:accounts' }, FACTS, {}],
    ['in-scope path under a prefix pattern', { action: 'read:/data/raw/2026/x.csv' }, FACTS, {}],
    ['action outside scope', { action: 'write:accounts' }, FACTS, { scopeViolation: true }],
    ['path traversal is outside scope', { action: 'read:/data/raw/../secret' }, FACTS, { scopeViolation: true }],
    [
      'outside scope even when the service says success',
      { action: 'delete:accounts', outcome: 'success' },
      FACTS,
      { scopeViolation: true },
    ],
    [
      'explicit scope_check denial, action in scope',
      { type: 'scope_check', action: 'read:accounts', outcome: 'denied' },
      FACTS,
      { scopeViolation: true },
    ],
    ['scope_check that succeeded', { type: 'scope_check', action: 'read:accounts', outcome: 'success' }, FACTS, {}],
    [
      'no agentScope extension: default deny',
      { action: 'read:accounts' },
      { policy: FACTS.policy! },
      { scopeViolation: true },
    ],
    ['event without action: nothing to check', {}, {}, {}],
    ['amount at the limit', { type: 'transaction', amount: '50000', currency: 'USD' }, FACTS, {}],
    [
      'amount one micro-unit over the limit',
      { type: 'transaction', amount: '50000.000001', currency: 'USD' },
      FACTS,
      { amountOverLimit: true },
    ],
    [
      'amount over the limit in another currency: not comparable',
      { type: 'transaction', amount: '90000', currency: 'EUR' },
      FACTS,
      {},
    ],
    ['amount on an api_call is still checked', { amount: '60000', currency: 'USD' }, FACTS, { amountOverLimit: true }],
    ['market not allowed', { type: 'transaction', market: 'XLON' }, FACTS, { marketNotAllowed: true }],
    ['market allowed', { type: 'transaction', market: 'XNYS' }, FACTS, {}],
    [
      'no allowedMarkets: any market',
      { type: 'transaction', market: 'XLON' },
      { policy: { maxTransactionSize: { amount: '1', currency: 'USD' } } },
      {},
    ],
    ['failed auth', { type: 'auth_attempt', outcome: 'failed' }, FACTS, { authFailure: true }],
    ['denied auth', { type: 'auth_attempt', outcome: 'denied' }, FACTS, { authFailure: true }],
    ['successful auth', { type: 'auth_attempt', outcome: 'success' }, FACTS, {}],
  ])('%s', (_name, patch, facts, want) => {
    const f = classifyEvent(ev(patch), facts, NO_HISTORY, P);
    expect({
      scopeViolation: f.scopeViolation,
      amountOverLimit: f.amountOverLimit,
      marketNotAllowed: f.marketNotAllowed,
      authFailure: f.authFailure,
      anomalous: f.anomalous,
    }).toEqual({
      scopeViolation: false,
      amountOverLimit: false,
      marketNotAllowed: false,
      authFailure: false,
      anomalous: false,
      ...want,
    });
  });

  it('flags amounts far above the agent’s own history, only after enough history, only upwards', () => {
    const w = new AgentWindow();
    for (let i = 0; i < 30; i++)
      w.add(T0, { type: 'transaction', outcome: 'success', amountLog: Math.log1p(1000 + (i % 5) * 100) });
    const stats = amountStats(w, T0);
    expect(stats.n).toBe(30);
    const tx = (amount: string) => classifyEvent(ev({ type: 'transaction', amount, currency: 'USD' }), FACTS, stats, P);
    expect(tx('1200').anomalous).toBe(false);
    expect(tx('45000').anomalous).toBe(true); // under the policy limit, but ~40x its usual
    expect(tx('45000').z!).toBeGreaterThan(P.anomaly.zThreshold);
    expect(tx('1').anomalous).toBe(false); // far below is not a risk signal
    expect(
      classifyEvent(ev({ type: 'transaction', amount: '45000', currency: 'USD' }), FACTS, { ...stats, n: 19 }, P)
        .anomalous,
    ).toBe(false);
    // other currencies don't feed (or get judged by) the USD statistics
    expect(tx('1200').amountLog).toBeCloseTo(Math.log1p(1200));
    expect(classifyEvent(ev({ type: 'transaction', amount: '45000', currency: 'JPY' }), FACTS, stats, P)).toMatchObject(
      { anomalous: false },
    );
    expect(
      classifyEvent(ev({ type: 'transaction', amount: '45000', currency: 'JPY' }), FACTS, stats, P).amountLog,
    ).toBeUndefined();
  });
});

/** `perHour` events in each of `hours` hours ending at the hour before `end`. */
function steady(w: AgentWindow, end: number, hours: number, perHour: number): void {
  for (let h = hours; h >= 1; h--)
    for (let i = 0; i < perHour; i++) w.add(end - h * HOUR + i, { type: 'api_call', outcome: 'success' });
}

describe('extractFeatures', () => {
  const now = T0 + 72 * HOUR + 30 * 60_000; // half past the hour

  it('a steady high-volume agent has rate 0: its own baseline, not a global one', () => {
    const w = new AgentWindow();
    steady(w, T0 + 72 * HOUR, 72, 5000);
    for (let i = 0; i < 2500; i++) w.add(now - i, { type: 'api_call', outcome: 'success' });
    const f = extractFeatures(w, now, P);
    expect(f.rate.raw.baseline).toBe(5000);
    expect(f.rate.raw.recent).toBe(5000); // 2500 this half hour + half of the previous hour
    expect(f.rate.value).toBe(0);
    expect(f.scope.value + f.policy.value + f.auth.value + f.anomaly.value).toBe(0);
  });

  it.each([
    ['2x own baseline', 2, 0],
    ['3x (startRatio)', 3, 0],
    ['6.5x', 6.5, 0.5],
    ['10x (fullRatio)', 10, 1],
    ['40x', 40, 1],
  ])('rate at %s', (_name, factor, want) => {
    const w = new AgentWindow();
    steady(w, T0 + 72 * HOUR, 72, 100);
    // the previous hour empty, this hour at factor x baseline
    const startOfHour = bucketOf(now, HOUR) * HOUR;
    const w2 = new AgentWindow();
    steady(w2, startOfHour - HOUR, 71, 100);
    for (let i = 0; i < factor * 100; i++) w2.add(startOfHour + i, { type: 'api_call', outcome: 'success' });
    const f = extractFeatures(w2, now, P);
    expect(f.rate.raw.baseline).toBe(100);
    expect(f.rate.value).toBeCloseTo(want, 6);
  });

  it('rate needs history and a floor: a new or quiet agent does not alarm on a small burst', () => {
    const w = new AgentWindow();
    steady(w, T0 + 10 * HOUR, 10, 100);
    for (let i = 0; i < 5000; i++) w.add(T0 + 10 * HOUR + i, { type: 'api_call', outcome: 'success' });
    expect(extractFeatures(w, T0 + 10 * HOUR + 1000, P).rate).toMatchObject({ value: 0, raw: { historyBuckets: 9 } });
    const quiet = new AgentWindow();
    steady(quiet, T0 + 48 * HOUR, 48, 1);
    for (let i = 0; i < 50; i++) quiet.add(T0 + 48 * HOUR + i, { type: 'api_call', outcome: 'success' });
    const f = extractFeatures(quiet, T0 + 48 * HOUR + 1000, P);
    expect(f.rate.raw.baseline).toBe(1);
    expect(f.rate.raw.ratio).toBeCloseTo(51 / P.rate.floorPerBucket, 2); // 50 now + ~1 of the previous hour, judged against the floor (20), not 1
    expect(f.rate.value).toBe(0);
  });

  it('the baseline is a quantile of complete buckets, empty hours included', () => {
    const w = new AgentWindow();
    // busy 8 hours a day for 3 days
    for (let d = 0; d < 3; d++)
      for (let h = 9; h < 17; h++)
        for (let i = 0; i < 200; i++)
          w.add(T0 + d * 24 * HOUR + h * HOUR + i, { type: 'api_call', outcome: 'success' });
    const nowBucket = bucketOf(T0 + 3 * 24 * HOUR, HOUR);
    expect(rateBaseline(w, nowBucket, 0.95)).toEqual({ value: 200, history: 62 }); // from its first event, excluding the last two buckets
    expect(rateBaseline(w, nowBucket, 0.5)).toEqual({ value: 0, history: 62 });
  });

  it.each<[string, keyof FeatureParams, string, number, number]>([
    // [name, feature, counter flag, events in the current bucket, expected value]
    ['scope: 5 of 10', 'scope', 'scopeViolation', 5, 0.5],
    ['scope: saturates at 10', 'scope', 'scopeViolation', 25, 1],
    ['policy: 1 of 3', 'policy', 'policyBreach', 1, 1 / 3],
    ['policy: 3 of 3', 'policy', 'policyBreach', 3, 1],
    ['auth: within the grace of 3', 'auth', 'authFailure', 3, 0],
    ['auth: 11.5 = halfway from 3 to 20', 'auth', 'authFailure', 11.5, 0.5],
    ['anomaly: 1 of 3', 'anomaly', 'anomalous', 1, 1 / 3],
  ])('%s', (_name, feature, flag, n, want) => {
    const w = new AgentWindow();
    for (let i = 0; i < Math.floor(n); i++) w.add(T0, { type: 'api_call', outcome: 'denied', [flag]: true });
    if (n % 1 !== 0) w.add(T0 - P.halfLifeHours * HOUR, { type: 'api_call', outcome: 'denied', [flag]: true }); // weighs 0.5
    const f = extractFeatures(w, T0 + 1000, P)[feature as 'scope'];
    expect(f.value).toBeCloseTo(want, 6);
    expect(f.raw.count).toBe(Math.ceil(n));
  });

  it('counted features fade with the half-life and vanish after the window', () => {
    const w = new AgentWindow();
    for (let i = 0; i < 10; i++) w.add(T0, { type: 'api_call', outcome: 'denied', scopeViolation: true });
    expect(extractFeatures(w, T0, P).scope.value).toBe(1);
    expect(extractFeatures(w, T0 + 72 * HOUR, P).scope.value).toBeCloseTo(0.5, 6);
    expect(extractFeatures(w, T0 + 144 * HOUR, P).scope.value).toBeCloseTo(0.25, 6);
    expect(extractFeatures(w, T0 + 720 * HOUR, P).scope).toMatchObject({ value: 0, raw: { count: 0 } });
  });

  it('is pure: same inputs, same outputs; the window is not modified', () => {
    const w = new AgentWindow();
    steady(w, T0 + 30 * HOUR, 30, 10);
    w.add(T0 + 30 * HOUR, { type: 'api_call', outcome: 'denied', scopeViolation: true });
    const before = Buffer.from(w.counts.buffer).toString('base64');
    const a = extractFeatures(w, T0 + 30 * HOUR + 5, P);
    const b = extractFeatures(w, T0 + 30 * HOUR + 5, P);
    expect(a).toEqual(b);
    expect(Buffer.from(w.counts.buffer).toString('base64')).toBe(before);
  });
});
