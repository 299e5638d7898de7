/**
 * Revocation bench: revocations/s into LevelDB through the real path (Authority.revoke: audit intent,
 * then ONE synced commit with the revocation and the audit outcome), without and with an
 * OcspService attached (it signs the serial's SHA-1 and SHA-256 answers before that commit
 * and serves them once it is durable), sequentially and 32 in flight (the audit log group-commits), beside raw `level`
 * batch puts with sync:true of the same number of small records, in the same run.
 *
 * Then the time and peak memory to load the status of 1,000,000 revoked certificates: the
 * revocations are written with commitInBatches (sync off: setup, not timed), then each load
 * runs in its own process (child-rss.ts): store.revocations.iterate() into a compact
 * StatusTable, beside iterating the same raw LevelDB range without decoding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { systemClock } from '../../src/clock.js';
import { OcspService } from '../../src/ocsp/service.js';
import { commitInBatches, revocationOp, syntheticCertificate, syntheticSerial } from '../../src/store/bulk.js';
import { openLevelStore } from '../../src/store/level/level-store.js';
import { esc, under } from '../../src/store/level/keys.js';
import { REVOCATION_REASON_CODES, type RevocationReason } from '../../src/store/ports.js';
import type { IssuerId, Serial } from '../../src/types.js';
import { runInChild } from './child-rss.js';
import { fmt, header, line, ratio, type Rate } from './util.js';

export const BENCH_ISSUER = 'intermediate' as IssuerId;
/** Salt of the dataset serials (syntheticSerial): apart from the rate pool's. */
export const DATASET_SALT = 1;
const POOL_SALT = 2;
const DATASET_REASONS: readonly RevocationReason[] = [
  'keyCompromise',
  'superseded',
  'cessationOfOperation',
  'affiliationChanged',
];

/** Revocation i of a dataset: what the store, openssl's index.txt and the pure builder all list. */
export function datasetRevocation(
  i: number,
  baseMs: number,
): { serial: Serial; revokedAt: Date; reason: RevocationReason } {
  return {
    serial: syntheticSerial(i, DATASET_SALT),
    revokedAt: new Date(baseMs - i * 1000),
    reason: DATASET_REASONS[i % DATASET_REASONS.length]!,
  };
}

export interface RevokedDataset {
  /** An initialised agent-ca data dir (p256 CA) whose store holds `count` revocations of BENCH_ISSUER. */
  dataDir: string;
  count: number;
  /** revokedAt of entry 0, whole seconds; entry i is i seconds earlier. */
  baseMs: number;
  setupSeconds: number;
}

const datasets = new Map<number, Promise<RevokedDataset>>();

/** Whether this run already built (or is building) the dataset of this size. */
export function hasRevokedDataset(count: number): boolean {
  return datasets.has(count);
}

/** One dataset per size per bench run (the revocation and CRL sections share the 1M one). */
export function revokedDataset(count: number): Promise<RevokedDataset> {
  let p = datasets.get(count);
  if (!p) {
    p = buildDataset(count);
    datasets.set(count, p);
  }
  return p;
}

async function buildDataset(count: number): Promise<RevokedDataset> {
  const dataDir = mkdtempSync(join(tmpdir(), `aca-bench-revoked-${count}-`));
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const a = await createAuthority({ dataDir, env: {} });
  await a.init({ config: { organization: 'Bench Operator' } });
  const baseMs = Math.floor(systemClock.now().getTime() / 1000) * 1000 - 60_000;
  const t0 = performance.now();
  const ops = function* () {
    for (let i = 0; i < count; i++) {
      const r = datasetRevocation(i, baseMs);
      yield revocationOp(r.serial, BENCH_ISSUER, r.revokedAt, { reason: r.reason });
    }
  };
  await commitInBatches(a.store, ops(), { sync: false, batchSize: 10_000 });
  const setupSeconds = (performance.now() - t0) / 1000;
  await a.close();
  await settleDataset(dataDir);
  return { dataDir, count, baseMs, setupSeconds };
}

/**
 * Compacts a dataset's LevelDB (memtable flushed, levels merged) so that the next measured
 * process opens a settled database, as a long-running server's would be: no write-ahead log
 * to replay and no background compaction competing for the 2 cores or inflating RSS with
 * mmapped table pages. Setup, never timed.
 */
