/**
 * The embedded default Store: LevelDB (`level`) under `<dataDir>/db`. One process owns a data
 * dir (LevelDB's LOCK file); inside it, commits go through one mutex, so the planner's checks
 * and the `db.batch` that writes its mutations form one critical section, and a batch is
 * atomic because LevelDB applies a WriteBatch atomically. Revocation batches are written with
 * `sync: true` (fsync of the log) unless the caller opts out, so an acknowledged revocation
 * survives a crash. Reads stream through iterators in pages (bounded memory).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { AgentCaError } from '../../errors.js';
import type { IssuerId, Serial } from '../../types.js';
import { planCommit, type CommitPlan, type PlannerReader } from '../commit-planner.js';
import { Mutex } from '../mutex.js';
import type {
  AuditHead,
  AuditPort,
  AuditRange,
  CertificatePort,
  CommitOptions,
  CommitResult,
  CrlKind,
  CrlPort,
  MetaPort,
  OcspResponsePort,
  RevocationPort,
  Store,
  WriteOp,
} from '../ports.js';
import * as codec from './codec.js';
import { esc, K, lastComponent, padSeq, padTime, under, unesc, type KeyRange } from './keys.js';

export interface LevelStoreOptions {
  /** The agent-ca data directory; the database lives in `<dataDir>/db`. */
  dataDir: string;
  /** Create the directory and database when missing (default true). */
  create?: boolean;
}

type Db = Level<string, string>;
type BatchOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** Streaming reads fetch this many values per native call. */
const VALUES_PAGE = 1024;

/** Index keys are read in pages of this many, then resolved with one getMany. */
const PAGE = 256;

export class LevelStore implements Store {
  readonly kind = 'level';
  readonly location: string;
  private readonly create: boolean;
  private readonly mutex = new Mutex();
  private db: Db | undefined;
  private cache = { changeSeq: 0, certCount: 0, head: null as AuditHead | null };

  constructor(private readonly opts: LevelStoreOptions) {
    this.location = join(opts.dataDir, 'db');
    this.create = opts.create ?? true;
  }

