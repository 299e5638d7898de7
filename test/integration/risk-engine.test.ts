/**
 * The risk engine against a real Authority (memory store, FixedClock): a steady high-volume
 * agent stays low; a drifting agent (out-of-scope calls, over-limit trades) is warned, then
 * revoked automatically with the score and explanation in the audit log; per-tenant thresholds
 * apply; holdOnWarning holds and releases; a rejected batch stores nothing; a restarted engine
 * rebuilds its windows from the audit log.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { FixedClock } from '../../src/clock.js';
import { authorityRiskActions } from '../../src/risk/actions.js';
import { parseRiskConfig } from '../../src/risk/config.js';
import { RiskEngine } from '../../src/risk/engine.js';
import { RiskEventsRejected, type AgentEvent } from '../../src/risk/events.js';
import { NotificationInbox, type RiskNotification } from '../../src/risk/notifications.js';
import type { RiskBand } from '../../src/risk/score.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { AuditEntry } from '../../src/store/ports.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SCOPE = ['read:accounts', 'write:payments', 'read:/data/raw/*', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] };
const CONFIG = parseRiskConfig({
  tenants: {
    strict: { thresholds: { warning: 0.4, revoke: 0.5 } },
    careful: { holdOnWarning: true },
  },
});

let tmp: TmpDir;
let clock: FixedClock;
let authority: Authority;
let inbox: NotificationInbox;
let engine: RiskEngine;
const delivered: RiskNotification[] = [];

async function issue(agentId: string, tenant: string): Promise<string> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const issued = await authority.issue({
    agentId,
    publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
    scope: SCOPE,
    policy: POLICY,
    tenant,
  });
  return issued.serial;
}

/** A well-behaved batch: in-scope calls, trades of 20k..45k USD on allowed markets. */
function normal(serial: string, n: number, seed = 0): AgentEvent[] {
  const time = clock.now().toISOString();
  const actions = ['read:accounts', 'write:payments', 'read:/data/raw/2026/q1.csv'];
  return Array.from({ length: n }, (_, i): AgentEvent => {
    const k = i + seed;
    if (k % 5 === 4)
      return {
        serial,
        type: 'transaction',
        action: 'trade:equities',
        outcome: 'success',
        time,
        amount: String(20_000 + ((k * 7919) % 25_000)),
        currency: 'USD',
        market: k % 2 ? 'XNAS' : 'XNYS',
      };
    return {
      serial,
      type: k % 3 === 0 ? 'data_access' : 'api_call',
      action: actions[k % 3]!,
      outcome: 'success',
      time,
    };
  });
}

/** Drift step k: one out-of-scope call and, every third step, a trade over the 50,000 USD limit. */
function drift(serial: string, k: number): AgentEvent[] {
  const time = clock.now().toISOString();
  const events = normal(serial, 97, k);
  events.push({ serial, type: 'api_call', action: 'write:accounts', outcome: 'denied', time });
  if (k % 3 === 0)
    events.push({
      serial,
      type: 'transaction',
      action: 'trade:equities',
      outcome: 'success',
      time,
      amount: '55000',
      currency: 'USD',
      market: 'XNAS',
    });
  return events;
}

async function auditEntries(filter: (e: AuditEntry) => boolean): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of authority.store.audit.iterate()) if (filter(e)) out.push(e);
  return out;
}

/** Drives drift steps until the certificate's band reaches `until`; returns the bands seen. */
async function driftUntil(serial: string, until: RiskBand, maxSteps = 15): Promise<RiskBand[]> {
  const bands: RiskBand[] = [];
  for (let k = 1; k <= maxSteps; k++) {
    const r = await engine.ingest(drift(serial, k), { actor: 'agent-gateway' });
    const band = r.scores.find((s) => s.serial === serial)!.band;
    bands.push(band);
    await engine.settle();
    if (band === until) break;
  }
  return bands;
}

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-risk-');
  clock = new FixedClock('2026-03-01T00:00:00.000Z');
  authority = await createAuthority({ dataDir: tmp.dir, store: await createMemoryStore(), clock, env: {} });
  await authority.init({ keyType: 'p256' });
  inbox = await NotificationInbox.open(authority.store);
  engine = new RiskEngine({
    host: authority,
    actions: authorityRiskActions(authority, inbox, { onWarning: (n) => void delivered.push(n) }),
    config: CONFIG,
  });
});

afterAll(async () => {
  engine?.close();
  await authority?.close();
  await tmp?.cleanup();
});

