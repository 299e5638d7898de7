/**
 * PostgreSQL for tests: $AGENT_CA_TEST_PG or postgres://postgres@127.0.0.1:5432/test (trust
 * auth, as CI provides). Each caller gets a fresh schema (dropped by cleanup). With CI=true an
 * unreachable server fails the test file; locally the PostgreSQL tests skip and say why.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_BASE_URL = process.env.AGENT_CA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PgSchema {
  schema: string;
  /** Store URL selecting the schema. */
  url: string;
  /** Run SQL as the test's superuser (outside the store). */
  admin(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  cleanup(): Promise<void>;
}

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const failure = await probe();
if (failure !== undefined && process.env.CI === 'true') {
  throw new Error(
    `CI=true but PostgreSQL at ${PG_BASE_URL} is unreachable (${failure}): the PostgreSQL tests must run in CI`,
  );
}
if (failure !== undefined)
  console.warn(
    `skipping PostgreSQL tests: ${PG_BASE_URL} is unreachable (${failure}); set AGENT_CA_TEST_PG or start PostgreSQL`,
  );

/** True when the PostgreSQL tests can run (always true under CI=true, or the import threw). */
export const pgAvailable = failure === undefined;

export function withSchema(base: string, schema: string): string {
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export async function freshSchema(prefix = 't'): Promise<PgSchema> {
  const schema = `aca_${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string, params: unknown[] = []): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: PG_BASE_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  return {
    schema,
    url: withSchema(PG_BASE_URL, schema),
    admin,
    cleanup: async () => {
      await admin(`drop schema if exists ${schema} cascade`);
    },
  };
}
