/**
 * `npm run bench -- --only risk-memory`: memory the risk engine holds per active certificate
 * (one with events in the last 30 days), for the compact windows the engine keeps
 * (src/risk/compact-window.ts) beside the 720-bucket ring it kept before (src/risk/window.ts
 * AgentWindow, 54,720 bytes of typed arrays each), each measured in a fresh child process as
 * (heapUsed + external) after a full GC, minus the same figure for the empty store in the same
 * child (the baseline: node, tsx and the modules loaded, no window). Serial keys are 32 hex
 * characters like the CA's.
 *
 * The event mix ("realistic": a population of agents over the last 30 days):
 *  - 60% occasional: 1-24 random hours of the month; a third of them send amounts;
 *  - 30% office hours: 8 hours a day on 10-30 days; a fifth of them trade (amounts);
 *  - 10% always on: every hour of the 30 days; half of them trade every hour;
 *  - a flagged event (scope/policy/auth) in 1% of active hours.
 * What a window holds depends on which hours were used and which fields (amounts, flags), not
 * on how many events an hour had (counters are fixed-size), so each active hour gets 1-3 events.
 * Each profile is also measured alone, and the worst case (every agent always on and trading).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CompactWindowStore } from '../../src/risk/compact-window.js';
import { DEFAULT_WINDOW_SHAPE, WindowStore, type BucketIncrement } from '../../src/risk/window.js';
import { runInChild } from './child-rss.js';
import { benchRiskEviction } from './risk-evict.js';
import { prng } from '../../test/helpers/prng.js';
import { fmt, header, line } from './util.js';

const HOUR = 3_600_000;
const WINDOW_HOURS = 720;
const NOW = Date.parse('2031-06-30T23:30:00Z');
type Profile = 'mix' | 'occasional' | 'office' | 'always' | 'always-trading';

/** The hours (ascending, 0 = 30 days ago) an agent was active, and whether it sends amounts. */
function habit(profile: Profile, r: () => number): { hours: number[]; amounts: boolean } {
  const p = profile === 'mix' ? (r() < 0.6 ? 'occasional' : r() < 0.75 ? 'office' : 'always') : profile;
  if (p === 'occasional') {
    const n = 1 + Math.floor(r() * 24);
    const set = new Set<number>();
    while (set.size < n) set.add(Math.floor(r() * WINDOW_HOURS));
    return { hours: [...set].sort((a, b) => a - b), amounts: r() < 1 / 3 };
  }
  if (p === 'office') {
    const days = 10 + Math.floor(r() * 21);
    const start = 8 + Math.floor(r() * 3);
    const hours: number[] = [];
    for (let d = 30 - days; d < 30; d++) for (let h = 0; h < 8; h++) hours.push(d * 24 + start + h);
    return { hours, amounts: r() < 0.2 };
  }
  return {
    hours: Array.from({ length: WINDOW_HOURS }, (_, h) => h),
    amounts: p === 'always-trading' || r() < 0.5,
  };
}

interface Sink {
  getOrCreate(serial: string): { add(timeMs: number, inc: BucketIncrement): boolean };
  readonly size: number;
}

function fill(store: Sink, n: number, profile: Profile, seed: number): { hours: number; events: number } {
  const r = prng(seed);
  const from = NOW - WINDOW_HOURS * HOUR + HOUR;
  let hours = 0;
  let events = 0;
  for (let i = 0; i < n; i++) {
    const serial = (0x4000_0000_0000 + i).toString(16).padStart(32, '7');
    const w = store.getOrCreate(serial);
    const h = habit(profile, r);
    for (const hour of h.hours) {
      const k = 1 + Math.floor(r() * 3);
      for (let e = 0; e < k; e++) {
        const flagged = e === 0 && r() < 0.01;
        const trade = h.amounts && e === 0;
        w.add(from + hour * HOUR + e * 60_000, {
          type: trade ? 'transaction' : 'api_call',
          outcome: 'success',
          ...(trade ? { amountLog: Math.log1p(100 + r() * 50_000) } : {}),
          ...(flagged ? { scopeViolation: true } : {}),
        });
        events++;
      }
    }
    hours += h.hours.length;
  }
  return { hours, events };
}