export async function settleDataset(dataDir: string): Promise<void> {
  const db = new Level<string, string>(join(dataDir, 'db'), {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    createIfMissing: false,
  });
  await db.open();
  try {
    // In Node, `level` is classic-level, whose compactRange its type declarations leave out.
    await (db as unknown as { compactRange(start: string, end: string): Promise<void> }).compactRange('\x00', '\uffff');
  } finally {
    await db.close();
  }
}

/** Revokes pool serials from `cursor` on, `concurrency` at a time, for about `seconds`. */
async function revokeRate(
  a: Authority,
  pool: readonly Serial[],
  cursor: { i: number },
  seconds: number,
  concurrency: number,
): Promise<Rate> {
  for (let w = 0; w < 20 && cursor.i < pool.length; w++)
    await a.revoke(pool[cursor.i++]!, { reason: 'keyCompromise', actor: 'bench' });
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let ops = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && cursor.i < pool.length) {
      await a.revoke(pool[cursor.i++]!, { reason: 'keyCompromise', actor: 'bench' });
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - start) / 1000;
  return { ops, seconds: s, perSecond: ops / s };
}

/** Baseline: `n` single-record `db.batch([put], { sync: true })`, `concurrency` at a time. */
async function rawSyncPuts(db: Level<string, string>, n: number, concurrency: number, run: number): Promise<Rate> {
  const value = JSON.stringify({
    serial: syntheticSerial(0),
    issuerId: BENCH_ISSUER,
    revokedAt: 1767225600000,
    reason: 'keyCompromise',
    actor: 'bench',
    changeSeq: 1,
  });
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await db.batch([{ type: 'put', key: `r!${run}!${syntheticSerial(i)}`, value }], { sync: true });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = (performance.now() - start) / 1000;
  return { ops: n, seconds: s, perSecond: n / s };
}

