import { beforeEach, describe, expect, it } from 'vitest';
import { FixedClock } from '../../../src/clock.js';
import { CrlScheduler, type CrlSchedulerOptions, type SchedulerTimers } from '../../../src/crl/scheduler.js';
import { AgentCaError } from '../../../src/errors.js';
import type { CrlKind, CrlRecord } from '../../../src/store/ports.js';
import type { IssuerId } from '../../../src/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const START = new Date('2030-06-01T00:00:00Z');
const INT = 'intermediate' as IssuerId;

/** Timers on the test's clock: advance() fires what is due, in time order, settling the scheduler after each. */
class ManualTimers implements SchedulerTimers {
  private next = 0;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly clock: FixedClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.pending.set(id, { at: this.clock.now().getTime() + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const end = this.clock.now().getTime() + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const p of this.pending) if (p[1].at <= end && (!due || p[1].at < due[1].at)) due = p;
      if (!due) break;
      this.pending.delete(due[0]);
      this.clock.set(due[1].at);
      due[1].fn();
      await settle();
    }
    this.clock.set(end);
  }
}

/** Records what was published when; deltas fail without a full CRL like the real publisher. */
class FakePublisher {
  readonly log: string[] = [];
  failNextDelta: Error | undefined;
  gate: Promise<void> | undefined;
  private number = 0n;
  private full: CrlRecord | undefined;
  constructor(private readonly clock: FixedClock) {}
  private record(kind: CrlKind): CrlRecord {
    const now = this.clock.now();
    return {
      issuerId: INT,
      number: ++this.number,
      kind,
      der: Buffer.alloc(1),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + HOUR),
    };
  }
  async publishFull(): Promise<CrlRecord> {
    if (this.gate) await this.gate;
    this.full = this.record('full');
    this.log.push(`full@${(this.clock.now().getTime() - START.getTime()) / MIN}`);
    return this.full;
  }
  async publishDelta(): Promise<CrlRecord> {
    const fail = this.failNextDelta;
    this.failNextDelta = undefined;
    if (fail) throw fail;
    if (!this.full) throw new AgentCaError('STORE_NOT_FOUND', 'no base');
    this.log.push(`delta@${(this.clock.now().getTime() - START.getTime()) / MIN}`);
    return this.record('delta');
  }
  async latest(_issuerId: IssuerId, kind: CrlKind): Promise<CrlRecord | undefined> {
    return kind === 'full' ? this.full : undefined;
  }
  seed(thisUpdate: Date): void {
    this.full = { ...this.record('full'), thisUpdate };
  }
}

let clock: FixedClock;
let timers: ManualTimers;
let publisher: FakePublisher;
let errors: string[];
let scheduler: CrlScheduler;

function make(over: Partial<CrlSchedulerOptions> = {}): CrlScheduler {
  scheduler = new CrlScheduler({
    publisher,
    clock,
    timers,
    issuers: [INT],
    fullEveryMs: 6 * HOUR,
    deltaEveryMs: 15 * MIN,
    debounceMs: 2_000,
    maxDelayMs: 10_000,
    onError: (e, ctx) => errors.push(`${ctx.kind}: ${(e as Error).message}`),
    ...over,
  });
  return scheduler;
}
const advance = (ms: number) => timers.advance(ms, () => scheduler.idle());

beforeEach(() => {
  clock = new FixedClock(START);
  timers = new ManualTimers(clock);
  publisher = new FakePublisher(clock);
  errors = [];
});

