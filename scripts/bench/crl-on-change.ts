/**
 * Where "a change publishes a new full CRL" stops paying (docs/revocation-freshness.md): the
 * time CrlPublisher.publishFull takes (stream from LevelDB, build, sign, store) at 25,000 to
 * 200,000 entries, in steady state (a previous full CRL stored), beside the pure builder over
 * the same entries in the same run. The largest size under 1 s is the fullOnChangeMaxEntries
 * the CRL service defaults to (100,000).
 */
import { FULL_ON_CHANGE_MAX_ENTRIES } from '../../src/crl/service.js';
import { buildFromGeneratorTask, publishFullTask } from './crl.js';
import { revokedDataset } from './revocation.js';
import { fmt, header, line, ratio } from './util.js';

const SIZES = [25_000, 50_000, 100_000, 200_000];

export async function benchCrlOnChange(): Promise<Record<string, number>> {
  header('Full CRL on change: publishFull (LevelDB -> build -> sign -> store) by size, beside the pure builder');
  line('entries'.padStart(9), 'publishFull s'.padStart(14), 'builder s'.padStart(10), '  publishFull vs builder');
  const results: Record<string, number> = {};
  let largestUnderOneSecond = 0;
  for (const count of SIZES) {
    const ds = await revokedDataset(count);
    const args = { dataDir: ds.dataDir, count, baseMs: ds.baseMs };
    await publishFullTask(args, () => undefined); // first CRL of the issuer: not the steady state
    const steady = await publishFullTask(args, () => undefined);
    const pure = await buildFromGeneratorTask(args, () => undefined);
    line(
      fmt(count).padStart(9),
      fmt(steady.seconds, 3).padStart(14),
      fmt(pure.seconds, 3).padStart(10),
      `  ${ratio(pure.seconds, steady.seconds)} of the builder's speed`,
    );
    results[`publishFull.${count}.s`] = steady.seconds;
    if (steady.seconds < 1) largestUnderOneSecond = count;
  }
  line(
    `largest measured size published in < 1 s: ${fmt(largestUnderOneSecond)} entries (the CRL service's default threshold: ${fmt(FULL_ON_CHANGE_MAX_ENTRIES)})`,
  );
  results.largestUnderOneSecond = largestUnderOneSecond;
  return results;
}
