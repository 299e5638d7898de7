/**
 * The scale-out Store: PostgreSQL through a `pg` pool. Any number of processes on any hosts
 * may open the same schema. A commit is one transaction that first takes a transaction-level
 * advisory lock (one per schema), so the planner's checks (serial collision, next change seq,
 * audit head) and the writes are one critical section across processes; an in-process mutex
 * in front of it keeps waiting commits from holding pool connections that reads need.
 * COMMIT returns once the WAL is flushed (synchronous_commit, the PostgreSQL default), so an
 * acknowledged revocation survives kill -9 of the CA and a crash of the database; batches
 * passed `sync: false` (bulk loads) commit with synchronous_commit off. Status changes and new
 * latest CRLs are announced with NOTIFY inside the transaction (delivered only if it commits),
 * which peers use to drop cached answers (docs/storage-postgres.md).
 */
import type pg from 'pg';
import { AgentCaError } from '../../errors.js';
import type { IssuerId, Serial } from '../../types.js';
import { planCommit, type PlannerReader } from '../commit-planner.js';
import { Mutex } from '../mutex.js';
import type {
  AuditPort,
  AuditRange,
  CertificatePort,
  CommitOptions,
  CommitResult,
  CrlKind,
  CrlPort,
  CrlRevocationEntry,
  MetaPort,
  OcspResponsePort,
  RevocationPort,
  RevocationRecord,
  Store,
  WriteOp,
} from '../ports.js';
import { copyRows, field, type FieldCursor } from './copy-binary.js';
import {
  advisoryKey,
  createPool,
  parsePostgresUrl,
  storeError,
  toastLz4Available,
  type PostgresTarget,
} from './connection.js';
import { migrate, type MigrationResult } from './migrations.js';
import { notifyCommit } from './notify.js';
import * as rows from './rows.js';
import { writePlan } from './writer.js';
import { logFailure } from '../../logger.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:5432/db[?sslmode=...][&schema=name] */
  url: string;
  /** Pool size (default 10). */
  poolSize?: number;
}

/** Rows fetched per round trip when streaming (server-side cursor, bounded memory). */
const PAGE = 10_000;

