/** One process owns a data dir: a second agent-ca process gets STORE_LOCKED, until the first closes. */
import { describe, expect, it } from 'vitest';
import { openLevelStore } from '../../src/store/level/level-store.js';
import { spawnTsHelper } from '../helpers/spawn-ts-helper.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

describe('LevelStore lock', () => {
  it('refuses a second process with STORE_LOCKED and lets it in once the owner closes', async () => {
    const tmp = await makeTmpDir('agent-ca-lock-');
    try {
      const owner = await openLevelStore({ dataDir: tmp.dir });
      try {
        const second = spawnTsHelper('./level-store-child.ts', ['open', tmp.dir]);
        const line = await second.waitForLine(/^(OPENED|ERROR)/);
        expect(line).toBe(`ERROR ACA_ERR_STORE_LOCKED data dir ${tmp.dir} is in use by another agent-ca process`);
        expect((await second.exited).code).toBe(0);
      } finally {
        await owner.close();
      }
      const third = spawnTsHelper('./level-store-child.ts', ['open', tmp.dir]);
      expect(await third.waitForLine(/^(OPENED|ERROR)/)).toBe('OPENED');
      await third.exited;
    } finally {
      await tmp.cleanup();
    }
  });
});
