/**
 * A CA with history to report on (FixedClock, memory or LevelDB store): agent `trader-7`
 * (tenant acme) trades for three days, is held and released by a human, renewed, then drifts
 * out of scope and over its limits until the risk engine warns and revokes it; agent
 * `other-bot` (tenant beta) works in between, so its entries sit inside the trader's range.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { FixedClock } from '../../src/clock.js';
import { authorityRiskActions } from '../../src/risk/actions.js';
import { parseRiskConfig, type RiskConfig } from '../../src/risk/config.js';
import { RiskEngine } from '../../src/risk/engine.js';
import type { AgentEvent } from '../../src/risk/events.js';
import { NotificationInbox } from '../../src/risk/notifications.js';
import { createMemoryStore } from '../../src/store/memory-store.js';

const HOUR = 3_600_000;
export const REPORT_START = '2026-03-01T00:00:00.000Z';
const SCOPE = ['read:accounts', 'write:payments', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] };

export interface ReportFixture {
  authority: Authority;
  clock: FixedClock;
  riskConfig: RiskConfig;
  engine: RiskEngine;
  serials: { trader: string; renewed: string; other: string };
  /** trades (events with amount) of trader-7 and how many breached */
  trades: number;
  breaches: number;
  close(): Promise<void>;
}

function normal(serial: string, time: string, n: number, seed: number): AgentEvent[] {
  return Array.from({ length: n }, (_, i): AgentEvent => {
    const k = i + seed;
    if (k % 4 === 3)
      return {
        serial,
        type: 'transaction',
        action: 'trade:equities',
        outcome: 'success',
        time,
        amount: `${10_000 + ((k * 7919) % 30_000)}.25`,
        currency: 'USD',
        market: (k >> 2) % 2 ? 'XNAS' : 'XNYS',
      };
    return { serial, type: 'api_call', action: k % 2 ? 'read:accounts' : 'write:payments', outcome: 'success', time };
  });
}

export async function makeReportFixture(dataDir: string, opts: { level?: boolean } = {}): Promise<ReportFixture> {
  const clock = new FixedClock(REPORT_START);
  const authority = await createAuthority({
    dataDir,
    ...(opts.level ? {} : { store: await createMemoryStore() }),
    clock,
    env: {},
  });
  await authority.init({ keyType: 'p256', config: { organization: 'Example Trading Ltd' } });
  const riskConfig = parseRiskConfig({
    tenants: { acme: { thresholds: { medium: 0.3, warning: 0.7, revoke: 0.85 } } },
  });
  const inbox = await NotificationInbox.open(authority.store);
  const engine = new RiskEngine({
    host: authority,
    actions: authorityRiskActions(authority, inbox),
    config: riskConfig,
  });
  const pub = (): string =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const trader = (
    await authority.issue({
      agentId: 'trader-7',
      publicKey: pub(),
      scope: SCOPE,
      policy: POLICY,
      tenant: 'acme',
      environment: 'production',
      actor: 'admin:alice',
    })
  ).serial;
  const other = (
    await authority.issue({
      agentId: 'other-bot',
      publicKey: pub(),
      scope: SCOPE,
      policy: POLICY,
      tenant: 'beta',
      environment: 'production',
      actor: 'admin:bob',
    })
  ).serial;
  let trades = 0;
  let breaches = 0;
  const count = (events: AgentEvent[]): void => {
    for (const e of events) {
      if (e.amount === undefined && e.market === undefined) continue;
      trades++;
      if (Number(e.amount ?? 0) > 50_000 || (e.market !== undefined && !POLICY.allowedMarkets.includes(e.market)))
        breaches++;
    }
  };
  for (let h = 0; h < 72; h++) {
    clock.set(Date.parse(REPORT_START) + h * HOUR + 60_000);
    const t = normal(trader, clock.now().toISOString(), 12, h);
    count(t);
    await engine.ingest(t, { actor: 'gateway' });
    await engine.ingest(normal(other, clock.now().toISOString(), 12, h), { actor: 'gateway' });
  }
  // A checkpoint inside the range, besides the one that will close it.
  await authority.audit.checkpoint();
  clock.advance(HOUR);
  await authority.hold(trader, { actor: 'admin:alice' });
  clock.advance(HOUR);
  await authority.release(trader, { actor: 'admin:alice' });
  const renewed = (await authority.renew(trader, { actor: 'admin:alice' })).serial;
  await authority.revoke(trader, { reason: 'superseded', actor: 'admin:alice' });
  for (let k = 0; k < 40; k++) {
    clock.advance(10 * 60_000);
    const time = clock.now().toISOString();
    const events = normal(renewed, time, 8, k);
    events.push({ serial: renewed, type: 'api_call', action: 'write:accounts', outcome: 'denied', time });
    if (k % 3 === 0)
      events.push({
        serial: renewed,
        type: 'transaction',
        action: 'trade:equities',
        outcome: 'success',
        time,
        amount: '75000',
        currency: 'USD',
        market: 'XLON',
      });
    count(events);
    const r = await engine.ingest(events, { actor: 'gateway' });
    await engine.settle();
    await engine.ingest(normal(other, time, 6, k), { actor: 'gateway' });
    if (r.scores[0]!.band === 'revoke') break;
  }
  await engine.settle();
  clock.advance(HOUR);
  return {
    authority,
    clock,
    riskConfig,
    engine,
    serials: { trader, renewed, other },
    trades,
    breaches,
    async close() {
      engine.close();
      await authority.close();
    },
  };
}
