/**
 * kill -9 durability: a child commits a revocation with sync:true, prints ACK, keeps writing,
 * and is SIGKILLed right after the ACK is read. Reopening must find the acknowledged
 * revocation and a consistent journal (the changeSeq counter and the journal agree).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLevelStore } from '../../src/store/level/level-store.js';
import type { IssuerId, Serial } from '../../src/types.js';
import { spawnTsHelper } from '../helpers/spawn-ts-helper.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const ISSUER = 'intermediate' as IssuerId;

describe('LevelStore survives kill -9 after an acknowledged revocation', () => {
  let tmp: TmpDir;
  beforeAll(async () => {
    tmp = await makeTmpDir('agent-ca-crash-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('finds every acknowledged revocation after SIGKILL, three times over', async () => {
    const acked: Serial[] = [];
    for (let round = 1; round <= 3; round++) {
      const serial = `c0ffee${round.toString(16).padStart(26, '0')}` as Serial;
      const child = spawnTsHelper('./level-store-child.ts', ['revoke', tmp.dir, serial]);
      try {
        expect(await child.waitForLine(/^ACK /)).toBe(`ACK ${serial}`);
      } finally {
        child.child.kill('SIGKILL');
      }
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
      acked.push(serial);

      const store = await openLevelStore({ dataDir: tmp.dir, create: false });
      try {
        for (const s of acked) {
          const r = await store.revocations.get(s);
          expect(r?.reason, `round ${round}: revocation ${s}`).toBe('keyCompromise');
        }
        // The journal and its counter were written in the same batches: they must agree.
        let count = 0;
        let last = 0;
        for await (const c of store.revocations.changesSince(ISSUER, 0)) {
          expect(c.seq).toBe(last + 1);
          last = c.seq;
          count++;
        }
        expect(await store.revocations.lastChangeSeq()).toBe(count);
      } finally {
        await store.close();
      }
    }
  });
});
