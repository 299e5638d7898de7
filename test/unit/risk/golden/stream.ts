/**
 * A deterministic event stream over 40 days for eight agents with different habits (steady,
 * bursty, drifting out of scope, trading with an outlier now and then, failing auth, a gateway
 * backfilling past hours oldest-first, a second currency, a quiet agent), scored after every
 * batch and explained at checkpoints. Used to pin the engine's scores (golden values captured
 * from the ring-of-buckets window) while its memory layout changes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority } from '../../../../src/authority/create-authority.js';
import { FixedClock } from '../../../../src/clock.js';
import { authorityRiskActions } from '../../../../src/risk/actions.js';
import { parseRiskConfig } from '../../../../src/risk/config.js';
import { RiskEngine } from '../../../../src/risk/engine.js';
import type { AgentEvent } from '../../../../src/risk/events.js';
import { NotificationInbox } from '../../../../src/risk/notifications.js';
import { openLevelStore } from '../../../../src/store/level/level-store.js';
import { createMemoryStore } from '../../../../src/store/memory-store.js';
import { prng } from '../../../helpers/prng.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const SCOPE = ['read:accounts', 'write:payments', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS', 'XNYS'] };
export const START = '2031-03-01T00:07:00Z';

export interface GoldenRecord {
  /** step index, agent name, score value and band after the batch */
  steps: [number, string, number, string][];
  /** full explanations at checkpoints: agent -> [score, reasons] */
  checkpoints: { step: number; agent: string; value: number; band: string; reasons: unknown[] }[];
}

export interface GoldenRun extends GoldenRecord {
  /** what the engines logged as failed */
  errors: string[];
  /** windows written to the store and read back (the memory budget) */
  evictions: number;
  restores: number;
  /** with `restart`: every agent's score at the end, and after a second engine's restore() */
  restart?: { live: number[]; restored: number[]; restoredEvictions: number };
}

export interface GoldenOptions {
  /** batches of 20 minutes each (2,880 = 40 days) */
  steps?: number;
  /** the engine's window budget (config memory.maxWindowBytes); 0 evicts every window after every batch */
  maxWindowBytes?: number;
  /** LevelDB in the temporary directory instead of the memory store */
  level?: boolean;
  /** end with a second engine rebuilt from the audit log (same budget) */
  restart?: boolean;
}

type Habit = (r: () => number, serial: string, step: number, now: number) => AgentEvent[];

const iso = (ms: number): string => new Date(ms).toISOString();
const call = (serial: string, time: number, action = 'read:accounts', outcome = 'success'): AgentEvent => ({
  serial,
  type: 'api_call',
  action,
  outcome: outcome as AgentEvent['outcome'],
  time: iso(time),
});
const trade = (serial: string, time: number, amount: string, currency = 'USD', market = 'XNAS'): AgentEvent => ({
  serial,
  type: 'transaction',
  action: 'trade:equities',
  outcome: 'success',
  time: iso(time),
  amount,
  currency,
  market,
});

const HABITS: Record<string, Habit> = {
  steady: (r, s, _k, now) =>
    Array.from({ length: 40 + Math.floor(r() * 10) }, () => call(s, now - Math.floor(r() * 5 * MIN))),
  bursty: (r, s, k, now) => {
    const n = k % 97 === 50 ? 400 : Math.floor(r() * 12);
    return Array.from({ length: n }, () => call(s, now - Math.floor(r() * 10 * MIN)));
  },
  drifter: (r, s, k, now) => {
    const out: AgentEvent[] = Array.from({ length: 5 }, () => call(s, now));
    if (k > 1500 && r() < 0.15) out.push(call(s, now, 'delete:accounts', 'denied'));
    return out;
  },
  trader: (r, s, k, now) => {
    const out: AgentEvent[] = [];
    for (let i = 0; i < 3; i++)
      out.push(trade(s, now - i * MIN, (1000 + r() * 3000).toFixed(2), 'USD', r() < 0.5 ? 'XNAS' : 'XNYS'));
    if (k % 211 === 100) out.push(trade(s, now, (400_000 + r() * 10).toFixed(2)));
    if (k % 331 === 7) out.push(trade(s, now, '60000.5', 'USD', 'XLON'));
    return out;
  },
  forgetful: (r, s, k, now) => {
    const out: AgentEvent[] = [call(s, now)];
    if (k % 13 === 0 || (k > 2000 && k < 2100 && r() < 0.5))
      out.push({ serial: s, type: 'auth_attempt', outcome: r() < 0.5 ? 'failed' : 'denied', time: iso(now) });
    return out;
  },
  backfiller: (r, s, k, now) => {
    // every 6 h, the last 6 hours arrive at once, oldest first
    if (k % 18 !== 0) return [];
    const out: AgentEvent[] = [];
    for (let h = 6; h >= 1; h--)
      for (let i = 0; i < 20 + Math.floor(r() * 30); i++)
        out.push(call(s, now - h * HOUR + Math.floor(r() * 50 * MIN)));
    return out;
  },
  fx: (r, s, _k, now) => [
    trade(s, now, (100 + r() * 900).toFixed(2), 'EUR', 'XETR'),
    ...(r() < 0.3 ? [trade(s, now, (500 + r() * 500).toFixed(2), 'USD', 'XNYS')] : []),
    {
      serial: s,
      type: 'scope_check',
      action: 'trade:equities',
      outcome: r() < 0.02 ? 'denied' : 'success',
      time: iso(now),
    },
    { serial: s, type: 'webhook.sent', outcome: 'success', time: iso(now) },
  ],
  quiet: (r, s, k, now) => (k % 40 === 0 ? [call(s, now, 'write:payments', r() < 0.1 ? 'failed' : 'success')] : []),
};

