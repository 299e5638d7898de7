/**
 * PostgreSQL connection settings from a store URL: `postgres://user@host:5432/db?sslmode=verify-full`
 * plus one parameter of ours, `schema=NAME` (default `public`), which becomes the session's
 * search_path so that several CAs (or test files) can share one database. Everything else in
 * the URL (sslmode, sslrootcert, application_name, ...) is passed through to the `pg` driver,
 * which reads it from the connection string (docs/storage-postgres.md).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { AgentCaError } from '../../errors.js';

export interface PostgresTarget {
  /** The URL without our own parameters, handed to `pg` as connectionString. */
  connectionString: string;
  schema: string;
  /** The URL (schema included) with any password removed, for messages and logs. */
  display: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export function parsePostgresUrl(url: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AgentCaError('STORE_URL_INVALID', `not a valid store URL: ${redact(url)}`);
  }
  if (!isPostgresUrl(url))
    throw new AgentCaError('STORE_URL_INVALID', `a PostgreSQL store URL starts with postgres:// (got ${redact(url)})`);
  const schema = u.searchParams.get('schema') ?? 'public';
  if (!SCHEMA.test(schema)) {
    throw new AgentCaError(
      'STORE_URL_INVALID',
      `schema must be a lowercase SQL identifier (letters, digits, _), got ${JSON.stringify(schema)}`,
    );
  }
  const display = new URL(u.toString());
  if (display.password) display.password = '***';
  u.searchParams.delete('schema');
  return { connectionString: u.toString(), schema, display: display.toString() };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}

/** Double-quoted SQL identifier (the schema name is already restricted to [a-z0-9_]). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function createPool(target: PostgresTarget, max = 10): pg.Pool {
  return new pg.Pool({
    connectionString: target.connectionString,
    max,
    // search_path per session: every statement names tables unqualified.
    options: `-c search_path=${target.schema}`,
    application_name: 'agent-ca',
  });
}

/**
 * A bigint key for pg_advisory_xact_lock / pg_try_advisory_lock, distinct per schema and
 * purpose, so that CAs in different schemas of one database never wait on each other.
 */
export function advisoryKey(schema: string, purpose: string): string {
  return createHash('sha256').update(`agent-ca:${schema}:${purpose}`).digest().readBigInt64BE(0).toString();
}

/** Maps a driver error to a typed one; errors that are already ours pass through. */
export function storeError(e: unknown, where: string): AgentCaError {
  if (e instanceof AgentCaError) return e;
  const err = e as Error & { code?: string };
  return new AgentCaError(
    'STORE_UNAVAILABLE',
    `PostgreSQL ${where} failed: ${err.message}${err.code ? ` (SQLSTATE ${err.code})` : ''}`,
    err.code ? { sqlstate: err.code } : {},
    {
      cause: e,
    },
  );
}

/**
 * Whether `default_toast_compression = lz4` is accepted: PostgreSQL 14+ built with lz4 lists
 * it among the setting's values (the option is compiled out otherwise, and older servers have
 * no such setting).
 */
export async function toastLz4Available(q: Pick<pg.PoolClient, 'query'>): Promise<boolean> {
  const r = await q.query(
    "select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)",
  );
  return r.rows.length > 0;
}