  async open(): Promise<void> {
    if (this.db?.status === 'open') return;
    if (!this.create && !existsSync(this.location)) {
      throw new AgentCaError('STORE_UNAVAILABLE', `no agent-ca database at ${this.location} (run init first)`, {
        dataDir: this.opts.dataDir,
      });
    }
    if (this.create) {
      mkdirSync(this.opts.dataDir, { recursive: true, mode: 0o700 });
      mkdirSync(this.location, { recursive: true, mode: 0o700 });
    }
    const db: Db = new Level<string, string>(this.location, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      createIfMissing: this.create,
    });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new AgentCaError(
          'STORE_LOCKED',
          `data dir ${this.opts.dataDir} is in use by another agent-ca process`,
          { dataDir: this.opts.dataDir },
          { cause: e },
        );
      }
      throw new AgentCaError(
        'STORE_UNAVAILABLE',
        `cannot open the database at ${this.location}: ${cause?.message ?? (e as Error).message}`,
        { dataDir: this.opts.dataDir },
        { cause: e },
      );
    }
    restrictToOwner(this.location);
    this.db = db;
    const [changeSeq, certCount] = await db.getMany([K.changeSeq, K.certCount]);
    this.cache = {
      changeSeq: Number(changeSeq ?? 0),
      certCount: Number(certCount ?? 0),
      head: await this.readHead(db),
    };
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      const db = this.db;
      this.db = undefined;
      if (db) await db.close();
    });
  }

  private ensureOpen(): void {
    void this.d;
  }

  private get d(): Db {
    if (!this.db || this.db.status !== 'open')
      throw new AgentCaError('STORE_UNAVAILABLE', `the store at ${this.location} is not open`);
    return this.db;
  }

  private async readHead(db: Db): Promise<AuditHead | null> {
    for await (const value of db.values({ ...under('a'), reverse: true, limit: 1 })) {
      const e = codec.decodeAuditEntry(value);
      return { seq: e.seq, hash: e.hash };
    }
    return null;
  }

  /**
   * A read made by a commit's plan, under the commit mutex (which orders every write of this
   * store, and LevelDB's lock keeps other processes out), so check-and-write is atomic. It is
   * synchronous where the library has getSync (classic-level): a lookup in the memtable and
   * the bloom-filtered tables, a few µs on the event loop, against a thread-pool round trip
   * that left the loop idle while every issuance in flight waited for it (docs/throughput.md).
   */
  private async readForPlan(key: string): Promise<string | undefined> {
    const db = this.d;
    return (db.supports as { getSync?: boolean }).getSync ? db.getSync(key) : db.get(key);
  }

  private readonly reader: PlannerReader = {
    certificateExists: async (serial) => (await this.readForPlan(K.cert(serial))) !== undefined,
    revocation: async (serial) => decodeOpt(await this.readForPlan(K.revocation(serial)), codec.decodeRevocation),
    ocspResponse: async (issuerId, serial, hash) =>
      decodeOpt(await this.readForPlan(K.ocsp(issuerId, serial, hash)), codec.decodeOcsp),
    auditHead: async () => this.cache.head,
    lastChangeSeq: async () => this.cache.changeSeq,
    crlCounter: async (issuerId) => BigInt((await this.readForPlan(K.crlCounter(issuerId))) ?? 0),
    latestCrlNumber: async (issuerId, kind) => {
      const v = await this.readForPlan(K.crlLatest(issuerId, kind));
      return v === undefined ? undefined : BigInt(v);
    },
  };

  commit(batch: readonly WriteOp[], opts?: CommitOptions): Promise<CommitResult> {
    return this.mutex.run(async () => {
      const plan = await planCommit(batch, this.reader, opts);
      const db = this.d;
      const ops = this.toBatch(plan);
      if (ops.length > 0) {
        try {
          await rawBatch(db, ops, plan.sync);
        } catch (e) {
          throw new AgentCaError(
            'STORE_UNAVAILABLE',
            `write to ${this.location} failed: ${(e as Error).message}`,
            {},
            { cause: e },
          );
        }
      }
      // Caches move only after the batch is durable in LevelDB.
      this.cache = {
        changeSeq: plan.lastChangeSeq,
        certCount: this.cache.certCount + plan.certificatesAdded,
        head: plan.auditHead,
      };
      return { changes: plan.changes };
    });
  }

  private toBatch(plan: CommitPlan): BatchOp[] {
    const ops: BatchOp[] = [];
    const put = (key: string, value: string): void => void ops.push({ type: 'put', key, value });
    const del = (key: string): void => void ops.push({ type: 'del', key });
    for (const m of plan.mutations) {
      switch (m.kind) {
        case 'putCertificate': {
          const r = m.record;
          put(K.cert(r.serial), codec.encodeCertificate(r));
          put(K.certByIssuer(r.issuerId, r.serial), '');
          put(K.certByExpiry(r.notAfter, r.serial), '');
          if (r.agentId !== undefined) put(K.certByAgent(r.agentId, r.serial), '');
          if (r.tenant !== undefined) put(K.certByTenant(r.tenant, r.serial), '');
          break;
        }
        case 'putRevocation': {
          const v = codec.encodeRevocation(m.record);
          if (m.previous && m.previous.issuerId !== m.record.issuerId)
            del(K.revocationByIssuer(m.previous.issuerId, m.previous.serial));
          put(K.revocation(m.record.serial), v);
          put(K.revocationByIssuer(m.record.issuerId, m.record.serial), v);
          break;
        }
        case 'deleteRevocation':
          del(K.revocation(m.previous.serial));
          del(K.revocationByIssuer(m.previous.issuerId, m.previous.serial));
          break;
        case 'putStatusChange':
          put(K.change(m.change.issuerId, m.change.seq), codec.encodeChange(m.change));
          break;
        case 'putOcspResponse': {
          const r = m.record;
          if (m.previous)
            del(K.ocspDue(m.previous.nextUpdate, m.previous.issuerId, m.previous.serial, m.previous.hashAlgorithm));
          put(K.ocsp(r.issuerId, r.serial, r.hashAlgorithm), codec.encodeOcsp(r));
          put(K.ocspDue(r.nextUpdate, r.issuerId, r.serial, r.hashAlgorithm), '');
          break;
        }
        case 'putCrl':
          put(K.crl(m.record.issuerId, m.record.number), codec.encodeCrl(m.record));
          if (m.latest) put(K.crlLatest(m.record.issuerId, m.record.kind), m.record.number.toString());
          if (m.counter !== undefined) put(K.crlCounter(m.record.issuerId), m.counter.toString());
          break;
        case 'appendAudit':
          put(K.audit(m.entry.seq), codec.encodeAuditEntry(m.entry));
          put(K.auditByTime(m.entry.time, m.entry.seq), '');
          break;
        case 'putAuditCheckpoint':
          put(K.checkpoint(m.checkpoint.seq), codec.encodeCheckpoint(m.checkpoint));
          break;
        case 'putMeta':
          put(K.meta(m.key), JSON.stringify(m.value));
          break;
        case 'deleteMeta':
          del(K.meta(m.key));
          break;
      }
    }
    if (plan.lastChangeSeq !== this.cache.changeSeq) put(K.changeSeq, String(plan.lastChangeSeq));
    if (plan.certificatesAdded > 0) put(K.certCount, String(this.cache.certCount + plan.certificatesAdded));
    return ops;
  }

  // -- streaming helpers ---------------------------------------------------------------------

  /** Values in a key range, through the iterator (LevelDB reads ahead a bounded amount). */
  private async *values(range: KeyRange & { limit?: number; reverse?: boolean }): AsyncGenerator<string> {
    // Pages of PAGE values with a 1 MiB read-ahead: one native call per page instead of one
    // per record (a 100,000-entry CRL streams in well under half the time). Memory stays
    // bounded by the page.
    const it = this.d.values({ ...range, highWaterMarkBytes: 1 << 20 } as KeyRange & {
      limit?: number;
      reverse?: boolean;
    });
    try {
      for (;;) {
        const page = await it.nextv(VALUES_PAGE);
        if (page.length === 0) return;
        for (const v of page) yield v;
      }
    } finally {
      await it.close();
    }
  }

  /** Resolve index keys (page by page) to primary records. */
  private async *resolve(
    range: KeyRange & { limit?: number },
    primaryOf: (indexKey: string) => string,
  ): AsyncGenerator<string> {
    const it = this.d.keys(range);
    try {
      for (;;) {
        const keys = await it.nextv(PAGE);
        if (keys.length === 0) return;
        const values = await this.d.getMany(keys.map(primaryOf));
        for (const v of values) if (v !== undefined) yield v;
      }
    } finally {
      await it.close();
    }
  }

  private async collect<T>(gen: AsyncIterable<string>, decode: (s: string) => T): Promise<T[]> {
    const out: T[] = [];
    for await (const v of gen) out.push(decode(v));
    return out;
  }

  // -- ports ---------------------------------------------------------------------------------

  readonly certificates: CertificatePort = {
    get: async (serial) => decodeOpt(await this.d.get(K.cert(serial)), codec.decodeCertificate),
    has: async (serial) => this.d.has(K.cert(serial)),
    listByAgent: (agentId) =>
      this.collect(this.resolve(under('ca', esc(agentId)), certFromIndex), codec.decodeCertificate),
    listByTenant: (tenant) =>
      this.collect(this.resolve(under('ct', esc(tenant)), certFromIndex), codec.decodeCertificate),
    listExpiringBefore: (before, opts = {}) => {
      const range = {
        gte: opts.from ? `ce!${padTime(opts.from.getTime())}` : 'ce!',
        lt: `ce!${padTime(before.getTime())}`,
      };
      return this.collect(
        this.resolve({ ...range, ...(opts.limit !== undefined ? { limit: opts.limit } : {}) }, certFromIndex),
        codec.decodeCertificate,
      );
    },
    iterate: (opts = {}) => {
      const raw =
        opts.issuerId === undefined
          ? this.values(under('c'))
          : this.resolve(under('ci', esc(opts.issuerId)), certFromIndex);
      return mapIter(raw, codec.decodeCertificate);
    },
    count: async () => {
      this.ensureOpen();
      return this.cache.certCount;
    },
  };

  readonly revocations: RevocationPort = {
    get: async (serial) => decodeOpt(await this.d.get(K.revocation(serial)), codec.decodeRevocation),
    iterate: ({ issuerId }) => mapIter(this.values(under('ri', esc(issuerId))), codec.decodeRevocation),
    changesSince: (issuerId: IssuerId, afterSeq: number) =>
      mapIter(
        this.values({ gte: K.change(issuerId, afterSeq + 1), lt: under('sc', esc(issuerId)).lt }),
        codec.decodeChange,
      ),
    lastChangeSeq: async () => {
      this.ensureOpen();
      return this.cache.changeSeq;
    },
  };

  readonly ocspResponses: OcspResponsePort = {
    get: async (issuerId: IssuerId, serial: Serial, hash = 'sha1') =>
      decodeOpt(await this.d.get(K.ocsp(issuerId, serial, hash)), codec.decodeOcsp),
    iterate: (issuerId) => mapIter(this.values(under('o', esc(issuerId))), codec.decodeOcsp),
    listDueBefore: (before, opts = {}) => {
      const range = {
        gte: 'od!',
        lt: `od!${padTime(before.getTime())}`,
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      };
      // od!<time>!<issuer>!<serial>!<hash> -> o!<issuer>!<serial>!<hash>
      return this.collect(
        this.resolve(range, (k) => `o!${k.split('!').slice(2).join('!')}`),
        codec.decodeOcsp,
      );
    },
  };

  readonly crls: CrlPort = {
    latest: async (issuerId: IssuerId, kind: CrlKind) => {
      const n = await this.d.get(K.crlLatest(issuerId, kind));
      return n === undefined ? undefined : decodeOpt(await this.d.get(K.crl(issuerId, BigInt(n))), codec.decodeCrl);
    },
    get: async (issuerId, number) => decodeOpt(await this.d.get(K.crl(issuerId, number)), codec.decodeCrl),
    nextCrlNumber: (issuerId) =>
      // Under the commit mutex (so putCrl's counter raise cannot interleave) and fsynced before
      // the number is handed out: a number is never reused, even across a crash.
      this.mutex.run(async () => {
        const db = this.d;
        const n = BigInt((await db.get(K.crlCounter(issuerId))) ?? 0) + 1n;
        await db.put(K.crlCounter(issuerId), n.toString(), { sync: true });
        return n;
      }),
    counter: async (issuerId) => BigInt((await this.d.get(K.crlCounter(issuerId))) ?? 0),
    iterate: (issuerId) => mapIter(this.values(under('l', esc(issuerId))), codec.decodeCrl),
  };

  readonly audit: AuditPort = {
    head: async () => {
      this.ensureOpen();
      return this.cache.head;
    },
    get: async (seq) => decodeOpt(await this.d.get(K.audit(seq)), codec.decodeAuditEntry),
    iterate: (range: AuditRange = {}) => {
      const fromSeq = range.fromSeq ?? 1;
      const toSeq = range.toSeq;
      if (range.fromTime === undefined && range.toTime === undefined) {
        const lt = toSeq === undefined ? under('a').lt : K.audit(toSeq + 1);
        return mapIter(this.values({ gte: K.audit(Math.max(fromSeq, 0)), lt }), codec.decodeAuditEntry);
      }
      const gte = range.fromTime ? `at!${padTime(range.fromTime.getTime())}` : 'at!';
      const lt = range.toTime ? `at!${padTime(range.toTime.getTime() + 1)}` : under('at').lt;
      const entries = mapIter(
        this.resolve({ gte, lt }, (k) => `a!${lastComponent(k)}`),
        codec.decodeAuditEntry,
      );
      return filterIter(entries, (e) => e.seq >= fromSeq && (toSeq === undefined || e.seq <= toSeq));
    },
    iterateCheckpoints: (range = {}) => mapIter(this.values(checkpointRange(range)), codec.decodeCheckpoint),
    listCheckpoints: (range = {}) => this.collect(this.values(checkpointRange(range)), codec.decodeCheckpoint),
    latestCheckpoint: async () => {
      for await (const v of this.values({ ...under('ak'), reverse: true, limit: 1 })) return codec.decodeCheckpoint(v);
      return undefined;
    },
  };

  readonly meta: MetaPort = {
    get: async <T>(key: string) => {
      const v = await this.d.get(K.meta(key));
      return v === undefined ? undefined : (JSON.parse(v) as T);
    },
    put: async (key, value, opts) => {
      await this.commit([{ op: 'putMeta', key, value }], opts);
    },
    iterate: () => this.metaEntries(),
  };

  private async *metaEntries(): AsyncGenerator<{ key: string; value: unknown }> {
    const it = this.d.iterator(under('m'));
    try {
      for (;;) {
        const page = await it.nextv(PAGE);
        if (page.length === 0) return;
        for (const [k, v] of page) yield { key: unesc(k.slice(2)), value: JSON.parse(v) as unknown };
      }
    } finally {
      await it.close();
    }
  }
}

