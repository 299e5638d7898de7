/**
 * The golden stream (golden/stream.ts) with a window budget of 0 bytes on LevelDB: every
 * window is packed, written to the store and dropped after every batch, and loaded back for
 * the next one. Every score and explanation must still be the golden value (docs/risk-engine.md
 * "Evicting windows": restoring is invisible in the scores), including those of a second
 * engine rebuilt from the audit log under the same budget (a restart).
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runGoldenStream, type GoldenRecord } from './golden/stream.js';

const golden = JSON.parse(
  readFileSync(new URL('./golden/golden-scores.json', import.meta.url), 'utf8'),
) as GoldenRecord;

it(
  'scores the stream exactly as golden with every window evicted after every batch, and after a restart',
  { timeout: 600_000 },
  async () => {
    const steps = 1440; // 20 days: the checkpoints within, every band reached
    const got = await runGoldenStream({ steps, maxWindowBytes: 0, level: true, restart: true });
    const want = golden.steps.filter((s) => s[0] < steps);
    expect(new Set(want.map((s) => s[3]))).toEqual(new Set(['low', 'medium', 'warning', 'revoke']));
    expect(got.steps.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got.steps[i], `step score ${i}`).toEqual(want[i]);
    expect(got.checkpoints).toEqual(golden.checkpoints.filter((c) => c.step < steps));
    // eight windows out and back for (nearly) every batch
    expect(got.evictions).toBeGreaterThan(steps * 4);
    expect(got.restores).toBeGreaterThan(steps * 4);
    expect(got.restart!.restored).toEqual(got.restart!.live);
    expect(got.restart!.restoredEvictions).toBeGreaterThan(0);
    expect(got.errors).toEqual([]);
  },
);
