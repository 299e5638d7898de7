import { describe, expect, it } from 'vitest';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError } from '../../../src/errors.js';
import { AgentWindow, DEFAULT_WINDOW_SHAPE, WindowStore, windowBytes } from '../../../src/risk/window.js';

const T0 = '2026-03-01T00:00:00.000Z';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ev = { type: 'api_call', outcome: 'success' as const };

describe('AgentWindow', () => {
  it('counts events per feature in hourly buckets', () => {
    const clock = new FixedClock(T0);
    const w = new AgentWindow();
    const now = () => clock.now().getTime();
    w.add(now(), ev);
    w.add(now(), { type: 'auth_attempt', outcome: 'failed', authFailure: true });
    w.add(now() + 10 * 60_000, { type: 'transaction', outcome: 'success', amountLog: Math.log1p(100) });
    w.add(now(), { type: 'weird.kind', outcome: 'denied', scopeViolation: true });
    w.add(now(), { type: 'scope_check', outcome: 'denied', scopeViolation: true, policyBreach: true, anomalous: true });
    const at = now() + 30 * 60_000;
    expect(w.total('events', at)).toBe(5);
    expect(w.total('auth_attempt', at)).toBe(1);
    expect(w.total('other', at)).toBe(1);
    expect(w.total('denied', at)).toBe(2);
    expect(w.total('failed', at)).toBe(1);
    expect(w.total('scopeViolations', at)).toBe(2);
    expect(w.total('policyBreaches', at)).toBe(1);
    expect(w.total('authFailures', at)).toBe(1);
    expect(w.total('anomalies', at)).toBe(1);
    expect(w.total('amounts', at)).toBe(1);
  });

  it('expires buckets as the clock moves past 30 days, and reuses their slots', () => {
    const clock = new FixedClock(T0);
    const w = new AgentWindow();
    w.add(clock.now().getTime(), { type: 'api_call', outcome: 'denied', scopeViolation: true });
    clock.advance(10 * DAY);
    w.add(clock.now().getTime(), ev);
    expect(w.total('events', clock.now().getTime())).toBe(2);
    clock.advance(20 * DAY - HOUR); // first bucket is 30 days - 1 h old: still in
    expect(w.total('scopeViolations', clock.now().getTime())).toBe(1);
    clock.advance(HOUR); // 30 days: out
    expect(w.total('scopeViolations', clock.now().getTime())).toBe(0);
    expect(w.total('events', clock.now().getTime())).toBe(1);
    // the new bucket maps to the expired bucket's slot: reclaimed, old counts gone
    w.add(clock.now().getTime(), ev);
    expect(w.total('events', clock.now().getTime())).toBe(2);
    expect(w.total('scopeViolations', clock.now().getTime())).toBe(0);
    expect(w.idle(clock.now().getTime())).toBe(false);
    clock.advance(31 * DAY);
    expect(w.idle(clock.now().getTime())).toBe(true);
    expect(w.total('events', clock.now().getTime())).toBe(0);
  });

  it('drops an event whose bucket has already left the ring', () => {
    const t = Date.parse(T0);
    const w = new AgentWindow();
    expect(w.add(t, ev)).toBe(true);
    expect(w.add(t - 30 * DAY, ev)).toBe(false); // same slot, older bucket
    expect(w.add(t - 29 * DAY, ev)).toBe(true); // late but inside the ring
    expect(w.total('events', t)).toBe(2);
  });

  it('has fixed memory: 720 buckets x 76 bytes', () => {
    const w = new AgentWindow();
    expect(windowBytes(DEFAULT_WINDOW_SHAPE)).toBe(54_720);
    expect(w.counts.byteLength + w.sums.byteLength + w.index.byteLength).toBe(54_720);
    const t = Date.parse(T0);
    for (let i = 0; i < 2000; i++) w.add(t + i * HOUR, ev); // far more hours than slots
    expect(w.counts.byteLength + w.sums.byteLength + w.index.byteLength).toBe(54_720);
  });

  it('refuses shapes that are too fine or too small', () => {
    expect(() => new AgentWindow({ bucketMs: 1000, bucketCount: 720 })).toThrow(AgentCaError);
    expect(() => new AgentWindow({ bucketMs: HOUR, bucketCount: 2 })).toThrow(/4\.\.100000/);
  });
});

describe('WindowStore', () => {
  it('sweeps idle windows and reports bytes', () => {
    const s = new WindowStore();
    const t = Date.parse(T0);
    s.getOrCreate('01').add(t, ev);
    s.getOrCreate('02').add(t + 20 * DAY, ev);
    expect(s.size).toBe(2);
    expect(s.bytes).toBe(2 * 54_720);
    expect(s.sweep(t + 31 * DAY)).toBe(1);
    expect([...s.serials()]).toEqual(['02']);
  });
});