type Q = Pick<pg.PoolClient, 'query'>;

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly target: PostgresTarget;
  private pool: pg.Pool | undefined;
  private readonly mutex = new Mutex();
  private readonly commitKey: string;
  migration: MigrationResult | undefined;
  /** The server can compress TOAST with lz4 (PostgreSQL 14+ built with lz4). */
  private toastLz4 = false;

  constructor(private readonly opts: PostgresStoreOptions) {
    this.target = parsePostgresUrl(opts.url);
    this.commitKey = advisoryKey(this.target.schema, 'commit');
  }

  get schema(): string {
    return this.target.schema;
  }

  async open(): Promise<void> {
    if (this.pool) return;
    const pool = createPool(this.target, this.opts.poolSize ?? 10);
    // An idle client that loses its connection must not crash the process.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        this.migration = await migrate(client, this.target.schema);
        this.toastLz4 = await toastLz4Available(client);
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(logFailure('closing the PostgreSQL pool'));
      throw e instanceof AgentCaError ? e : storeError(e, `open of ${this.target.display}`);
    }
    this.pool = pool;
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      const pool = this.pool;
      this.pool = undefined;
      if (pool) await pool.end();
    });
  }

  /** The pool, for adapters' helpers (notifications, leader election, grants, migrate). */
  get db(): pg.Pool {
    if (!this.pool)
      throw new AgentCaError('STORE_UNAVAILABLE', `the PostgreSQL store ${this.target.display} is not open`);
    return this.pool;
  }

  async query(sql: string, params: unknown[] = []): Promise<rows.Row[]> {
    const pool = this.db;
    try {
      return (await pool.query(sql, params)).rows as rows.Row[];
    } catch (e) {
      throw storeError(e, 'query');
    }
  }

  private async one<T>(sql: string, params: unknown[], f: (r: rows.Row) => T): Promise<T | undefined> {
    const r = (await this.query(sql, params))[0];
    return r === undefined ? undefined : f(r);
  }

  private async many<T>(sql: string, params: unknown[], f: (r: rows.Row) => T): Promise<T[]> {
    return (await this.query(sql, params)).map(f);
  }

  /** A pooled connection; a refusal is a typed STORE_UNAVAILABLE. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.db.connect();
    } catch (e) {
      throw storeError(e, 'connect');
    }
  }

  /**
   * Streams a query through a server-side cursor in a READ ONLY, REPEATABLE READ transaction:
   * one plan and one consistent snapshot for the whole stream (a full CRL of 1,000,000 entries
   * is one index scan, not 500 re-planned pages), PAGE rows per round trip, bounded memory.
   * The connection is held until the stream ends or the consumer stops (break -> finally).
   */
  private async *stream<T>(sql: string, params: unknown[], f: (r: rows.Row) => T): AsyncGenerator<T> {
    const client = await this.connect();
    let broken = false;
    try {
      await client.query('begin isolation level repeatable read read only');
      await client.query(`declare agent_ca_stream no scroll cursor for ${sql}`, params);
      for (;;) {
        const page = (await client.query(`fetch ${PAGE} from agent_ca_stream`)).rows as rows.Row[];
        for (const r of page) yield f(r);
        if (page.length < PAGE) break;
      }
      await client.query('commit');
    } catch (e) {
      throw storeError(e, 'read');
    } finally {
      // Also reached when the consumer stops early: end the transaction (closes the cursor).
      await client.query('rollback').catch(() => {
        broken = true;
      });
      client.release(broken);
    }
  }

  /**
   * Streams a SELECT through binary COPY (copy-binary.ts): one statement, one snapshot, rows
   * decoded from the wire. Values in `sql` are literals (COPY takes no parameters): build them
   * with `literal`. The connection is dropped, not reused, when the consumer stops early (the
   * COPY is then still in flight on it).
   */
  private async *copyBatches<T>(
    sql: (literal: (v: string) => string) => string,
    columns: number,
    row: (f: readonly FieldCursor[]) => T,
    opts: { indexOrder?: boolean } = {},
  ): AsyncGenerator<T[]> {
    const client = await this.connect();
    let done = false;
    try {
      // indexOrder: the ORDER BY is one an index provides. Without statistics (a table just
      // bulk-loaded, before autovacuum analyses it) the planner guesses a few rows and sorts a
      // bitmap scan instead: for 1,000,000 revocations an external sort (work_mem) before the
      // first row is sent. `enable_sort = off` makes it take the index's order, whatever the
      // statistics; the setting is local to this read-only transaction.
      if (opts.indexOrder) await client.query('begin transaction read only; set local enable_sort = off');
      yield* copyRows(
        client,
        sql((v) => client.escapeLiteral(v)),
        columns,
        row,
      );
      if (opts.indexOrder) await client.query('commit');
      done = true;
    } catch (e) {
      throw storeError(e, 'read');
    } finally {
      client.release(!done);
    }
  }

  private async *copyStream<T>(
    sql: (literal: (v: string) => string) => string,
    columns: number,
    row: (f: readonly FieldCursor[]) => T,
  ): AsyncGenerator<T> {
    const client = await this.connect();
    let done = false;
    try {
      for await (const rows of copyRows(
        client,
        sql((v) => client.escapeLiteral(v)),
        columns,
        row,
      ))
        yield* rows;
      done = true;
    } catch (e) {
      done = false;
      throw storeError(e, 'read');
    } finally {
      client.release(!done);
    }
  }

  commit(batch: readonly WriteOp[], opts?: CommitOptions): Promise<CommitResult> {
    return this.mutex.run(async () => {
      const client = await this.connect();
      let broken = false;
      try {
        await client.query('begin');
        await client.query('select pg_advisory_xact_lock($1)', [this.commitKey]);
        const plan = await planCommit(batch, readerFor(client), opts);
        if (!plan.sync) await client.query('set local synchronous_commit to off');
        // A full CRL is tens of MiB (~49 bytes an entry): TOAST compresses it with pglz by
        // default, seconds of the server's CPU inside the commit lock; lz4 takes a fraction.
        if (this.toastLz4 && plan.mutations.some((m) => m.kind === 'putCrl'))
          await client.query('set local default_toast_compression = lz4');
        await writePlan(client, plan);
        await notifyCommit(client, this.target.schema, plan.mutations, plan.lastChangeSeq);
        await client.query('commit');
        return { changes: plan.changes };
      } catch (e) {
        await client.query('rollback').catch(() => {
          broken = true;
        });
        if (e instanceof AgentCaError) throw e;
        throw storeError(e, 'commit');
      } finally {
        client.release(broken);
      }
    });
  }

  readonly certificates: CertificatePort = {
    get: (serial) =>
      this.one(`select ${rows.CERT_COLUMNS} from certificates where serial = $1`, [serial], rows.certificateFromRow),
    has: async (serial) => (await this.query('select 1 from certificates where serial = $1', [serial])).length > 0,
    listByAgent: (agentId) =>
      this.many(
        `select ${rows.CERT_COLUMNS} from certificates where agent_id = $1 order by serial`,
        [agentId],
        rows.certificateFromRow,
      ),
    listByTenant: (tenant) =>
      this.many(
        `select ${rows.CERT_COLUMNS} from certificates where tenant = $1 order by serial`,
        [tenant],
        rows.certificateFromRow,
      ),
    listExpiringBefore: (before, opts = {}) =>
      this.many(
        `select ${rows.CERT_COLUMNS} from certificates where not_after < $1 and ($2::timestamptz is null or not_after >= $2) order by not_after, serial limit $3`,
        [before, opts.from ?? null, opts.limit ?? null],
        rows.certificateFromRow,
      ),
    iterate: (opts = {}) =>
      opts.issuerId === undefined
        ? this.stream(`select ${rows.CERT_COLUMNS} from certificates order by serial`, [], rows.certificateFromRow)
        : this.stream(
            `select ${rows.CERT_COLUMNS} from certificates where issuer_id = $1 order by serial`,
            [opts.issuerId],
            rows.certificateFromRow,
          ),
    count: async () => Number((await this.query('select cert_count from store_state'))[0]?.cert_count ?? 0),
  };

  readonly revocations: RevocationPort = {
    get: (serial) => this.one('select * from revocations where serial = $1', [serial], rows.revocationFromRow),
    // Full CRLs read every revocation of an issuer: binary COPY (copy-binary.ts).
    iterate: ({ issuerId }) =>
      this.copyStream(
        (lit) =>
          `select ${rows.REVOCATION_COPY_COLUMNS} from revocations r where r.issuer_id = ${lit(issuerId)} order by r.serial`,
        7,
        revocationFromCopy,
      ),
    // Full CRLs: only the columns an entry needs, a batch per network chunk, in the order of
    // the (issuer_id, serial) index, and with `withNotAfter` each certificate's notAfter by a
    // merge join on serial (RFC 5280 §3.3).
    crlEntryBatches: ({ issuerId, withNotAfter }) =>
      this.copyBatches(
        (lit) =>
          withNotAfter
            ? `select r.serial, r.revoked_at, r.reason, r.invalidity_date, c.not_after from revocations r left join certificates c on c.serial = r.serial where r.issuer_id = ${lit(issuerId)} order by r.serial`
            : `select r.serial, r.revoked_at, r.reason, r.invalidity_date from revocations r where r.issuer_id = ${lit(issuerId)} order by r.serial`,
        withNotAfter ? 5 : 4,
        crlEntryFromCopy,
        { indexOrder: true },
      ),
    changesSince: (issuerId: IssuerId, afterSeq: number) =>
      this.stream(
        'select * from status_changes where issuer_id = $1 and seq > $2 order by seq',
        [issuerId, afterSeq],
        rows.changeFromRow,
      ),
    lastChangeSeq: async () => Number((await this.query('select change_seq from store_state'))[0]?.change_seq ?? 0),
  };

  readonly ocspResponses: OcspResponsePort = {
    get: (issuerId: IssuerId, serial: Serial, hash = 'sha1') =>
      this.one(
        'select * from ocsp_responses where issuer_id = $1 and serial = $2 and hash_algorithm = $3',
        [issuerId, serial, hash],
        rows.ocspFromRow,
      ),
    iterate: (issuerId) =>
      this.stream(
        'select * from ocsp_responses where issuer_id = $1 order by serial, hash_algorithm',
        [issuerId],
        rows.ocspFromRow,
      ),
    listDueBefore: (before, opts = {}) =>
      this.many(
        'select * from ocsp_responses where next_update < $1 order by next_update, issuer_id, serial, hash_algorithm limit $2',
        [before, opts.limit ?? null],
        rows.ocspFromRow,
      ),
  };

  readonly crls: CrlPort = {
    latest: (issuerId: IssuerId, kind: CrlKind) =>
      this.one(
        `select c.* from crl_state s join crls c on c.issuer_id = s.issuer_id and c.number = ${kind === 'full' ? 's.latest_full' : 's.latest_delta'} where s.issuer_id = $1`,
        [issuerId],
        rows.crlFromRow,
      ),
    get: (issuerId, number) =>
      this.one(
        'select * from crls where issuer_id = $1 and number = $2',
        [issuerId, number.toString()],
        rows.crlFromRow,
      ),
    // One row-locked increment: never handed out twice across processes, durable on commit.
    nextCrlNumber: async (issuerId) => {
      const r = await this.query(
        `insert into crl_state (issuer_id, counter) values ($1, 1)
         on conflict (issuer_id) do update set counter = crl_state.counter + 1 returning counter::text as n`,
        [issuerId],
      );
      return BigInt(r[0]!.n as string);
    },
    counter: async (issuerId) =>
      BigInt(
        ((await this.query('select counter::text as n from crl_state where issuer_id = $1', [issuerId]))[0]
          ?.n as string) ?? '0',
      ),
    iterate: (issuerId) =>
      this.stream('select * from crls where issuer_id = $1 order by number', [issuerId], rows.crlFromRow),
  };

  readonly audit: AuditPort = {
    head: async () => {
      const r = (await this.query('select seq, hash from audit_log order by seq desc limit 1'))[0];
      return r ? { seq: Number(r.seq), hash: r.hash as string } : null;
    },
    get: (seq) => this.one('select * from audit_log where seq = $1', [seq], rows.auditFromRow),
    iterate: (range: AuditRange = {}) => {
      const from = range.fromSeq ?? 1;
      const to = range.toSeq ?? null;
      if (range.fromTime === undefined && range.toTime === undefined) {
        return this.stream(
          'select * from audit_log where seq >= $1 and ($2::bigint is null or seq <= $2) order by seq',
          [from, to],
          rows.auditFromRow,
        );
      }
      return this.stream(
        `select * from audit_log where seq >= $1 and ($2::bigint is null or seq <= $2)
           and ($3::timestamptz is null or time >= $3) and ($4::timestamptz is null or time <= $4) order by time, seq`,
        [from, to, range.fromTime ?? null, range.toTime ?? null],
        rows.auditFromRow,
      );
    },
    // Checkpoints are few (one per 1,000 entries) and verify() steps through them by hand,
    // possibly never to the end: read them at once rather than hold a cursor's connection.
    iterateCheckpoints: (range = {}) => {
      const all = this.audit.listCheckpoints(range);
      return (async function* () {
        yield* await all;
      })();
    },
    listCheckpoints: (range = {}) =>
      this.many(
        'select * from audit_checkpoints where seq >= $1 and ($2::bigint is null or seq <= $2) order by seq',
        [range.fromSeq ?? 0, range.toSeq ?? null],
        rows.checkpointFromRow,
      ),
    latestCheckpoint: () =>
      this.one('select * from audit_checkpoints order by seq desc limit 1', [], rows.checkpointFromRow),
  };

  readonly meta: MetaPort = {
    get: async <T>(key: string) =>
      this.one('select value from meta where key = $1', [key], (r) => JSON.parse(r.value as string) as T),
    put: async (key, value, opts) => {
      await this.commit([{ op: 'putMeta', key, value }], opts);
    },
    iterate: () =>
      this.stream('select key, value from meta order by key', [], (r) => ({
        key: r.key as string,
        value: JSON.parse(r.value as string) as unknown,
      })),
  };
}

