/**
 * How many cases each property runs: bounded in the suite (CI), more behind `npm run fuzz`
 * (FUZZ_RUNS, e.g. 20000). The seed is printed by fast-check on a failure; FUZZ_SEED replays it.
 */
import fc from 'fast-check';

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

export function fuzzParams<T>(): fc.Parameters<T> {
  return { numRuns: FUZZ_RUNS, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) };
}

/** Valid bytes with a few mutations: flips, truncation, insertions (most crashes live near valid input). */
export function mutated(valid: Uint8Array): fc.Arbitrary<Buffer> {
  return fc
    .array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({
          kind: fc.constant('insert' as const),
          at: fc.nat(),
          bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
        }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((edits) => {
      let b = Buffer.from(valid);
      for (const e of edits) {
        const at = b.length === 0 ? 0 : e.at % b.length;
        if (e.kind === 'flip' && b.length) b[at] = b[at]! ^ e.bits;
        else if (e.kind === 'cut') b = b.subarray(0, at);
        else if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
      }
      return b;
    });
}
