/**
 * Versioned schema migrations, applied when a store opens: all pending versions in ONE
 * transaction under an advisory lock (so two processes starting together do not both
 * migrate), idempotent (a current schema is only read, which an INSERT/SELECT-only role may
 * do), and refused with STORE_SCHEMA_TOO_NEW when the database is ahead of this code: an old
 * binary must not write into a schema whose rules it does not know (docs/storage-postgres.md).
 */
import type pg from 'pg';
import { AgentCaError } from '../../errors.js';
import { advisoryKey, ident } from './connection.js';
import { SCHEMA_V1 } from './schema-v1.js';
import { SCHEMA_V2 } from './schema-v2.js';
import { logFailure } from '../../logger.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  { version: 1, description: 'certificates, status, OCSP, CRLs, WORM audit log, meta', sql: SCHEMA_V1 },
  { version: 2, description: 'webhook outbox table with claims', sql: SCHEMA_V2 },
]);

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
}

export async function migrate(
  client: pg.PoolClient,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const target = migrations[migrations.length - 1]?.version ?? 0;
  await client.query('begin');
  try {
    await client.query('select pg_advisory_xact_lock($1)', [advisoryKey(schema, 'migrate')]);
    const exists = await client.query<{ ok: boolean }>(
      'select exists (select 1 from pg_namespace where nspname = $1) as ok',
      [schema],
    );
    if (!exists.rows[0]?.ok) await client.query(`create schema ${ident(schema)}`);
    const table = await client.query<{ t: string | null }>(`select to_regclass($1) as t`, [
      `${ident(schema)}.agent_ca_schema`,
    ]);
    if (table.rows[0]?.t === null) {
      await client.query(
        `create table ${ident(schema)}.agent_ca_schema (version integer primary key, description text not null, applied_at timestamptz not null default now())`,
      );
    }
    const current = Number(
      (await client.query<{ v: number | null }>(`select max(version) as v from ${ident(schema)}.agent_ca_schema`))
        .rows[0]?.v ?? 0,
    );
    if (current > target) {
      throw new AgentCaError(
        'STORE_SCHEMA_TOO_NEW',
        `the database schema "${schema}" is at version ${current}, newer than this agent-ca (knows up to ${target}): upgrade agent-ca before using this database`,
        { schema, version: current, supported: target },
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(`set local search_path to ${ident(schema)}`);
      await client.query(m.sql);
      await client.query(`insert into ${ident(schema)}.agent_ca_schema (version, description) values ($1, $2)`, [
        m.version,
        m.description,
      ]);
      applied.push(m.version);
    }
    await client.query('commit');
    return { from: current, to: Math.max(current, target), applied };
  } catch (e) {
    await client.query('rollback').catch(logFailure('rollback of the failed migration'));
    throw e;
  }
}
