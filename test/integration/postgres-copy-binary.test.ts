/**
 * The binary COPY reader (src/store/postgres/copy-binary.ts) against a real server: rows of
 * every width across many socket chunks, NULLs, an empty result (header and trailer only), an
 * error raised by the server in the middle of the copy (the rows before it are delivered, the
 * error is the server's, and the connection serves the next query), and a consumer that stops
 * early.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows, field } from '../../src/store/postgres/copy-binary.js';
import { freshSchema, pgAvailable, PG_BASE_URL, type PgSchema } from '../helpers/postgres.js';

describe.runIf(pgAvailable)('binary COPY reader', () => {
  let db: PgSchema;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await freshSchema('copy');
    pool = new pg.Pool({ connectionString: PG_BASE_URL, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.cleanup();
  });

  const row = (f: readonly { buf: Buffer; start: number; end: number }[]) => ({
    i: field.int8(f[0]!),
    s: field.text(f[1]!),
    t: field.timestampMs(f[2]!),
  });

  it('decodes 50,000 rows of varying width across socket chunks, with NULLs, in order', async () => {
    const client = await pool.connect();
    try {
      const got: ReturnType<typeof row>[] = [];
      let batches = 0;
      for await (const b of copyRows(
        client,
        `select i::int8, case when i % 10 = 0 then null else repeat('x', i % 300) end,
                timestamptz '2026-01-02T03:04:05.678Z' + i * interval '1 second'
           from generate_series(1, 50000) i`,
        3,
        row,
      )) {
        batches++;
        got.push(...b);
      }
      expect(batches).toBeGreaterThan(1);
      expect(got).toHaveLength(50_000);
      for (const i of [1, 10, 299, 300, 49_999, 50_000]) {
        expect(got[i - 1]).toEqual({
          i,
          s: i % 10 === 0 ? undefined : 'x'.repeat(i % 300),
          t: Date.parse('2026-01-02T03:04:05.678Z') + i * 1000,
        });
      }
      expect((await client.query('select 7 as n')).rows[0]).toEqual({ n: 7 });
    } finally {
      client.release();
    }
  });

  it('reads an empty result (header and trailer only)', async () => {
    const client = await pool.connect();
    try {
      const batches = [];
      for await (const b of copyRows(client, 'select 1::int8, null::text, now() where false', 3, row)) batches.push(b);
      expect(batches).toEqual([]);
    } finally {
      client.release();
    }
  });

  it("passes on the server's error raised mid-copy, after the rows before it; the connection still works", async () => {
    const client = await pool.connect();
    try {
      let rows = 0;
      const read = async () => {
        for await (const b of copyRows(
          client,
          `select i::int8, (100 / (i - 30000))::text, now() from generate_series(1, 40000) i`,
          3,
          row,
        ))
          rows += b.length;
      };
      await expect(read()).rejects.toThrow(/division by zero/);
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(30_000);
      expect((await client.query('select 8 as n')).rows[0]).toEqual({ n: 8 });
    } finally {
      client.release();
    }
  });

  it('lets the consumer stop early (the caller then drops the connection)', async () => {
    const client = await pool.connect();
    let rows = 0;
    try {
      for await (const b of copyRows(
        client,
        'select i::int8, i::text, now() from generate_series(1, 200000) i',
        3,
        row,
      )) {
        rows += b.length;
        if (rows > 1000) break;
      }
    } finally {
      client.release(true);
    }
    expect(rows).toBeGreaterThan(1000);
    expect(rows).toBeLessThan(200_000);
    expect((await pool.query('select 9 as n')).rows[0]).toEqual({ n: 9 });
  });
});
