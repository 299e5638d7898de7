/**
 * The windows under a memory budget: the least recently used unpinned windows go to the store's
 * meta and come back on acquire; a failed write keeps them in memory and is logged; expired
 * evicted windows are swept with their snapshots; a window is never used without being loaded.
 */
import { describe, expect, it } from 'vitest';
import { parseRiskConfig } from '../../../src/risk/config.js';
import { ResidentWindows, WINDOW_OVERHEAD_BYTES } from '../../../src/risk/resident-windows.js';
import { DEFAULT_WINDOW_SHAPE } from '../../../src/risk/window.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import type { Store } from '../../../src/store/ports.js';
import { recordingLogger } from '../../helpers/recording-logger.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2031-01-01T00:00:00Z');
const call = { type: 'api_call', outcome: 'success' as const };

async function windows(maxBytes: number, store?: Store, logger = recordingLogger()): Promise<ResidentWindows> {
  return new ResidentWindows({
    shape: DEFAULT_WINDOW_SHAPE,
    store: store ?? (await createMemoryStore()),
    maxBytes,
    prefix: 'risk.window.',
    logger,
  });
}

/** n hours of one event each, ending at T0. */
async function fill(w: ResidentWindows, serial: string, hours: number): Promise<void> {
  await w.acquire([serial]);
  for (let h = hours - 1; h >= 0; h--) w.add(serial, T0 - h * HOUR, call);
  w.release([serial]);
}

describe('ResidentWindows', () => {
  it('evicts the least recently used windows past the budget and restores them on acquire', async () => {
    const store = await createMemoryStore();
    // room for about three 100-hour windows (128 rows of 12 bytes each + overhead)
    const one = 128 * 12 + WINDOW_OVERHEAD_BYTES;
    const w = await windows(3 * one, store);
    for (const s of ['a', 'b', 'c']) await fill(w, s, 100);
    expect(await w.trim()).toBe(0);
    await w.acquire(['a']); // a is now the most recent
    w.release(['a']);
    await fill(w, 'd', 100);
    // down to 90% of the budget: b and c, the least recent, go
    expect(await w.trim()).toBe(2);
    expect(w.stats()).toMatchObject({ resident: 2, evicted: 2, evictions: 2, restores: 0 });
    expect(typeof (await store.meta.get('risk.window.b'))).toBe('string');
    expect(() => w.get('b')).toThrow(/without being acquired/);
    expect(() => w.add('b', T0, call)).toThrow(/without being acquired/);
    expect(w.has('b')).toBe(true);
    await w.acquire(['b', 'c']);
    expect(w.get('b')!.rowCount).toBe(100);
    expect(w.get('c')!.rowCount).toBe(100);
    expect(w.stats()).toMatchObject({ restores: 2 });
    // pinned windows are never evicted: a, the least recent unpinned one, goes first
    expect(await w.trim()).toBeGreaterThanOrEqual(1);
    expect(w.get('b')!.rowCount).toBe(100);
    expect(w.get('c')!.rowCount).toBe(100);
    expect(() => w.get('a')).toThrow(/without being acquired/);
    w.release(['b', 'c']);
    expect(w.stats().residentBytes).toBeLessThanOrEqual(3 * one);
  });

  it('a failed snapshot write is logged and the windows stay in memory, unchanged', async () => {
    const store = await createMemoryStore();
    const failing: Store = Object.create(store, {
      commit: { value: () => Promise.reject(new Error('disk full')) },
    }) as Store;
    const logger = recordingLogger();
    const w = await windows(0, failing, logger);
    await fill(w, 'a', 10);
    expect(await w.trim()).toBe(1);
    expect(logger.lines).toEqual([
      'error risk engine: writing evicted windows failed; they stay in memory {"windows":1,"error":"disk full"}',
    ]);
    expect(w.stats()).toMatchObject({ resident: 1, evicted: 0 });
    expect(w.get('a')!.rowCount).toBe(10);
  });

  it('sweeps expired windows, resident or evicted, deleting the snapshots', async () => {
    const store = await createMemoryStore();
    const w = await windows(0, store);
    await fill(w, 'old', 5);
    await w.trim();
    await fill(w, 'new', 5);
    expect(await store.meta.get('risk.window.old')).toBeDefined();
    // 30 days after T0 both are expired: one evicted, one resident (pinned windows are skipped)
    expect(await w.sweep(T0 + 720 * HOUR)).toBe(2);
    expect(await store.meta.get('risk.window.old')).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it('after dropSnapshots the snapshots are gone and no window can be acquired', async () => {
    const store = await createMemoryStore();
    const w = await windows(0, store);
    await fill(w, 'a', 3);
    await w.trim();
    await w.dropSnapshots();
    expect(await store.meta.get('risk.window.a')).toBeUndefined();
    await expect(w.acquire(['a'])).rejects.toThrow(/discarded/);
  });

  it('config: memory.maxWindowBytes defaults to 2 GiB; a negative, fractional or unknown value is refused', () => {
    expect(parseRiskConfig().memory.maxWindowBytes).toBe(2 * 1024 ** 3);
    expect(parseRiskConfig({ memory: { maxWindowBytes: 0 } }).memory.maxWindowBytes).toBe(0);
    expect(() => parseRiskConfig({ memory: { maxWindowBytes: -1 } })).toThrow(/memory.maxWindowBytes/);
    expect(() => parseRiskConfig({ memory: { maxWindowBytes: 1.5 } })).toThrow(/memory.maxWindowBytes/);
    expect(() => parseRiskConfig({ memory: { maxWindows: 10 } })).toThrow(/memory.maxWindows/);
  });
});
