import { describe, expect, it } from 'vitest';
import { AgentCaError } from '../../../src/errors.js';
import type { RiskActions } from '../../../src/risk/actions.js';
import { parseRiskConfig } from '../../../src/risk/config.js';
import type { CertificateContext } from '../../../src/risk/context.js';
import { bandOf, type RiskAssessment } from '../../../src/risk/score.js';
import { BandTransitions } from '../../../src/risk/transitions.js';
import type { CertificateState } from '../../../src/revocation/status.js';
import type { Serial } from '../../../src/types.js';

const NOW = Date.parse('2026-03-01T00:00:00Z');
const HOLDING = parseRiskConfig({ defaults: { holdOnWarning: true } }).defaults;
const PLAIN = parseRiskConfig().defaults;

function ctx(state: CertificateState = 'good'): CertificateContext {
  return { serial: '0a' as Serial, agentId: 'bot', tenant: 'acme', notAfterMs: NOW + 1e10, state, permits: () => true };
}
const at = (value: number): RiskAssessment => ({
  serial: '0a',
  agentId: 'bot',
  tenant: 'acme',
  at: new Date(NOW).toISOString(),
  value,
  band: bandOf(value, PLAIN.thresholds),
  reasons: [],
});

function harness(fail?: { revoke?: unknown[] }) {
  const log: string[] = [];
  const audit = { append: async (e: { action: string }) => void log.push(`audit:${e.action}`) };
  const revokeFailures = [...(fail?.revoke ?? [])];
  const actions: RiskActions = {
    warn: (n) => void log.push(`warn:${n.band}${n.action ? `+${n.action}` : ''}`),
    hold: async () => void log.push('hold'),
    release: async () => void log.push('release'),
    revoke: async () => {
      log.push('revoke');
      const f = revokeFailures.shift();
      if (f) throw f as Error;
    },
  };
  const errors: string[] = [];
  const t = new BandTransitions({ audit } as never, actions, (what) => void errors.push(what));
  return { t, log, errors };
}

describe('BandTransitions', () => {
  it('warns (and holds) once on entering warning, revokes once, in that order', async () => {
    const { t, log } = harness();
    for (const v of [0.2, 0.5, 0.8, 0.82, 0.8]) t.evaluate(ctx(), at(v), HOLDING, NOW);
    await t.settle();
    for (const v of [0.86, 0.9, 0.95]) t.evaluate(ctx('held'), at(v), HOLDING, NOW);
    await t.settle();
    expect(log).toEqual(['audit:risk.warning', 'warn:warning+hold', 'hold', 'revoke']);
  });

  it('coalesces: the hold is skipped when revocation was decided before it ran, and nothing happens when the score fell back first', async () => {
    const a = harness();
    a.t.evaluate(ctx(), at(0.8), HOLDING, NOW);
    a.t.evaluate(ctx(), at(0.9), HOLDING, NOW);
    await a.t.settle();
    expect(a.log).toEqual(['audit:risk.warning', 'warn:warning+hold', 'revoke']);
    const b = harness();
    b.t.evaluate(ctx(), at(0.8), HOLDING, NOW);
    b.t.evaluate(ctx(), at(0.5), HOLDING, NOW);
    await b.t.settle();
    expect(b.log).toEqual(['audit:risk.warning', 'warn:warning+hold']); // wanted state "no hold" reached without a hold/release pair
  });

  it('a jump straight to revoke warns (band revoke) without placing a hold', async () => {
    const { t, log } = harness();
    t.evaluate(ctx(), at(0.9), HOLDING, NOW);
    await t.settle();
    expect(log).toEqual(['audit:risk.warning', 'warn:revoke', 'revoke']);
  });

  it('releases only its own hold when the score falls back, and warns again on the next crossing', async () => {
    const { t, log } = harness();
    t.evaluate(ctx(), at(0.8), HOLDING, NOW);
    await t.settle();
    t.evaluate(ctx('held'), at(0.5), HOLDING, NOW);
    await t.settle();
    t.evaluate(ctx(), at(0.4), HOLDING, NOW); // no second release
    await t.settle();
    expect(log).toEqual(['audit:risk.warning', 'warn:warning+hold', 'hold', 'release']);
    log.length = 0;
    t.evaluate(ctx('held'), at(0.8), HOLDING, NOW); // held by someone else: warn, no hold
    t.evaluate(ctx('held'), at(0.5), HOLDING, NOW); // and never released by the engine
    await t.settle();
    expect(log).toEqual(['audit:risk.warning', 'warn:warning']);
  });

  it('respects a human releasing the engine’s hold', async () => {
    const { t, log } = harness();
    t.evaluate(ctx(), at(0.8), HOLDING, NOW);
    await t.settle();
    t.released('0a', 'alice');
    t.evaluate(ctx(), at(0.78), HOLDING, NOW); // still in warning: no new hold
    t.evaluate(ctx(), at(0.5), HOLDING, NOW); // below: nothing to release
    await t.settle();
    expect(log).toEqual(['audit:risk.warning', 'warn:warning+hold', 'hold']);
  });

  it('treats "already revoked" as done, retries after other failures', async () => {
    const already = harness({ revoke: [new AgentCaError('REVOKE_ALREADY', 'x')] });
    already.t.evaluate(ctx(), at(0.9), PLAIN, NOW);
    await already.t.settle();
    already.t.evaluate(ctx(), at(0.9), PLAIN, NOW);
    await already.t.settle();
    expect(already.log.filter((l) => l === 'revoke')).toHaveLength(1);

    const flaky = harness({ revoke: [new Error('kms down')] });
    flaky.t.evaluate(ctx(), at(0.9), PLAIN, NOW);
    await flaky.t.settle();
    expect(flaky.errors).toEqual(['revoke for 0a']);
    flaky.t.evaluate(ctx(), at(0.9), PLAIN, NOW);
    await flaky.t.settle();
    expect(flaky.log).toEqual(['audit:risk.warning', 'warn:revoke', 'revoke', 'revoke']); // one warning, a retried revoke
  });

  it('does nothing for revoked or expired certificates, or when autoRevoke is off', async () => {
    const { t, log } = harness();
    t.evaluate(ctx('revoked'), at(0.99), PLAIN, NOW);
    t.evaluate({ ...ctx(), notAfterMs: NOW - 1 }, at(0.99), PLAIN, NOW);
    await t.settle();
    expect(log).toEqual([]);
    const noAuto = parseRiskConfig({ defaults: { autoRevoke: false } }).defaults;
    t.evaluate(ctx(), at(0.99), noAuto, NOW);
    await t.settle();
    expect(log).toEqual(['audit:risk.warning', 'warn:revoke']);
  });
});
