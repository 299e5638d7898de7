/**
 * Part of `npm run bench -- --only risk-memory`: agents active every hour of the month (half
 * of them trading every hour, 15.4 KB of window each in memory) under the engine's window
 * budget (src/risk/resident-windows.ts, docs/risk-engine.md "Evicting windows"), on LevelDB.
 *
 * Each run is a fresh child process:
 *  - build: every agent's 30-day history, agent after agent, evicting to the store as the
 *    budget requires (what a restart's replay does);
 *  - steady (timed, twice): batches of 100 events in the current hour, for agents drawn
 *    uniformly from all of them (the worst case: most windows are evicted, most events miss),
 *    then with 90% of the events for a tenth of the agents: acquire (restoring the evicted
 *    ones), count, release, trim;
 *  - restore latency: one evicted window at a time, acquire -> resident (store read + decode);
 *  - memory after a full GC: heapUsed + external (windows, the evicted index, the store's
 *    buffers) and RSS (adds LevelDB's own caches), against the budget and 4 GiB.
 * The baseline, in the same bench: the same steady workload over as many agents as the budget
 * holds, with no budget (nothing evicted, nothing restored).
 * AGENT_CA_BENCH_RISK_EVICT_AGENTS (default 1,000,000) sets the population; the budget is 2 GiB
 * per 1,000,000 agents (AGENT_CA_BENCH_RISK_BUDGET, bytes, overrides).
 * AGENT_CA_BENCH_RISK_EVICT_STORE=memory keeps the snapshots in the memory store instead (what
 * the engine's side costs without LevelDB; the RSS figure then includes the snapshots).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ResidentWindows } from '../../src/risk/resident-windows.js';
import { DEFAULT_WINDOW_SHAPE } from '../../src/risk/window.js';
import { openLevelStore } from '../../src/store/level/level-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { runInChild } from './child-rss.js';
import { prng } from '../../test/helpers/prng.js';
import { fmt, line } from './util.js';

const HOUR = 3_600_000;
const NOW = Date.parse('2031-06-30T23:30:00Z');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface EvictArgs {
  agents: number;
  /** window budget, bytes; 0 = none (baseline) */
  budget: number;
  seconds: number;
  /** 'memory' keeps the snapshots in the process (to tell the engine's cost from LevelDB's) */
  store: 'level' | 'memory';
}
export interface SteadyFigures {
  events: number;
  eventsPerSecond: number;
  batchP50Ms: number;
  batchP99Ms: number;
  /** windows restored per event */
  missRate: number;
}
export interface EvictResult {
  buildSeconds: number;
  buildEvictions: number;
  /** events for agents drawn uniformly */
  uniform: SteadyFigures;
  /** 90% of the events for a tenth of the agents */
  hot: SteadyFigures;
  restoreP50Ms: number;
  restoreP99Ms: number;
  residentWindows: number;
  evictedWindows: number;
  residentBytes: number;
  heapPlusExternal: number;
  rss: number;
}

const serialOf = (i: number): string => (0x4000_0000_0000 + i).toString(16).padStart(32, '7');

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;
}