function revocationFromCopy(f: readonly FieldCursor[]): RevocationRecord {
  const invalidity = field.timestampMs(f[4]!);
  const r: RevocationRecord = {
    serial: field.text(f[0]!) as Serial,
    issuerId: field.text(f[1]!) as IssuerId,
    revokedAt: new Date(field.timestampMs(f[2]!)!),
    reason: field.text(f[3]!) as RevocationRecord['reason'],
    actor: field.text(f[5]!)!,
    changeSeq: field.int8(f[6]!)!,
  };
  if (invalidity !== undefined) r.invalidityDate = new Date(invalidity);
  return r;
}

function crlEntryFromCopy(f: readonly FieldCursor[]): CrlRevocationEntry {
  const e: CrlRevocationEntry = {
    serial: field.text(f[0]!) as Serial,
    revokedAt: new Date(field.timestampMs(f[1]!)!),
    reason: field.text(f[2]!) as CrlRevocationEntry['reason'],
  };
  const invalidity = field.timestampMs(f[3]!);
  if (invalidity !== undefined) e.invalidityDate = new Date(invalidity);
  if (f.length > 4) {
    const notAfter = field.timestampMs(f[4]!);
    if (notAfter !== undefined) e.certificateNotAfter = new Date(notAfter);
  }
  return e;
}

