/**
 * The engine's scores on a fixed 40-day stream of eight agents (test/unit/risk/golden/stream.ts)
 * are exactly the values the ring-of-buckets window gave (golden-scores.json, captured from it
 * before the window's memory layout changed): every score after every batch, and the full
 * explanations (features, raw numbers, sentences) every two days.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runGoldenStream, type GoldenRecord } from './golden/stream.js';

const golden = JSON.parse(
  readFileSync(new URL('./golden/golden-scores.json', import.meta.url), 'utf8'),
) as GoldenRecord;

it('scores a 40-day stream of eight agents exactly as the golden values', { timeout: 300_000 }, async () => {
  const got = await runGoldenStream();
  expect(got.steps.length).toBe(golden.steps.length);
  // every band is reached somewhere in the stream, so the comparison covers the actions too
  expect(new Set(golden.steps.map((s) => s[3]))).toEqual(new Set(['low', 'medium', 'warning', 'revoke']));
  for (let i = 0; i < golden.steps.length; i++) expect(got.steps[i], `step score ${i}`).toEqual(golden.steps[i]);
  expect(got.checkpoints).toEqual(golden.checkpoints);
});