/** ci!/ca!/ct!/ce! index key -> c!<serial> (the serial is the last component, already escaped). */
function certFromIndex(indexKey: string): string {
  return `c!${lastComponent(indexKey)}`;
}

function checkpointRange(range: { fromSeq?: number; toSeq?: number }): KeyRange {
  return {
    gte: range.fromSeq === undefined ? 'ak!' : `ak!${padSeq(Math.max(range.fromSeq, 0))}`,
    lt: range.toSeq === undefined ? under('ak').lt : `ak!${padSeq(range.toSeq + 1)}`,
  };
}

/**
 * Writes an already encoded batch through classic-level's private `_batch` (one native call that
 * builds the LevelDB WriteBatch), skipping abstract-level's per-operation work: option spreading,
 * key and value validation and encoding, prewrite hooks and write events, none of which this
 * store uses (keys and values are utf8 strings already, the store is open: `d` checked it).
 * A library without `_batch` gets the public `batch`.
 */
function rawBatch(db: Db, ops: BatchOp[], sync: boolean): Promise<void> {
  const raw = db as unknown as { _batch?: (ops: BatchOp[], opts: { sync: boolean }) => Promise<void> };
  return typeof raw._batch === 'function' ? raw._batch(ops, { sync }) : db.batch(ops, { sync });
}

function decodeOpt<T>(v: string | undefined, decode: (s: string) => T): T | undefined {
  return v === undefined ? undefined : decode(v);
}

async function* mapIter<A, B>(src: AsyncIterable<A>, f: (a: A) => B): AsyncGenerator<B> {
  for await (const a of src) yield f(a);
}

async function* filterIter<A>(src: AsyncIterable<A>, pred: (a: A) => boolean): AsyncGenerator<A> {
  for await (const a of src) if (pred(a)) yield a;
}

export async function openLevelStore(opts: LevelStoreOptions): Promise<LevelStore> {
  const store = new LevelStore(opts);
  await store.open();
  return store;
}

/**
 * The database holds webhook secrets, admin token hashes and the audit log: owner-only, like
 * PostgreSQL's data directory. LevelDB creates its files with the process umask (usually
 * 0644), so the directory is what protects them (0700); files already there are tightened to
 * 0600 at every open, which also fixes data dirs made by older versions.
 */
function restrictToOwner(dir: string): void {
  chmodSync(dir, 0o700);
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    if (!f.isFile()) continue;
    try {
      chmodSync(join(dir, f.name), 0o600);
    } catch (e) {
      // LevelDB compacts in the background: a table file listed a moment ago may be gone.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