/** The planner's reads, on the commit's own connection (inside the locked transaction). */
function readerFor(q: Q): PlannerReader {
  const primedCerts = new Set<string>();
  const primedRevocations = new Map<string, rows.Row | undefined>();
  const primedOcsp = new Map<string, rows.Row | undefined>();
  const ocspKey = (issuerId: string, serial: string, hash: string): string => `${issuerId}\u0000${serial}\u0000${hash}`;
  let primed = false;
  const one = async (sql: string, params: unknown[]): Promise<rows.Row | undefined> =>
    (await q.query(sql, params)).rows[0] as rows.Row | undefined;
  return {
    certificateExists: async (serial) =>
      primed
        ? primedCerts.has(serial)
        : (await one('select 1 from certificates where serial = $1', [serial])) !== undefined,
    revocation: async (serial) => {
      const r = primedRevocations.has(serial)
        ? primedRevocations.get(serial)
        : await one('select * from revocations where serial = $1', [serial]);
      return r && rows.revocationFromRow(r);
    },
    ocspResponse: async (issuerId, serial, hash) => {
      const key = ocspKey(issuerId, serial, hash);
      const r = primedOcsp.has(key)
        ? primedOcsp.get(key)
        : await one('select * from ocsp_responses where issuer_id = $1 and serial = $2 and hash_algorithm = $3', [
            issuerId,
            serial,
            hash,
          ]);
      return r && rows.ocspFromRow(r);
    },
    auditHead: async () => {
      const r = await one('select seq, hash from audit_log order by seq desc limit 1', []);
      return r ? { seq: Number(r.seq), hash: r.hash as string } : null;
    },
    lastChangeSeq: async () => Number((await one('select change_seq from store_state', []))?.change_seq ?? 0),
    crlCounter: async (issuerId) =>
      BigInt(
        ((await one('select counter::text as n from crl_state where issuer_id = $1', [issuerId]))?.n as string) ?? '0',
      ),
    latestCrlNumber: async (issuerId, kind) => {
      const r = await one(
        `select ${kind === 'full' ? 'latest_full' : 'latest_delta'}::text as n from crl_state where issuer_id = $1`,
        [issuerId],
      );
      return r?.n === null || r?.n === undefined ? undefined : BigInt(r.n as string);
    },
    // A large batch reads what it will check in two queries, not one per op.
    prime: async (batch) => {
      const serials = batch.flatMap((op) => (op.op === 'putCertificate' ? [op.record.serial] : []));
      if (serials.length >= 2) {
        const found = await q.query('select serial from certificates where serial = any($1::text[])', [serials]);
        for (const r of found.rows as { serial: string }[]) primedCerts.add(r.serial);
        primed = true;
      }
      const revoked = batch.flatMap((op) =>
        op.op === 'putRevocation' ? [op.record.serial] : op.op === 'deleteRevocation' ? [op.serial] : [],
      );
      if (revoked.length >= 2) {
        for (const s of revoked) primedRevocations.set(s, undefined);
        const found = await q.query('select * from revocations where serial = any($1::text[])', [revoked]);
        for (const r of found.rows as rows.Row[]) primedRevocations.set(r.serial as string, r);
      }
      const responses = batch.flatMap((op) => (op.op === 'putOcspResponse' ? [op.record] : []));
      if (responses.length >= 2) {
        for (const r of responses) primedOcsp.set(ocspKey(r.issuerId, r.serial, r.hashAlgorithm), undefined);
        const found = await q.query(
          `select o.* from ocsp_responses o join unnest($1::text[], $2::text[], $3::text[]) as k(i, s, h) on o.issuer_id = k.i and o.serial = k.s and o.hash_algorithm = k.h`,
          [responses.map((r) => r.issuerId), responses.map((r) => r.serial), responses.map((r) => r.hashAlgorithm)],
        );
        for (const r of found.rows as rows.Row[])
          primedOcsp.set(ocspKey(r.issuer_id as string, r.serial as string, r.hash_algorithm as string), r);
      }
    },
  };
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(opts);
  await store.open();
  return store;
}