/** Child task: one population under one budget. */
export async function measureEviction(args: EvictArgs): Promise<EvictResult> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = mkdtempSync(join(tmpdir(), 'risk-evict-'));
  const store = args.store === 'memory' ? await createMemoryStore() : await openLevelStore({ dataDir: dir });
  try {
    const windows = new ResidentWindows({
      shape: DEFAULT_WINDOW_SHAPE,
      store,
      maxBytes: args.budget > 0 ? args.budget : Number.MAX_SAFE_INTEGER,
      prefix: 'risk.window.',
      logger: { warn: () => undefined, error: (m, f) => void process.stderr.write(`${m} ${JSON.stringify(f)}\n`) },
    });
    const r = prng(42);
    const from = NOW - 720 * HOUR + HOUR;
    const t0 = performance.now();
    for (let i = 0; i < args.agents; i++) {
      const serial = serialOf(i);
      const trades = i % 2 === 0;
      await windows.acquire([serial]);
      for (let h = 0; h < 719; h++)
        windows.add(serial, from + h * HOUR, {
          type: trades ? 'transaction' : 'api_call',
          outcome: 'success',
          ...(trades ? { amountLog: Math.log1p(100 + r() * 50_000) } : {}),
        });
      windows.release([serial]);
      if (i % 1000 === 999) await windows.trim();
    }
    await windows.trim();
    const buildSeconds = (performance.now() - t0) / 1000;
    const buildEvictions = windows.stats().evictions;

    // steady: 100-event batches, this hour; uniform over all agents, then 90% of the events
    // for a tenth of them (the recently active are the likely next)
    const steady = async (pick: () => number): Promise<SteadyFigures> => {
      const batchMs: number[] = [];
      let events = 0;
      const restoresBefore = windows.stats().restores;
      const start = performance.now();
      const deadline = start + args.seconds * 1000;
      while (performance.now() < deadline) {
        const b0 = performance.now();
        const picks = Array.from({ length: 100 }, pick);
        const serials = [...new Set(picks.map(serialOf))];
        await windows.acquire(serials);
        for (const i of picks) {
          const trades = i % 2 === 0;
          windows.add(serialOf(i), NOW, {
            type: trades ? 'transaction' : 'api_call',
            outcome: 'success',
            ...(trades ? { amountLog: Math.log1p(100 + r() * 50_000) } : {}),
          });
        }
        windows.release(serials);
        await windows.trim();
        events += picks.length;
        batchMs.push(performance.now() - b0);
      }
      batchMs.sort((a, b) => a - b);
      return {
        events,
        eventsPerSecond: events / ((performance.now() - start) / 1000),
        batchP50Ms: quantile(batchMs, 0.5),
        batchP99Ms: quantile(batchMs, 0.99),
        missRate: (windows.stats().restores - restoresBefore) / events,
      };
    };
    const uniform = await steady(() => Math.floor(r() * args.agents));
    const hotSet = Math.max(1, Math.floor(args.agents / 10));
    // untimed: the hot set made resident once (what it would be after a while of such traffic)
    for (let i = 0; i < hotSet; i += 100) {
      const serials = Array.from({ length: Math.min(100, hotSet - i) }, (_, k) => serialOf(i + k));
      await windows.acquire(serials);
      windows.release(serials);
      await windows.trim();
    }
    const hot = await steady(() =>
      r() < 0.9 ? Math.floor(r() * hotSet) : hotSet + Math.floor(r() * (args.agents - hotSet)),
    );

    // restore latency, one window at a time (only meaningful with evicted windows)
    const restoreMs: number[] = [];
    if (windows.stats().evicted > 0) {
      for (let k = 0; k < 2000 && windows.stats().evicted > 0; k++) {
        const serial = serialOf(Math.floor(r() * args.agents));
        if (!windows.has(serial) || windows.isResident(serial)) continue;
        const s0 = performance.now();
        await windows.acquire([serial]);
        restoreMs.push(performance.now() - s0);
        windows.release([serial]);
        await windows.trim();
      }
    }
    restoreMs.sort((a, b) => a - b);
    gc();
    gc();
    const m = process.memoryUsage();
    const st = windows.stats();
    return {
      buildSeconds,
      buildEvictions,
      uniform,
      hot,
      restoreP50Ms: quantile(restoreMs, 0.5),
      restoreP99Ms: quantile(restoreMs, 0.99),
      residentWindows: st.resident,
      evictedWindows: st.evicted,
      residentBytes: st.residentBytes,
      heapPlusExternal: m.heapUsed + m.external,
      rss: m.rss,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRiskEviction(seconds: number): Promise<void> {
  const kind = process.env.AGENT_CA_BENCH_RISK_EVICT_STORE === 'memory' ? 'memory' : 'level';
  const agents = Number(process.env.AGENT_CA_BENCH_RISK_EVICT_AGENTS ?? 1_000_000);
  const budget = Number(process.env.AGENT_CA_BENCH_RISK_BUDGET ?? Math.round((2 * GiB * agents) / 1_000_000));
  line(
    `\nalways-on agents (half trading every hour) under a window budget, ${kind === 'level' ? 'LevelDB' : 'memory store'}, ${fmt(agents)} agents,`,
    `budget ${fmt(budget / MiB)} MiB; steady: 100-event batches, uniform over the agents, ${seconds} s`,
  );
  const evict = (
    await runInChild<EvictArgs, EvictResult>(
      import.meta.url,
      'measureEviction',
      { agents, budget, seconds, store: kind },
      7_200_000,
    )
  ).result;
  // the baseline: as many agents as the budget held resident, no budget
  const fit = Math.max(1000, evict.residentWindows);
  const base = (
    await runInChild<EvictArgs, EvictResult>(
      import.meta.url,
      'measureEviction',
      { agents: fit, budget: 0, seconds, store: kind },
      7_200_000,
    )
  ).result;
  const row = (label: string, n: number, x: EvictResult, f: SteadyFigures): void =>
    line(
      label.padEnd(40),
      fmt(n).padStart(10),
      fmt(f.eventsPerSecond).padStart(10),
      `${fmt(f.batchP50Ms, 2)} / ${fmt(f.batchP99Ms, 2)}`.padStart(17),
      `${fmt(f.missRate * 100, 1)}%`.padStart(7),
      fmt(x.residentWindows).padStart(10),
      fmt(x.evictedWindows).padStart(10),
      `${fmt(x.heapPlusExternal / MiB)} MiB`.padStart(11),
      `${fmt(x.rss / MiB)} MiB`.padStart(11),
      `${fmt(x.buildSeconds, 1)}`.padStart(8),
    );
  line(
    'run'.padEnd(40),
    'agents'.padStart(10),
    'events/s'.padStart(10),
    'batch p50/p99 ms'.padStart(17),
    'misses'.padStart(7),
    'resident'.padStart(10),
    'evicted'.padStart(10),
    'heap+ext'.padStart(11),
    'rss'.padStart(11),
    'build s'.padStart(8),
  );
  row('baseline: all resident, no budget', fit, base, base.uniform);
  row('budget, uniform over all agents', agents, evict, evict.uniform);
  row('budget, 90% of events for 10% of agents', agents, evict, evict.hot);
  const under = evict.residentBytes <= budget && evict.rss < 4 * GiB;
  const pct = (f: SteadyFigures): string => `${((f.eventsPerSecond / base.uniform.eventsPerSecond) * 100).toFixed(1)}%`;
  line(
    `events/s under the budget: ${pct(evict.uniform)} of the all-resident baseline (uniform),`,
    `${pct(evict.hot)} (90/10 hot set);`,
    `restore of one evicted window p50 ${fmt(evict.restoreP50Ms, 3)} ms, p99 ${fmt(evict.restoreP99Ms, 3)} ms;`,
    `resident windows ${fmt(evict.residentBytes / MiB)} MiB (budget ${fmt(budget / MiB)} MiB),`,
    `process heap+external ${fmt(evict.heapPlusExternal / MiB)} MiB, RSS ${fmt(evict.rss / MiB)} MiB:`,
    `target: resident windows <= budget and RSS < 4 GiB: ${under ? 'MET' : 'MISSED'}`,
  );
}