describe('CrlScheduler', () => {
  it('publishes a full CRL at start when there is none, then deltas and fulls on their periods', async () => {
    await make().start();
    expect(publisher.log).toEqual(['full@0']);
    await advance(6 * HOUR);
    expect(publisher.log.filter((l) => l.startsWith('full'))).toEqual(['full@0', 'full@360']);
    expect(publisher.log.filter((l) => l.startsWith('delta'))).toHaveLength(24);
    expect(publisher.log[1]).toBe('delta@15');
    expect(errors).toEqual([]);
  });

  it('waits out the remaining period when a recent full CRL exists', async () => {
    publisher.seed(new Date(START.getTime() - HOUR));
    await make({ deltaEveryMs: 24 * HOUR }).start();
    expect(publisher.log).toEqual([]);
    await advance(5 * HOUR);
    expect(publisher.log).toEqual(['full@300']);
  });

  it('debounces revocations into one delta after a quiet period', async () => {
    await make().start();
    scheduler.revocationChanged(INT);
    await advance(1_000);
    scheduler.revocationChanged(INT);
    await advance(1_000);
    scheduler.revocationChanged(INT);
    await advance(1_999);
    expect(publisher.log).toEqual(['full@0']);
    await advance(1);
    expect(publisher.log).toEqual(['full@0', `delta@${4 / 60}`]); // 2 s after the last of 0 s, 1 s, 2 s
    // the periodic delta counts from that publication
    await advance(15 * MIN - 1);
    expect(publisher.log).toHaveLength(2);
    await advance(1);
    expect(publisher.log).toHaveLength(3);
  });

  it('publishes within maxDelayMs even when revocations never stop', async () => {
    await make({ maxDelayMs: 5_000 }).start();
    for (let i = 0; i < 12; i++) {
      scheduler.revocationChanged(INT);
      await advance(1_000);
    }
    // first pending at 0 s: due by 5 s; the next burst starts at 5 s: due by 10 s
    expect(publisher.log).toEqual(['full@0', `delta@${5 / 60}`, `delta@${10 / 60}`]);
  });

  it('falls back to a full CRL when a delta has no base, and reports other errors without stopping', async () => {
    await make().start();
    publisher.failNextDelta = new AgentCaError('STORE_NOT_FOUND', 'marker gone');
    scheduler.revocationChanged(INT);
    await advance(2_000);
    expect(publisher.log).toEqual(['full@0', `full@${2 / 60}`]);
    publisher.failNextDelta = new Error('KMS unavailable');
    await advance(15 * MIN); // the periodic delta armed at start fails at 15 min
    expect(errors).toEqual(['delta: KMS unavailable']);
    await advance(15 * MIN); // and is re-armed
    expect(publisher.log.at(-1)).toBe('delta@30');
  });

  it('ignores unknown issuers and revocations before start', async () => {
    make();
    scheduler.revocationChanged(INT);
    scheduler.revocationChanged('other' as IssuerId);
    expect(timers.pending.size).toBe(0);
  });

  it('stop() clears every timer and waits for the publication in flight', async () => {
    await make().start();
    scheduler.revocationChanged(INT);
    let open!: () => void;
    publisher.gate = new Promise<void>((r) => (open = r));
    void scheduler.run(INT, 'full');
    for (let i = 0; i < 5; i++) await Promise.resolve(); // the publication is now waiting on the gate
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(timers.pending.size).toBe(0);
    expect(stopped).toBe(false);
    open();
    await stopping;
    expect(publisher.log).toEqual(['full@0', 'full@0']);
    scheduler.revocationChanged(INT);
    expect(timers.pending.size).toBe(0);
  });

  it('fullOnChange: a change publishes a full CRL and a delta on it while small, only a delta once large', async () => {
    let small = true;
    await make({ deltaEveryMs: 24 * HOUR, fullOnChange: () => small }).start();
    expect(publisher.log).toEqual(['full@0']);
    scheduler.revocationChanged(INT);
    await advance(2_000);
    expect(publisher.log).toEqual(['full@0', 'full@0.03333333333333333', 'delta@0.03333333333333333']);
    small = false;
    scheduler.revocationChanged(INT);
    await advance(2_000);
    expect(publisher.log.slice(3)).toEqual(['delta@0.06666666666666667']);
    expect(errors).toEqual([]);
  });
});
