/**
 * CRL bench: time and peak memory to build and sign a full CRL with 100,000 and 1,000,000
 * entries, (a) streamed from LevelDB through CrlPublisher.publishFull (keepExpired: every
 * revocation listed; includes the CRL number fsync and storing the CRL) and (b) the pure
 * builder over a generator, beside `openssl ca -gencrl` on an index.txt holding the same
 * 100,000 revocations, in the same run. publishFull is measured for an issuer's first CRL and
 * in steady state (a previous full CRL is stored, and publishFull reads it). Every build runs
 * in its own process (child-rss.ts) so peak RSS figures do not mix, against a compacted
 * LevelDB (settleDataset). Then a delta CRL with 1,000 entries since its base.
 *
 * Checks, not timed: our 100,000-entry CRL verifies with `openssl crl -CAfile`, and both
 * CRLs list exactly 100,000 entries.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTlv, readWhole } from '../../src/asn1/der-reader.js';
import { pemOrDer } from '../../src/asn1/pem.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { buildCrlDetailed, type CrlEntryInput } from '../../src/crl/crl-builder.js';
import { CrlPublisher, crlIssuerFromCa } from '../../src/crl/publisher.js';
import { commitInBatches, revocationOp } from '../../src/store/bulk.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { runInChild, type ChildMeasurement } from './child-rss.js';
import {
  BENCH_ISSUER,
  datasetRevocation,
  hasRevokedDataset,
  revokedDataset,
  settleDataset,
  type RevokedDataset,
} from './revocation.js';
import { fmt, header, line, rate } from './util.js';

const DAY = 86_400_000;

export interface BuildArgs {
  dataDir: string;
  /** postgres://… to build from PostgreSQL (scale.ts); LevelDB in dataDir otherwise. */
  storeUrl?: string;
  count: number;
  baseMs: number;
  /** Write the DER here after timing (for the openssl checks). */
  outFile?: string;
}

export interface BuildResult {
  seconds: number;
  entries: number;
  bytes: number;
  /** publishFull only: seconds in store.commit (storing the CRL, its meta records). */
  storeSeconds?: number;
  /** publishFull only: CPU seconds of this process during the publication. */
  cpuSeconds?: number;
  /** publishFull from a local PostgreSQL: CPU seconds of the store's server backends meanwhile. */
  serverCpuSeconds?: number;
}

/** The backend pid of every connection of a PostgreSQL store's pool (all opened now). */
async function backendPids(store: unknown): Promise<number[]> {
  if (!(store instanceof PostgresStore)) return [];
  const clients = await Promise.all(Array.from({ length: 10 }, () => store.db.connect()));
  try {
    return await Promise.all(
      clients.map(async (c) => Number((await c.query<{ p: number }>('select pg_backend_pid() as p')).rows[0]!.p)),
    );
  } finally {
    for (const c of clients) c.release();
  }
}

/** utime + stime of a local process (/proc/PID/stat, clock ticks of 1/100 s); undefined when unreadable. */
function procCpuTicks(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined; // not local, not Linux, or exited
  }
}

/**
 * CPU seconds that `pids` use from now until the returned function is called. They are sampled
 * every 100 ms: the pool closes idle connections (their backends exit) during a long run.
 * NaN when a backend could not be read at the start (PostgreSQL on another host).
 */
function watchCpu(pids: readonly number[]): () => number {
  const first = pids.map(procCpuTicks);
  const last = [...first];
  const sample = (): void =>
    pids.forEach((pid, i) => {
      const t = procCpuTicks(pid);
      if (t !== undefined) last[i] = t;
    });
  const timer = setInterval(sample, 100);
  return () => {
    clearInterval(timer);
    sample();
    if (first.some((t) => t === undefined)) return NaN;
    return last.reduce<number>((sum, t, i) => sum + (t! - first[i]!), 0) / 100;
  };
}