/** Runs the stream. */
export async function runGoldenStream(opts: GoldenOptions = {}): Promise<GoldenRun> {
  const steps = opts.steps ?? 2880;
  const dir = mkdtempSync(join(tmpdir(), 'risk-golden-'));
  const clock = new FixedClock(START);
  const store = opts.level ? await openLevelStore({ dataDir: dir }) : await createMemoryStore();
  const a = await createAuthority({ dataDir: dir, store, env: {}, clock });
  try {
    await a.init({ keyType: 'p256' });
    const config = parseRiskConfig({
      tenants: { careful: { holdOnWarning: true, thresholds: { warning: 0.5, revoke: 0.9 } } },
      ...(opts.maxWindowBytes !== undefined ? { memory: { maxWindowBytes: opts.maxWindowBytes } } : {}),
    });
    const inbox = await NotificationInbox.open(a.store);
    const logger = {
      warn: () => undefined,
      error: (m: string, f?: Record<string, unknown>) => void out.errors.push(`${m} ${JSON.stringify(f)}`),
    };
    const out: GoldenRun = { steps: [], checkpoints: [], errors: [], evictions: 0, restores: 0 };
    const newEngine = (): RiskEngine =>
      new RiskEngine({ host: a, actions: authorityRiskActions(a, inbox), config, logger });
    const engine = newEngine();
    const serials = new Map<string, string>();
    for (const name of Object.keys(HABITS)) {
      const pk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'pem',
        type: 'spki',
      }) as string;
      const { serial } = await a.issue({
        agentId: name,
        publicKey: pk,
        scope: SCOPE,
        policy: POLICY,
        validityDays: 365,
        ...(name === 'forgetful' || name === 'bursty' ? { tenant: 'careful' } : {}),
      });
      serials.set(name, serial);
    }
    const r = prng(17);
    for (let k = 0; k < steps; k++) {
      clock.advance(20 * MIN);
      const now = clock.now().getTime();
      const batch: AgentEvent[] = [];
      for (const [name, habit] of Object.entries(HABITS)) batch.push(...habit(r, serials.get(name)!, k, now));
      for (let i = 0; i < batch.length; i += 1000) {
        const res = await engine.ingest(batch.slice(i, i + 1000));
        for (const sc of res.scores) {
          const name = [...serials].find(([, s]) => s === sc.serial)![0];
          out.steps.push([k, name, sc.value, sc.band]);
        }
        await engine.settle();
      }
      if (k % 144 === 143) {
        await engine.reassess();
        await engine.settle();
        for (const [name, serial] of serials) {
          const s = await engine.score(serial);
          out.checkpoints.push({ step: k, agent: name, value: s.value, band: s.band, reasons: s.reasons });
        }
      }
    }
    ({ evictions: out.evictions, restores: out.restores } = engine.stats().windows);
    if (opts.restart) {
      const live: number[] = [];
      for (const serial of serials.values()) live.push((await engine.score(serial)).value);
      engine.close();
      const rebuilt = newEngine();
      await rebuilt.restore();
      const restored: number[] = [];
      for (const serial of serials.values()) restored.push((await rebuilt.score(serial)).value);
      out.restart = { live, restored, restoredEvictions: rebuilt.stats().windows.evictions };
      rebuilt.close();
    }
    engine.close();
    return out;
  } finally {
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