export interface MemoryArgs {
  form: 'compact' | 'ring';
  agents: number;
  profile: Profile;
}
export interface MemoryResult {
  baselineBytes: number;
  bytes: number;
  perAgent: number;
  typedArrayBytesPerAgent: number;
  activeHoursPerAgent: number;
  eventsAdded: number;
  seconds: number;
}

/** Child task: one store of `agents` windows; (heapUsed + external) after GC, minus before. */
export async function measureWindows(args: MemoryArgs): Promise<MemoryResult> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const used = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const shape = DEFAULT_WINDOW_SHAPE;
  const store = args.form === 'compact' ? new CompactWindowStore(shape) : new WindowStore(shape);
  const baselineBytes = used();
  const t0 = performance.now();
  const { hours, events } = fill(store, args.agents, args.profile, 42);
  const seconds = (performance.now() - t0) / 1000;
  const bytes = used();
  const typed = store.bytes;
  if (store.size !== args.agents) throw new Error(`expected ${args.agents} windows, got ${store.size}`);
  await Promise.resolve();
  return {
    baselineBytes,
    bytes,
    perAgent: (bytes - baselineBytes) / args.agents,
    typedArrayBytesPerAgent: typed / args.agents,
    activeHoursPerAgent: hours / args.agents,
    eventsAdded: events,
    seconds,
  };
}

const GiB = 1024 ** 3;

export async function benchRiskMemory(seconds = 3): Promise<void> {
  header('risk-memory: bytes per active certificate (heapUsed + external after GC, minus the empty store)');
  const agents = Number(process.env.AGENT_CA_BENCH_RISK_AGENTS ?? 1_000_000);
  const runs: [string, MemoryArgs][] = [
    ['ring (before), mix', { form: 'ring', agents: 20_000, profile: 'mix' }],
    ['compact, mix', { form: 'compact', agents, profile: 'mix' }],
    ['compact, occasional', { form: 'compact', agents: 100_000, profile: 'occasional' }],
    ['compact, office hours', { form: 'compact', agents: 100_000, profile: 'office' }],
    ['compact, always on (half trade)', { form: 'compact', agents: 50_000, profile: 'always' }],
    ['compact, always on + trading (worst)', { form: 'compact', agents: 50_000, profile: 'always-trading' }],
  ];
  line(
    'windows'.padEnd(38),
    'agents'.padStart(10),
    'hours/agent'.padStart(11),
    'bytes/agent'.padStart(12),
    'typed arrays'.padStart(12),
    '1M agents'.padStart(10),
    'empty baseline'.padStart(15),
    'fill s'.padStart(7),
  );
  let ringPer = 0;
  let mixPer = 0;
  for (const [label, args] of runs) {
    const m = await runInChild<MemoryArgs, MemoryResult>(import.meta.url, 'measureWindows', args, 1_800_000);
    const r = m.result;
    if (args.form === 'ring') ringPer = r.perAgent;
    if (args.form === 'compact' && args.profile === 'mix') mixPer = r.perAgent;
    line(
      label.padEnd(38),
      fmt(args.agents).padStart(10),
      fmt(r.activeHoursPerAgent, 1).padStart(11),
      fmt(r.perAgent).padStart(12),
      fmt(r.typedArrayBytesPerAgent).padStart(12),
      `${fmt((r.perAgent * 1e6) / GiB, 2)} GiB`.padStart(10),
      `${fmt(r.baselineBytes / 2 ** 20, 1)} MiB`.padStart(15),
      fmt(r.seconds, 1).padStart(7),
    );
  }
  line(
    `mix: ${fmt(mixPer)} bytes/agent vs ${fmt(ringPer)} with the ring (${((mixPer / ringPer) * 100).toFixed(1)}%);`,
    `1,000,000 agents of this mix: ${fmt((mixPer * 1e6) / GiB, 2)} GiB of windows (target < 4 GiB)`,
  );
  await benchRiskEviction(seconds);
}