/** Child task: CrlPublisher.publishFull over the store (stream, build, sign, commit). */
export async function publishFullTask(args: BuildArgs, mark: () => void): Promise<BuildResult> {
  const a = await createAuthority({
    dataDir: args.dataDir,
    env: args.storeUrl ? { AGENT_CA_STORE: args.storeUrl } : {},
    create: args.storeUrl === undefined,
  });
  try {
    const publisher = new CrlPublisher({
      store: a.store,
      clock: a.clock,
      issuers: { [BENCH_ISSUER]: crlIssuerFromCa(a.ca('intermediate')) },
      keepExpired: true,
    });
    // Time in store.commit, to split "read and build" from "store" in the figure.
    const commit = a.store.commit.bind(a.store);
    let storeMs = 0;
    a.store.commit = async (...c) => {
      const t = performance.now();
      try {
        return await commit(...c);
      } finally {
        storeMs += performance.now() - t;
      }
    };
    // CPU time, this process and (PostgreSQL on this host) the server backends of the store's
    // pool: on a loaded machine the wall time mostly measures waiting for a core.
    const pids = await backendPids(a.store);
    const serverCpu = watchCpu(pids);
    mark();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const p = await publisher.publishFullDetailed(BENCH_ISSUER);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpuSeconds = serverCpu();
    if (p.entryCount !== args.count) throw new Error(`full CRL lists ${p.entryCount} entries, expected ${args.count}`);
    if (args.outFile) writeFileSync(args.outFile, p.record.der);
    return {
      seconds,
      entries: p.entryCount,
      bytes: p.record.der.length,
      storeSeconds: storeMs / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      ...(pids.length > 0 && !Number.isNaN(serverCpuSeconds) ? { serverCpuSeconds } : {}),
    };
  } finally {
    await a.close();
  }
}

/** Child task: buildCrlDetailed over a generator of the same entries (no store). */
export async function buildFromGeneratorTask(args: BuildArgs, mark: () => void): Promise<BuildResult> {
  const a = await createAuthority({ dataDir: args.dataDir, env: {} });
  try {
    const issuer = crlIssuerFromCa(a.ca('intermediate'));
    // The pure builder needs only the CA's name, key id and signer: LevelDB is closed so none
    // of its memory or background work lands in this measurement.
    await a.store.close();
    const entries = function* (): Generator<CrlEntryInput> {
      for (let i = 0; i < args.count; i++) yield datasetRevocation(i, args.baseMs);
    };
    const thisUpdate = a.clock.now();
    mark();
    const t0 = performance.now();
    const built = await buildCrlDetailed({
      issuer,
      number: 1n,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + DAY),
      entries: entries(),
    });
    const seconds = (performance.now() - t0) / 1000;
    if (built.entryCount !== args.count) throw new Error(`built ${built.entryCount} entries, expected ${args.count}`);
    if (args.outFile) writeFileSync(args.outFile, built.der);
    return { seconds, entries: built.entryCount, bytes: built.der.length };
  } finally {
    await a.close();
  }
}

/** Number of revokedCertificates entries in a DER CRL (RFC 5280 §5.1). */
export function countCrlEntries(der: Uint8Array): number {
  const tbs = readTlv(der, readWhole(der, 0x30, 'CertificateList').contentStart, 'TBSCertList');
  // version, signature, issuer, thisUpdate[, nextUpdate][, revokedCertificates][, [0] crlExtensions]:
  // the list is the first SEQUENCE after the issuer Name (index >= 3).
  let at = tbs.contentStart;
  for (let index = 0; at < tbs.end; index++) {
    const t = readTlv(der, at, 'TBSCertList field');
    if (index >= 3 && t.tag === 0x30) {
      let n = 0;
      for (let e = t.contentStart; e < t.end; e = readTlv(der, e, 'CRL entry').end) n++;
      return n;
    }
    at = t.end;
  }
  return 0;
}

/** openssl's index.txt time: YYMMDDHHMMSSZ (UTCTime). */
function indexTime(d: Date): string {
  return d.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6Z');
}

interface OpensslRun {
  seconds: number;
  peakRssMiB: number;
  entries: number;
}

const GNU_TIME = '/usr/bin/time';