describe('risk engine with a real authority', () => {
  let trader: string;
  let hf: string;

  it('a steady, high-volume, in-scope agent stays low for a day and more', async () => {
    trader = await issue('trader-1', 'acme');
    hf = await issue('hf-bot', 'acme');
    let worst = 0;
    // 26 hours, a batch every 12 minutes: trader 500 events/h, hf-bot 2,500 events/h, in mixed batches
    for (let step = 0; step < 26 * 5; step++) {
      const batch = [...normal(trader, 100, step), ...normal(hf, 500, step)];
      if (step % 30 === 0)
        batch.push({ agentId: 'hf-bot', type: 'auth_attempt', outcome: 'failed', time: clock.now().toISOString() }); // a token expiry now and then
      const r = await engine.ingest(batch);
      expect(r.accepted).toBe(batch.length);
      for (const s of r.scores) worst = Math.max(worst, s.value);
      clock.advance(12 * MIN);
    }
    expect(worst).toBeLessThan(0.3);
    const a = await engine.score(hf);
    expect(a.band).toBe('low');
    expect(a.reasons.find((r) => r.feature === 'rate')).toBeUndefined(); // its own baseline: ratio ~1, feature 0
    expect((await engine.score(hf)).value).toBe(a.value);
    await engine.settle();
    expect(inbox.size).toBe(0);
    // one audit entry per batch, holding the events
    const batches = await auditEntries((e) => e.action === 'events.ingested');
    expect(batches).toHaveLength(26 * 5);
    expect(batches[1]!.details).toMatchObject({
      count: 600,
      serials: [trader, hf],
      fields: ['serial', 'time', 'type', 'outcome', 'action', 'amount', 'currency', 'market', 'flags'],
    });
    expect((batches[1]!.details.events as unknown[]).length).toBe(600);
    expect(batches[0]!.details.count).toBe(601); // with the auth failure
  });

  it('a drifting agent is warned, then revoked automatically, with the score and explanation audited', async () => {
    const bands = await driftUntil(trader, 'revoke');
    const firstWarning = bands.indexOf('warning');
    expect(firstWarning).toBeGreaterThan(0);
    expect(bands.indexOf('revoke')).toBeGreaterThan(firstWarning);
    expect(bands.slice(0, firstWarning).every((b) => b === 'low' || b === 'medium')).toBe(true);

    const warnings = inbox.list({ serial: trader });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      kind: 'risk.warning',
      band: 'warning',
      tenant: 'acme',
      agentId: 'trader-1',
      thresholds: { warning: 0.75, revoke: 0.85 },
    });
    expect(warnings[0]!.reasons.map((r) => r.feature).sort()).toEqual(['policy', 'scope']);
    expect(delivered.filter((n) => n.serial === trader)).toEqual(warnings); // e.g. the risk.warning webhook

    const view = await authority.show(trader);
    expect(view.status.state).toBe('revoked');
    expect(view.status.reason).toBe('privilegeWithdrawn');

    const [revocation, ...more] = await auditEntries((e) => e.action === 'revoke' && e.subject === trader);
    expect(more).toHaveLength(0);
    expect(revocation!.actor).toBe('risk-engine');
    const explanation = revocation!.details.explanation as {
      score: number;
      band: string;
      formula: string;
      reasons: { feature: string; contribution: number; detail: string }[];
    };
    expect(revocation!.details.score).toBeGreaterThanOrEqual(0.85);
    expect(explanation.band).toBe('revoke');
    expect(explanation.reasons.map((r) => r.feature)).toEqual(expect.arrayContaining(['scope', 'policy']));
    expect(explanation.reasons.find((r) => r.feature === 'scope')!.detail).toMatch(/outside agentScope/);
    const warned = await auditEntries((e) => e.action === 'risk.warning' && e.subject === trader);
    expect(warned).toHaveLength(1);
    // the flags say how each event was counted
    const last = (await auditEntries((e) => e.action === 'events.ingested' && e.subject === trader)).at(-1)!;
    const flagged = (last.details.events as unknown[][]).filter((t) => t[8] !== '');
    expect(flagged.map((t) => [t[4], t[8]])).toContainEqual(['write:accounts', 'scope']);

    // events keep flowing after the revocation: recorded, no second revocation
    await engine.ingest(drift(trader, 99));
    await engine.settle();
    expect(await auditEntries((e) => e.action === 'revoke' && e.subject === trader)).toHaveLength(1);
    expect(inbox.list({ serial: trader })).toHaveLength(1);

    // the steady agent, in the same batches before, is untouched
    expect((await engine.score(hf)).band).toBe('low');
    expect((await authority.show(hf)).status.state).toBe('good');
    expect(await authority.audit.verify()).toMatchObject({ ok: true });
  });

  it('per-tenant thresholds apply: a tenant with a lower revoke threshold revokes earlier', async () => {
    const loose = await issue('drifter-default', 'acme');
    const strict = await issue('drifter-strict', 'strict');
    const looseBands = await driftUntil(loose, 'revoke');
    const strictBands = await driftUntil(strict, 'revoke');
    // same behaviour, same scores; strict (warning 0.4, revoke 0.5) crosses sooner
    expect(strictBands.length).toBeLessThan(looseBands.length);
    expect(strictBands).toEqual(['low', 'low', 'warning', 'revoke']);
    expect(looseBands).toEqual(['low', 'low', 'medium', 'medium', 'medium', 'warning', 'revoke']);
    expect((await authority.show(strict)).status.state).toBe('revoked');
    expect((await authority.show(loose)).status.state).toBe('revoked');
    expect(inbox.list({ tenant: 'strict' })[0]).toMatchObject({
      serial: strict,
      thresholds: { warning: 0.4, revoke: 0.5 },
    });
  });

  it('holdOnWarning places a hold at warning and releases it when the score falls back', async () => {
    const careful = await issue('drifter-careful', 'careful');
    const bands = await driftUntil(careful, 'warning');
    expect(bands.at(-1)).toBe('warning');
    expect((await authority.show(careful)).status.state).toBe('held');
    expect(inbox.list({ serial: careful })[0]).toMatchObject({ action: 'hold', band: 'warning' });
    const held = await auditEntries((e) => e.action === 'hold' && e.subject === careful);
    expect(held).toHaveLength(1);
    expect(held[0]!.actor).toBe('risk-engine');

    // a held agent's events are still attributed (by agentId) and recorded
    const r = await engine.ingest([
      {
        agentId: 'drifter-careful',
        type: 'api_call',
        action: 'read:accounts',
        outcome: 'success',
        time: clock.now().toISOString(),
      },
    ]);
    expect(r.scores[0]!.serial).toBe(careful);

    // four days later the recency-weighted breaches have faded below warning
    clock.advance(4 * DAY);
    expect((await engine.score(careful)).value).toBeLessThan(0.75);
    await engine.reassess();
    await engine.settle();
    expect((await authority.show(careful)).status.state).toBe('good');
    const released = await auditEntries((e) => e.action === 'release' && e.subject === careful);
    expect(released).toHaveLength(1);
    expect(released[0]!.actor).toBe('risk-engine');
    expect(released[0]!.details.score).toBeLessThan(0.75);
  });

  it('a rejected batch lists every bad field and stores nothing', async () => {
    const fresh = await issue('fresh-bot', 'acme');
    const head = await authority.store.audit.head();
    const time = clock.now().toISOString();
    const outOfScope = { serial: fresh, type: 'api_call', action: 'delete:accounts', outcome: 'denied', time };

    const bad1 = await engine
      .ingest([outOfScope, { serial: fresh, type: 'api_call', outcome: 'perhaps', time: 'yesterday' }])
      .catch((e: unknown) => e);
    expect(bad1).toBeInstanceOf(RiskEventsRejected);
    expect((bad1 as RiskEventsRejected).errors.map((e) => `${e.index}.${e.field}`)).toEqual(['1.outcome', '1.time']);

    const bad2 = await engine
      .ingest([
        outOfScope,
        { serial: 'abcdef0123', type: 'api_call', outcome: 'success', time },
        { agentId: 'no-such-agent', type: 'api_call', outcome: 'success', time },
        { serial: fresh, agentId: 'hf-bot', type: 'api_call', outcome: 'success', time },
        { serial: fresh, tenant: 'strict', type: 'api_call', outcome: 'success', time },
        { serial: authority.ca('intermediate').certificate.serial, type: 'api_call', outcome: 'success', time },
      ])
      .catch((e: unknown) => e);
    expect(bad2).toBeInstanceOf(RiskEventsRejected);
    expect((bad2 as RiskEventsRejected).errors).toEqual([
      { index: 1, field: 'serial', message: 'no certificate with serial abcdef0123' },
      { index: 2, field: 'agentId', message: 'agent no-such-agent has no good (or held) certificate' },
      { index: 3, field: 'agentId', message: `serial ${fresh} belongs to agent fresh-bot` },
      { index: 4, field: 'tenant', message: `certificate ${fresh} belongs to tenant acme` },
      { index: 5, field: 'serial', message: expect.stringMatching(/not an agent certificate/) },
    ]);
    expect(await authority.store.audit.head()).toEqual(head);
    expect((await engine.score(fresh)).value).toBe(0); // the out-of-scope call was not counted
  });

  it('a restarted engine rebuilds its windows from the audit log', async () => {
    const before = await engine.score(hf);
    const restarted = new RiskEngine({
      host: authority,
      actions: authorityRiskActions(authority, inbox),
      config: CONFIG,
    });
    try {
      const r = await restarted.restore();
      expect(r.entries).toBeGreaterThan(26 * 5);
      const after = await restarted.score(hf);
      expect(after.value).toBe(before.value);
      expect(after.reasons).toEqual(before.reasons);
      // compact windows: a certificate holds the buckets it used, not the fixed 720-bucket ring
      const stats = restarted.stats();
      expect(stats).toMatchObject({ certificates: engine.stats().certificates, ringBytesPerCertificate: 54_720 });
      expect(stats.bytesPerCertificate).toBeGreaterThan(0);
      expect(stats.bytesPerCertificate).toBeLessThan(54_720 / 10);
      // nothing is re-notified or re-revoked by a restore
      await restarted.settle();
      expect(await auditEntries((e) => e.action === 'revoke' && e.actor === 'risk-engine')).toHaveLength(3);
    } finally {
      restarted.close();
    }
  });
});