async function benchRevokeRates(seconds: number, results: Record<string, number>): Promise<void> {
  header(
    'revocations into LevelDB: Authority.revoke (audit intent + one synced commit) vs raw level batch put, sync:true',
  );
  const dir = mkdtempSync(join(tmpdir(), 'aca-bench-revoke-'));
  const a = await createAuthority({ dataDir: join(dir, 'data'), env: {} });
  const raw = new Level<string, string>(join(dir, 'raw'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await a.init({ config: { organization: 'Bench Operator' } });
    await raw.open();
    // Synthetic agent certificates to revoke (the signer never sees them; OCSP pre-signing needs only the serial).
    // ~20,000 revocations per second of each row, summed over the four rows, is more than this
    // machine does (32 in flight reached ~7,900/s); a row that exhausts the pool ends early and
    // says so.
    const poolSize = Math.max(10_000, Math.ceil(seconds * 20_000));
    const now = a.clock.now();
    const certs = function* () {
      for (let i = 0; i < poolSize; i++)
        yield {
          op: 'putCertificate' as const,
          record: syntheticCertificate(i, { issuerId: BENCH_ISSUER, now, salt: POOL_SALT, derBytes: 300 }),
        };
    };
    await commitInBatches(a.store, certs(), { sync: false, batchSize: 2000 });
    const pool = Array.from({ length: poolSize }, (_, i) => syntheticSerial(i, POOL_SALT));
    const cursor = { i: 0 };

    line(
      'mode'.padEnd(30),
      'revoked'.padStart(8),
      'revocations/s'.padStart(14),
      'raw sync puts/s'.padStart(16),
      'revoke/raw'.padStart(11),
    );
    const modes: [string, number, boolean][] = [
      ['sequential', 1, false],
      ['32 in flight', 32, false],
      ['sequential + OCSP pre-sign', 1, true],
      ['32 in flight + OCSP pre-sign', 32, true],
    ];
    let run = 0;
    let ocspAttached = false;
    for (const [name, concurrency, ocsp] of modes) {
      // An OcspService registers itself as a status publisher for good: the OCSP rows come last.
      if (ocsp && !ocspAttached) {
        new OcspService(a);
        ocspAttached = true;
      }
      const r = await revokeRate(a, pool, cursor, seconds, concurrency);
      const b = await rawSyncPuts(raw, r.ops, concurrency, run++);
      line(
        name.padEnd(30),
        fmt(r.ops).padStart(8),
        fmt(r.perSecond).padStart(14),
        fmt(b.perSecond).padStart(16),
        ratio(r.perSecond, b.perSecond).padStart(11),
      );
      const key = `${concurrency === 1 ? 'seq' : 'c32'}${ocsp ? '.ocsp' : ''}`;
      results[`revoke.${key}`] = r.perSecond;
      results[`raw.${key}`] = b.perSecond;
      if (cursor.i >= pool.length) line(`  (pool of ${fmt(poolSize)} certificates used up; later rows ran short)`);
    }
    line(
      'p256 CA; OCSP pre-sign = 2 ECDSA signatures (SHA-1 and SHA-256 CertIDs) by the delegated responder per revoke',
    );
    line(
      'one fsync per revoke sequentially; concurrent revokes share group commits (audit log) and LevelDB write groups (raw)',
    );
  } finally {
    await a.close();
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// -- status load (each in its own process) ---------------------------------------------------

const SLOT = 20; // RFC 5280 §4.1.2.2: serials are at most 20 octets

/**
 * The compact in-memory status of many revoked serials: flat arrays, ~29 bytes an entry
 * (serial left-padded to 20 bytes, so byte order is numeric order; revokedAt ms; reason code),
 * sorted once after loading, looked up by binary search.
 */
export class StatusTable {
  size = 0;
  private serials = Buffer.alloc(0);
  private at = new Float64Array(0);
  private reasons = new Uint8Array(0);
  private sorted = true;

  add(serialHex: string, reason: number, atMs: number): void {
    if (this.size === this.at.length) this.grow(Math.max(1024, this.size * 2));
    const hex = serialHex.length % 2 ? `0${serialHex}` : serialHex;
    const o = this.size * SLOT;
    const pad = SLOT - hex.length / 2;
    this.serials.fill(0, o, o + pad);
    this.serials.write(hex, o + pad, 'hex');
    this.at[this.size] = atMs;
    this.reasons[this.size] = reason;
    if (this.size > 0 && this.sorted && this.serials.compare(this.serials, o - SLOT, o, o, o + SLOT) < 0)
      this.sorted = false;
    this.size++;
  }

  /** Sorts by serial when the source was not already in numeric order (mixed serial lengths). */
  finish(): void {
    if (this.sorted) return;
    const idx = Array.from({ length: this.size }, (_, i) => i);
    idx.sort((x, y) => this.serials.compare(this.serials, y * SLOT, y * SLOT + SLOT, x * SLOT, x * SLOT + SLOT));
    const serials = Buffer.alloc(this.size * SLOT);
    const at = new Float64Array(this.size);
    const reasons = new Uint8Array(this.size);
    idx.forEach((from, to) => {
      this.serials.copy(serials, to * SLOT, from * SLOT, from * SLOT + SLOT);
      at[to] = this.at[from]!;
      reasons[to] = this.reasons[from]!;
    });
    [this.serials, this.at, this.reasons, this.sorted] = [serials, at, reasons, true];
  }

  get(serialHex: string): { reason: number; at: number } | undefined {
    const key = Buffer.alloc(SLOT);
    const hex = serialHex.length % 2 ? `0${serialHex}` : serialHex;
    key.write(hex, SLOT - hex.length / 2, 'hex');
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.serials.compare(key, 0, SLOT, mid * SLOT, mid * SLOT + SLOT);
      if (c === 0) return { reason: this.reasons[mid]!, at: this.at[mid]! };
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  get bytes(): number {
    return this.serials.length + this.at.byteLength + this.reasons.byteLength;
  }

  private grow(capacity: number): void {
    const serials = Buffer.alloc(capacity * SLOT);
    this.serials.copy(serials);
    const at = new Float64Array(capacity);
    at.set(this.at);
    const reasons = new Uint8Array(capacity);
    reasons.set(this.reasons);
    [this.serials, this.at, this.reasons] = [serials, at, reasons];
  }
}

interface LoadArgs {
  dataDir: string;
  count: number;
  baseMs: number;
}

interface LoadResult {
  seconds: number;
  entries: number;
  tableBytes?: number;
  bytesRead?: number;
}

/** Child task: store.revocations.iterate({ issuerId }) -> StatusTable, then spot-checks it. */
export async function loadStatusFromStore(args: LoadArgs, mark: () => void): Promise<LoadResult> {
  const store = await openLevelStore({ dataDir: args.dataDir, create: false });
  try {
    mark();
    const t0 = performance.now();
    const table = new StatusTable();
    for await (const r of store.revocations.iterate({ issuerId: BENCH_ISSUER }))
      table.add(r.serial, REVOCATION_REASON_CODES[r.reason], r.revokedAt.getTime());
    table.finish();
    const seconds = (performance.now() - t0) / 1000;
    if (table.size !== args.count) throw new Error(`loaded ${table.size} revocations, expected ${args.count}`);
    for (let k = 0; k < 1000; k++) {
      const i = (k * 7919) % args.count;
      const want = datasetRevocation(i, args.baseMs);
      const got = table.get(want.serial);
      if (!got || got.reason !== REVOCATION_REASON_CODES[want.reason] || got.at !== want.revokedAt.getTime())
        throw new Error(`status of ${want.serial} is wrong after the load`);
    }
    if (table.get(syntheticSerial(args.count, DATASET_SALT)))
      throw new Error('a serial that was never revoked is in the table');
    return { seconds, entries: table.size, tableBytes: table.bytes };
  } finally {
    await store.close();
  }
}

/** Child task (baseline): the same LevelDB key range through a raw iterator, nothing decoded. */
export async function loadStatusRawLevel(args: LoadArgs, mark: () => void): Promise<LoadResult> {
  const db = new Level<string, string>(join(args.dataDir, 'db'), {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    createIfMissing: false,
  });
  await db.open();
  try {
    mark();
    const t0 = performance.now();
    let entries = 0;
    let bytesRead = 0;
    for await (const [k, v] of db.iterator(under('ri', esc(BENCH_ISSUER)))) {
      entries++;
      bytesRead += k.length + v.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (entries !== args.count) throw new Error(`iterated ${entries} keys, expected ${args.count}`);
    return { seconds, entries, bytesRead };
  } finally {
    await db.close();
  }
}

async function benchStatusLoad(results: Record<string, number>): Promise<void> {
  const count = 1_000_000;
  header(`status of ${fmt(count)} revoked certificates loaded from LevelDB (each load in its own process)`);
  const ds = await revokedDataset(count);
  line(
    `setup (not timed below): ${fmt(count)} revocations via commitInBatches, sync off, batches of 10,000: ${fmt(ds.setupSeconds, 1)} s`,
  );
  const args: LoadArgs = { dataDir: ds.dataDir, count, baseMs: ds.baseMs };
  const raw = await runInChild<LoadArgs, LoadResult>(import.meta.url, 'loadStatusRawLevel', args);
  const ours = await runInChild<LoadArgs, LoadResult>(import.meta.url, 'loadStatusFromStore', args);
  line(
    'load'.padEnd(44),
    'seconds'.padStart(8),
    'entries/s'.padStart(11),
    'peak RSS MiB'.padStart(13),
    'RSS delta MiB'.padStart(14),
    'time vs raw'.padStart(12),
  );
  const row = (name: string, m: typeof raw, vs: string): void =>
    line(
      name.padEnd(44),
      fmt(m.result.seconds, 2).padStart(8),
      fmt(m.result.entries / m.result.seconds).padStart(11),
      `${fmt(m.peakRssMiB)}${m.peakBeforeMark ? '*' : ''}`.padStart(13),
      fmt(m.deltaRssMiB).padStart(14),
      vs.padStart(12),
    );
  row('raw level iterator, keys+values, no decode', raw, '');
  row('store.revocations.iterate -> StatusTable', ours, ratio(ours.result.seconds, raw.result.seconds));
  if (raw.peakBeforeMark || ours.peakBeforeMark)
    line('* the process peaked while opening the store, before the measured load: an upper bound');
  line(
    `StatusTable: ${fmt((ours.result.tableBytes ?? 0) / 1048576, 1)} MiB for ${fmt(count)} entries (20-byte serial slot + revokedAt + reason, sorted, binary search)`,
  );
  results['status1M.seconds'] = ours.result.seconds;
  results['status1M.deltaMiB'] = ours.deltaRssMiB;
  results['status1M.raw.seconds'] = raw.result.seconds;
}

export async function benchRevocation(seconds: number): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  await benchRevokeRates(seconds, results);
  await benchStatusLoad(results);
  return results;
}