/** A minimal `openssl ca` setup: index.txt with the dataset's revocations, CA = the dataset's intermediate (soft key). */
function opensslCaSetup(ds: RevokedDataset, dir: string): { cnf: string; out: string } {
  const expiry = indexTime(new Date(ds.baseMs + 90 * DAY));
  const rows: string[] = [];
  for (let i = 0; i < ds.count; i++) {
    const r = datasetRevocation(i, ds.baseMs);
    rows.push(
      `R\t${expiry}\t${indexTime(r.revokedAt)},${r.reason}\t${r.serial.toUpperCase()}\tunknown\t/CN=agent-${i}\n`,
    );
  }
  writeFileSync(join(dir, 'index.txt'), rows.join(''));
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const cnf = join(dir, 'openssl-ca.cnf');
  writeFileSync(
    cnf,
    [
      '[ ca ]',
      'default_ca = bench',
      '[ bench ]',
      `database = ${join(dir, 'index.txt')}`,
      `crlnumber = ${join(dir, 'crlnumber')}`,
      `certificate = ${join(ds.dataDir, 'ca', 'intermediate.pem')}`,
      `private_key = ${join(ds.dataDir, 'keys', 'intermediate.key.pem')}`,
      'default_md = sha256',
      'unique_subject = no',
      'crl_extensions = crl_ext',
      '[ crl_ext ]',
      'authorityKeyIdentifier = keyid:always',
      '',
    ].join('\n'),
  );
  return { cnf, out: join(dir, 'openssl-crl.pem') };
}

/** One `openssl ca -gencrl` run: wall time, and peak RSS through GNU time when it is installed. */
function opensslGencrl(setup: { cnf: string; out: string }): OpensslRun {
  const cmd = ['openssl', 'ca', '-gencrl', '-config', setup.cnf, '-crldays', '1', '-out', setup.out];
  const timed = existsSync(GNU_TIME);
  const t0 = performance.now();
  const r = timed
    ? spawnSync(GNU_TIME, ['-f', '@@time %M', ...cmd], { encoding: 'utf8' })
    : spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`openssl ca -gencrl failed: ${r.stderr}`);
  const kib = Number(/@@time (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return {
    seconds,
    peakRssMiB: kib / 1024,
    entries: countCrlEntries(pemOrDer(readFileSync(setup.out, 'utf8'), ['X509 CRL'])),
  };
}

/** Our CRL's signature checked by openssl against the issuing CA's certificate. */
function opensslVerifies(derFile: string, caFile: string): boolean {
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', derFile, '-CAfile', caFile, '-noout'], {
    encoding: 'utf8',
  });
  return r.status === 0 && /verify OK/.test(r.stderr + r.stdout);
}

type Row = ChildMeasurement<BuildResult>;

function row(
  name: string,
  entries: number,
  seconds: number,
  peak: number,
  delta: number | undefined,
  bytes: number | undefined,
  vs: string,
  peakBeforeMark = false,
): void {
  line(
    name.padEnd(52),
    fmt(entries).padStart(10),
    fmt(seconds, 2).padStart(8),
    `${fmt(peak)}${peakBeforeMark ? '*' : ''}`.padStart(13),
    (delta === undefined ? '-' : fmt(delta)).padStart(14),
    (bytes === undefined ? '-' : fmt(bytes / 1048576, 1)).padStart(8),
    vs.padStart(13),
  );
}

/** Median-time run of `times` (the machine is shared; 100k builds take well under a second). */
async function median<T extends { seconds: number }>(times: number, run: () => Promise<T> | T): Promise<T> {
  const runs: T[] = [];
  for (let i = 0; i < times; i++) runs.push(await run());
  return runs.sort((x, y) => x.seconds - y.seconds)[Math.floor(times / 2)]!;
}

const flat = (m: Row): BuildResult & { peakRssMiB: number; deltaRssMiB: number; peakBeforeMark: boolean } => ({
  ...m.result,
  peakRssMiB: m.peakRssMiB,
  deltaRssMiB: m.deltaRssMiB,
  peakBeforeMark: m.peakBeforeMark,
});

