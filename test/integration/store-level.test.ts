import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../src/errors.js';
import { LevelStore, openLevelStore } from '../../src/store/level/level-store.js';
import type { Store } from '../../src/store/ports.js';
import { runStoreContract } from '../contract/store-contract.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

runStoreContract('level', async () => {
  const tmp = await makeTmpDir('agent-ca-level-');
  let current: Store = await openLevelStore({ dataDir: tmp.dir });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await openLevelStore({ dataDir: tmp.dir, create: false });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await tmp.cleanup();
    },
  };
});

describe('LevelStore opening', () => {
  it('puts the database in <dataDir>/db', async () => {
    const tmp = await makeTmpDir();
    try {
      const store = await openLevelStore({ dataDir: join(tmp.dir, 'data') });
      expect(existsSync(join(tmp.dir, 'data', 'db', 'CURRENT'))).toBe(true);
      await store.open(); // idempotent
      await store.close();
    } finally {
      await tmp.cleanup();
    }
  });

  it('keeps the database owner-only: db/ 0700 and its files 0600, also when an older version left 0755/0644', async () => {
    const tmp = await makeTmpDir();
    try {
      const dir = join(tmp.dir, 'data');
      const store = await openLevelStore({ dataDir: dir });
      await store.meta.put('webhook-secret', 'x');
      await store.close();
      const db = join(dir, 'db');
      chmodSync(db, 0o755);
      for (const f of readdirSync(db)) chmodSync(join(db, f), 0o644);
      const again = await openLevelStore({ dataDir: dir, create: false });
      expect(statSync(db).mode & 0o777).toBe(0o700);
      // the files that were there are tightened; ones LevelDB makes later (umask) sit behind the 0700 directory
      expect(statSync(join(db, 'CURRENT')).mode & 0o077).toBe(0);
      await again.close();
    } finally {
      await tmp.cleanup();
    }
  });

  it('maps a missing data dir (create: false) to STORE_UNAVAILABLE', async () => {
    const tmp = await makeTmpDir();
    try {
      const err = await new LevelStore({ dataDir: join(tmp.dir, 'nope'), create: false })
        .open()
        .catch((e: unknown) => e);
      expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_STORE_UNAVAILABLE');
      expect(existsSync(join(tmp.dir, 'nope'))).toBe(false);
    } finally {
      await tmp.cleanup();
    }
  });

  it('maps a second open in the same process to STORE_LOCKED', async () => {
    const tmp = await makeTmpDir();
    const first = await openLevelStore({ dataDir: tmp.dir });
    try {
      const err = await openLevelStore({ dataDir: tmp.dir }).catch((e: unknown) => e);
      expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_STORE_LOCKED');
      expect((err as Error).message).toBe(`data dir ${tmp.dir} is in use by another agent-ca process`);
    } finally {
      await first.close();
      await tmp.cleanup();
    }
  });
});
