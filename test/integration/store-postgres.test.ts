import { describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../src/errors.js';
import { openPostgresStore, PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SCHEMA_VERSION } from '../../src/store/postgres/migrations.js';
import type { Store } from '../../src/store/ports.js';
import type { KeyUri } from '../../src/types.js';
import { runStoreContract } from '../contract/store-contract.js';
import { freshSchema, pgAvailable } from '../helpers/postgres.js';

describe.runIf(pgAvailable)('PostgreSQL store', () => {
  runStoreContract('postgres', async () => {
    const db = await freshSchema('contract');
    let current: Store = await openPostgresStore({ url: db.url, poolSize: 4 });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openPostgresStore({ url: db.url, poolSize: 4 });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await db.cleanup();
      },
    };
  });

  describe('WORM checkpoints', () => {
    it('keeps the first checkpoint of a seq, accepts the same again, refuses a different hash', async () => {
      const db = await freshSchema('cp');
      const store = await openPostgresStore({ url: db.url, poolSize: 2 });
      try {
        const cp = {
          seq: 1,
          hash: 'a'.repeat(64),
          time: new Date('2026-01-01T00:00:00Z'),
          signature: Buffer.from('s1'),
          algorithm: 'ecdsaWithSHA256' as const,
          keyUri: 'softkey:audit' as KeyUri,
        };
        await store.commit([{ op: 'putAuditCheckpoint', checkpoint: cp }]);
        await store.commit([
          {
            op: 'putAuditCheckpoint',
            checkpoint: { ...cp, signature: Buffer.from('s2'), time: new Date('2026-01-02T00:00:00Z') },
          },
        ]);
        expect(await store.audit.listCheckpoints()).toEqual([cp]);
        const err = await store
          .commit([
            { op: 'putMeta', key: 'x', value: 1 },
            { op: 'putAuditCheckpoint', checkpoint: { ...cp, hash: 'b'.repeat(64) } },
          ])
          .catch((e: unknown) => e);
        expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_AUDIT_CHAIN_BROKEN');
        expect(await store.meta.get('x')).toBeUndefined();
      } finally {
        await store.close();
        await db.cleanup();
      }
    });
  });

  describe('migrations', () => {
    it('migrates once, is idempotent when two processes open together, and refuses a newer schema', async () => {
      const db = await freshSchema('migrate');
      try {
        const [a, b] = await Promise.all([openPostgresStore({ url: db.url }), openPostgresStore({ url: db.url })]);
        const applied = [a.migration!.applied, b.migration!.applied].sort((x, y) => y.length - x.length);
        expect(applied).toEqual([[1, 2], []]);
        await a.close();
        await b.close();
        const versions = await db.admin('select version from agent_ca_schema order by version');
        expect(versions.rows.map((r) => r.version)).toEqual([1, SCHEMA_VERSION]);

        await db.admin(`insert into agent_ca_schema (version, description) values ($1, 'from the future')`, [
          SCHEMA_VERSION + 1,
        ]);
        const err = await new PostgresStore({ url: db.url }).open().catch((e: unknown) => e);
        expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_STORE_SCHEMA_TOO_NEW');
        expect((err as Error).message).toContain(`version ${SCHEMA_VERSION + 1}, newer than this agent-ca`);
      } finally {
        await db.cleanup();
      }
    });

    it('maps an unreachable server and a bad URL to typed errors', async () => {
      const down = await new PostgresStore({ url: 'postgres://postgres:secret@127.0.0.1:1/test' })
        .open()
        .catch((e: unknown) => e);
      expect(isAgentCaError(down) && down.code).toBe('ACA_ERR_STORE_UNAVAILABLE');
      expect((down as Error).message).not.toContain('secret');
      expect(() => new PostgresStore({ url: 'postgres://h/db?schema=Bad-Name' })).toThrow(
        /schema must be a lowercase SQL identifier/,
      );
    });
  });
});