export async function benchCrl(seconds: number): Promise<Record<string, number>> {
  header('full CRL build + sign (p256 CA; each build in its own process) vs openssl ca -gencrl');
  const results: Record<string, number> = {};
  const dir = mkdtempSync(join(tmpdir(), 'aca-bench-crl-'));
  const publish = async (ds: RevokedDataset, outFile?: string) => {
    await settleDataset(ds.dataDir); // the previous publication's CRL is in the log otherwise
    return flat(
      await runInChild<BuildArgs, BuildResult>(import.meta.url, 'publishFullTask', {
        dataDir: ds.dataDir,
        count: ds.count,
        baseMs: ds.baseMs,
        ...(outFile ? { outFile } : {}),
      }),
    );
  };
  const generate = async (ds: RevokedDataset) => {
    await settleDataset(ds.dataDir); // opening replays the log of the last publication otherwise
    return flat(
      await runInChild<BuildArgs, BuildResult>(import.meta.url, 'buildFromGeneratorTask', {
        dataDir: ds.dataDir,
        count: ds.count,
        baseMs: ds.baseMs,
      }),
    );
  };
  try {
    const small = await revokedDataset(100_000);
    const osslSetup = opensslCaSetup(small, dir);
    const ossl = await median(3, () => opensslGencrl(osslSetup));
    if (ossl.entries !== small.count)
      throw new Error(`openssl's CRL lists ${ossl.entries} entries, expected ${small.count}`);
    const oursFile = join(dir, 'ours-100k.der');
    // The first full CRL of an issuer, then the steady state: every later publication also
    // reads the previous full CRL record (its number and thisUpdate, RFC 5280 §3.3 expiry).
    const first100k = await publish(small);
    const pub100k = await median(3, () => publish(small, oursFile));
    const gen100k = await median(3, () => generate(small));
    const oursEntries = countCrlEntries(readFileSync(oursFile));
    const verified = opensslVerifies(oursFile, join(small.dataDir, 'ca', 'intermediate.pem'));
    if (oursEntries !== small.count || !verified)
      throw new Error(`our 100k CRL: ${oursEntries} entries, openssl verify ${verified ? 'OK' : 'FAILED'}`);

    // Delta: 1,000 revocations after the 100k full CRLs just published (their base marker is stored).
    const delta = await benchDelta(small, seconds);

    const shared = hasRevokedDataset(1_000_000);
    const big = await revokedDataset(1_000_000);
    const first1m = await publish(big);
    const pub1m = await publish(big);
    const gen1m = await generate(big);

    line(
      'build'.padEnd(52),
      'entries'.padStart(10),
      'seconds'.padStart(8),
      'peak RSS MiB'.padStart(13),
      'RSS delta MiB'.padStart(14),
      'DER MiB'.padStart(8),
      'openssl/ours'.padStart(13),
    );
    row(
      'openssl ca -gencrl (index.txt; median of 3)',
      ossl.entries,
      ossl.seconds,
      ossl.peakRssMiB,
      undefined,
      undefined,
      '',
    );
    const speed = (s: number): string => `${fmt(ossl.seconds / s, 2)}x`;
    for (const [name, m, vs] of [
      ['publishFull from LevelDB, first CRL', first100k, speed(first100k.seconds)],
      ['publishFull from LevelDB, steady (median of 3)', pub100k, speed(pub100k.seconds)],
      ['buildCrl over a generator (median of 3)', gen100k, speed(gen100k.seconds)],
      ['publishFull from LevelDB, first CRL', first1m, ''],
      ['publishFull from LevelDB, steady', pub1m, ''],
      ['buildCrl over a generator', gen1m, ''],
    ] as const) {
      row(name, m.entries, m.seconds, m.peakRssMiB, m.deltaRssMiB, m.bytes, vs, m.peakBeforeMark);
    }
    if ([first100k, pub100k, gen100k, first1m, pub1m, gen1m].some((m) => m.peakBeforeMark))
      line('* the process peaked during its setup, before the measured work: an upper bound');
    line(
      `setup, not timed: ${fmt(small.count)} revocations ${fmt(small.setupSeconds, 1)} s, ${fmt(big.count)} revocations ${fmt(big.setupSeconds, 1)} s` +
        `${shared ? ' (built by the revocation section, reused)' : ''}; LevelDB compacted before each publishFull process`,
    );
    line(`checks: openssl crl -CAfile verifies our 100,000-entry CRL; both CRLs list ${fmt(small.count)} entries`);
    const yes = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    line(
      `targets (steady state): faster than openssl at 100,000: ${yes(pub100k.seconds < ossl.seconds)} (${speed(pub100k.seconds)}); ` +
        `1,000,000 in < 10 s: ${yes(pub1m.seconds < 10)} (${fmt(pub1m.seconds, 2)} s); < 1 GiB peak: ${yes(pub1m.peakRssMiB < 1024)} (${fmt(pub1m.peakRssMiB)} MiB)`,
    );
    line(`delta CRL, ${fmt(delta.entries)} entries since its base`.padEnd(70), 'ms'.padStart(8));
    line(
      '  CrlPublisher.publishDelta (journal, build, sign, CRL number fsync, commit)'.padEnd(70),
      fmt(delta.publishMs, 2).padStart(8),
    );
    line('  buildCrl alone (encode + sign)'.padEnd(70), fmt(delta.buildMs, 2).padStart(8));
    line('  baseline: one raw signature over the same TBS'.padEnd(70), fmt(delta.signMs, 3).padStart(8));
    Object.assign(results, {
      'openssl.100k.s': ossl.seconds,
      'publishFull.100k.s': pub100k.seconds,
      'builder.100k.s': gen100k.seconds,
      'publishFull.1M.first.s': first1m.seconds,
      'publishFull.1M.s': pub1m.seconds,
      'publishFull.1M.peakMiB': pub1m.peakRssMiB,
      'builder.1M.s': gen1m.seconds,
      'builder.1M.peakMiB': gen1m.peakRssMiB,
      'delta.1k.publish.ms': delta.publishMs,
      'delta.1k.build.ms': delta.buildMs,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

async function benchDelta(
  ds: RevokedDataset,
  seconds: number,
): Promise<{ entries: number; publishMs: number; buildMs: number; signMs: number }> {
  const n = 1000;
  const a = await createAuthority({ dataDir: ds.dataDir, env: {} });
  try {
    const revs = Array.from({ length: n }, (_, j) => datasetRevocation(ds.count + j, ds.baseMs));
    await commitInBatches(
      a.store,
      revs.map((r) => revocationOp(r.serial, BENCH_ISSUER, r.revokedAt, { reason: r.reason })),
      { sync: false, batchSize: n },
    );
    const issuer = crlIssuerFromCa(a.ca('intermediate'));
    const publisher = new CrlPublisher({
      store: a.store,
      clock: a.clock,
      issuers: { [BENCH_ISSUER]: issuer },
      keepExpired: true,
    });
    const first = await publisher.publishDeltaDetailed(BENCH_ISSUER);
    if (first.entryCount !== n) throw new Error(`delta CRL lists ${first.entryCount} entries, expected ${n}`);
    const publish = await rate(() => publisher.publishDeltaDetailed(BENCH_ISSUER), seconds / 3);
    const thisUpdate = a.clock.now();
    const input = {
      issuer,
      number: first.record.number,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + 3_600_000),
      entries: revs,
      delta: { baseNumber: first.record.baseNumber! },
    };
    const sample = await buildCrlDetailed(input);
    const build = await rate(() => buildCrlDetailed(input), seconds / 3);
    const tbs = Buffer.alloc(sample.tbsLength, 1);
    const sign = await rate(() => issuer.signer.sign(tbs), seconds / 3);
    return {
      entries: first.entryCount,
      publishMs: 1000 / publish.perSecond,
      buildMs: 1000 / build.perSecond,
      signMs: 1000 / sign.perSecond,
    };
  } finally {
    await a.close();
  }
}
