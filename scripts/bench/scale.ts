/**
 * Scale-out on PostgreSQL ($AGENT_CA_BENCH_PG, default postgres://postgres@127.0.0.1:5432/test;
 * a fresh schema per run, dropped at the end), each figure beside LevelDB in the same run:
 * - issuance/s and revocation/s with 32 in flight (p256, OCSP service attached, so a
 *   revocation commits its re-signed responses and audit entries in one transaction);
 * - revocation visibility across processes: revoke in A while B serves OCSP POSTs under load
 *   (B in a child process), time from the revoke's acknowledgement to B's first `revoked`;
 * - a full CRL of $AGENT_CA_BENCH_CRL_ENTRIES (default 1,000,000) revocations streamed from
 *   PostgreSQL by CrlPublisher.publishFull, in its own process (time, peak RSS).
 * - `serve --workers`: OCSP GET/POST with 1 and 2 workers beside bare fastify with 1 and 2
 *   processes (scale-workers.ts);
 * - publishFull of the same number of revocations from LevelDB (first and steady state), in
 *   its own process.
 * AGENT_CA_BENCH_SCALE_PARTS=workers,lifecycle,visibility,crl,levelcrl (default: all) picks parts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createAuthority } from '../../src/authority/create-authority.js';
import { startServer } from '../../src/http/server.js';
import { OcspService } from '../../src/ocsp/service.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { commitInBatches, revocationOp } from '../../src/store/bulk.js';
import { ChangeListener } from '../../src/store/postgres/change-listener.js';
import { parsePostgresUrl } from '../../src/store/postgres/connection.js';
import { runInChild, type ChildMeasurement } from './child-rss.js';
import type { BuildArgs, BuildResult } from './crl.js';
import { BENCH_ISSUER, datasetRevocation, revokedDataset, settleDataset } from './revocation.js';
import { benchWorkers } from './scale-workers.js';
import { concurrentRate, fmt, header, line } from './util.js';

const PG_URL = process.env.AGENT_CA_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

function schemaUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

async function vacuumAnalyze(schema: string, table: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`vacuum (analyze) ${schema}.${table}`);
  } finally {
    await c.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await c.end();
  }
}

/** issued/s and revoked/s, 32 in flight, for one store (env selects it). */
async function lifecycleRates(
  dataDir: string,
  env: Record<string, string>,
  seconds: number,
): Promise<{ issued: number; revoked: number }> {
  const a = await createAuthority({ dataDir, env });
  await a.init({ keyType: 'p256', config: { organization: 'Bench Operator' } });
  const ocsp = new OcspService(a);
  await ocsp.start();
  try {
    const agentKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    let i = 0;
    const serials: string[] = [];
    const issued = await concurrentRate(
      async () => {
        const c = await a.issue({ agentId: `scale-${i++}`, publicKey: agentKey, tenant: 'bench' });
        serials.push(c.serial);
      },
      32,
      seconds,
    );
    // every certificate issued above is revoked once, 32 in flight
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let s = serials[next++]; s !== undefined; s = serials[next++])
          await a.revoke(s, { reason: 'keyCompromise', actor: 'bench' });
      }),
    );
    const revoked = { perSecond: serials.length / ((performance.now() - t0) / 1000) };
    return { issued: issued.perSecond, revoked: revoked.perSecond };
  } finally {
    await ocsp.stop();
    await a.close();
  }
}

interface ServeArgs {
  dataDir: string;
  url: string;
  seconds: number;
}

/**
 * Child: B, a full server on the same schema; prints its URL and serves until killed. It also
 * prints when each change notice reaches this process (`@@notice <epoch ms> <serials>`, from a
 * second LISTEN connection on the same event loop), so that the visibility figure can be split
 * into "notice delivered to B" and "B's answer reaches A".
 */
export async function serveTask(args: ServeArgs, mark: () => void): Promise<{ url: string }> {
  const a = await createAuthority({ dataDir: args.dataDir, env: { AGENT_CA_STORE: args.url }, create: false });
  const s = await startServer({ authority: a, port: 0, logLevel: 'silent' });
  const probe = new ChangeListener(parsePostgresUrl(args.url), (n) =>
    process.stdout.write(`@@notice ${performance.timeOrigin + performance.now()} ${(n.serials ?? []).join(',')}\n`),
  );
  await probe.start();
  mark();
  process.stdout.write(`@@serving ${s.url}\n`);
  await new Promise((r) => setTimeout(r, args.seconds * 1000));
  await probe.stop();
  await s.close();
  await a.close();
  return { url: s.url };
}

interface LoadArgs {
  url: string;
  /** OCSP requests (hex DER) to cycle through. */
  requests: string[];
  clients: number;
  seconds: number;
}

/** Child: the load on B, `clients` OCSP POST loops; prints `@@load <answers>` every second. */
export async function loadTask(args: LoadArgs, mark: () => void): Promise<{ answers: number; errors: number }> {
  const reqs = args.requests.map((h) => Buffer.from(h, 'hex'));
  let answers = 0;
  let errors = 0;
  const end = performance.now() + args.seconds * 1000;
  const tick = setInterval(() => process.stdout.write(`@@load ${answers}\n`), 1000);
  mark();
  try {
    await Promise.all(
      Array.from({ length: args.clients }, async (_, k) => {
        for (let n = 0; performance.now() < end; n++) {
          try {
            const res = await fetch(`${args.url}/ocsp`, {
              method: 'POST',
              headers: { 'content-type': 'application/ocsp-request' },
              body: reqs[(k + n) % reqs.length]!,
            });
            await res.arrayBuffer();
            answers++;
          } catch {
            errors++; // counted and reported by the parent's figure line
          }
        }
      }),
    );
  } finally {
    clearInterval(tick);
  }
  return { answers, errors };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** A bench child process that keeps running until killed; `lines` receives its stdout lines. */
function spawnTask(exportName: string, args: unknown, lines: (l: string) => void): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./child-rss.ts', import.meta.url).pathname,
      import.meta.url,
      exportName,
      JSON.stringify(args),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    for (const l of parts) lines(l);
  });
  return child;
}

export interface VisibilityFigures {
  p50: number;
  p99: number;
  max: number;
  /** Revoke acknowledged in A -> notice handled in B (negative: B heard before A's revoke() returned). */
  noticeP50: number;
  noticeP99: number;
  /** Notice in B -> A's first `revoked` answer from B. */
  answerP50: number;
  answerP99: number;
  loadPerSecond: number;
}

/**
 * Revoke in A (this process) while B (a child) serves OCSP POSTs to a load generator (a third
 * process, so that A's measuring loop shares no event loop with the load); A polls B after
 * each acknowledged revocation until B answers `revoked`.
 */
async function visibility(dataDir: string, url: string, rounds: number): Promise<VisibilityFigures> {
  const a = await createAuthority({ dataDir, env: { AGENT_CA_STORE: url }, create: false });
  const ocsp = new OcspService(a);
  await ocsp.start();
  const notices = new Map<string, number>();
  let loadAnswers = 0;
  const children: ChildProcess[] = [];
  const b = spawnTask('serveTask', { dataDir, url, seconds: 900 }, (l) => {
    const m = /^@@notice (\S+) (\S*)/.exec(l);
    if (m) for (const serial of m[2]!.split(',')) if (serial && !notices.has(serial)) notices.set(serial, Number(m[1]));
  });
  children.push(b);
  try {
    const bUrl = await new Promise<string>((resolve, reject) => {
      b.stdout!.on('data', (d: string) => {
        const m = /@@serving (\S+)/.exec(d);
        if (m) resolve(m[1]!);
      });
      b.once('exit', () => reject(new Error('server B exited')));
    });
    const agentKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const issuer = a.ca('intermediate');
    const certs: { serial: string }[] = [];
    for (let i = 0; i < rounds + 50; i++) certs.push(await a.issue({ agentId: `vis-${i}`, publicKey: agentKey }));
    const issuerInfo = {
      subjectDer: Buffer.from(issuer.certificate.subject),
      publicKeyInfo: Buffer.from(issuer.certificate.publicKeyInfo),
    };
    const reqFor = (serial: string) => ocspRequestDer(certIdFor(issuerInfo, Buffer.from(serial, 'hex'), 'sha1'));
    let errors = 0;
    let lastError = '';
    const post = async (der: Buffer): Promise<Buffer> => {
      for (;;) {
        try {
          const res = await fetch(`${bUrl}/ocsp`, {
            method: 'POST',
            headers: { 'content-type': 'application/ocsp-request' },
            body: der,
          });
          return Buffer.from(await res.arrayBuffer());
        } catch (e) {
          // a reset connection is retried (and counted): the figure is about answers, not sockets
          errors++;
          lastError = String((e as { cause?: unknown }).cause ?? e);
          if (errors > 1000) throw e;
        }
      }
    };
    // load: 16 clients asking B about the 50 spare certificates the whole time
    const load = spawnTask(
      'loadTask',
      {
        url: bUrl,
        requests: certs.slice(rounds).map((c) => reqFor(c.serial).toString('hex')),
        clients: 16,
        seconds: 900,
      },
      (l) => {
        const m = /^@@load (\d+)/.exec(l);
        if (m) loadAnswers = Number(m[1]);
      },
    );
    children.push(load);
    await new Promise((r) => setTimeout(r, 2000)); // the load is running
    const load0 = loadAnswers;
    const t0 = performance.now();
    const lat: number[] = [];
    const toNotice: number[] = [];
    const toAnswer: number[] = [];
    const now = () => performance.timeOrigin + performance.now();
    for (let r = 0; r < rounds; r++) {
      const target = certs[r]!;
      const req = reqFor(target.serial);
      await post(req); // cached good in B
      await a.revoke(target.serial, { reason: 'keyCompromise', actor: 'bench' });
      const acked = now();
      for (;;) {
        const der = await post(req);
        if (parseOcspResponse(der).basic?.responses[0]?.status.kind === 'revoked') break;
        if (now() - acked > 10_000) throw new Error(`B did not answer revoked for ${target.serial} within 10 s`);
      }
      const answered = now();
      lat.push(answered - acked);
      const heard = notices.get(target.serial);
      if (heard !== undefined) {
        toNotice.push(heard - acked);
        toAnswer.push(answered - heard);
      }
    }
    const loadPerSecond = (loadAnswers - load0) / ((performance.now() - t0) / 1000);
    if (errors > 0) line(`(${errors} OCSP POSTs to B failed at the socket and were retried; last: ${lastError})`);
    return {
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: Math.max(...lat),
      noticeP50: percentile(toNotice, 50),
      noticeP99: percentile(toNotice, 99),
      answerP50: percentile(toAnswer, 50),
      answerP99: percentile(toAnswer, 99),
      loadPerSecond,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await ocsp.stop();
    await a.close();
  }
}

export async function benchScale(seconds: number): Promise<Record<string, number>> {
  const parts = new Set(
    (process.env.AGENT_CA_BENCH_SCALE_PARTS ?? 'workers,lifecycle,visibility,crl,levelcrl').split(','),
  );
  const results: Record<string, number> = {};
  if (parts.has('workers')) Object.assign(results, await benchWorkers(seconds));
  if (parts.has('lifecycle') || parts.has('visibility') || parts.has('crl'))
    Object.assign(results, await benchPostgres(seconds, parts));
  if (parts.has('levelcrl')) Object.assign(results, await benchLevelCrl());
  return results;
}

/** publishFull of $AGENT_CA_BENCH_CRL_ENTRIES revocations from LevelDB: first CRL, then steady state. */
async function benchLevelCrl(): Promise<Record<string, number>> {
  const count = Number(process.env.AGENT_CA_BENCH_CRL_ENTRIES ?? 1_000_000);
  header(`publishFull of ${fmt(count)} revocations from LevelDB (own process each; LevelDB compacted before each)`);
  const ds = await revokedDataset(count);
  const crlModule = new URL('./crl.ts', import.meta.url).href;
  const results: Record<string, number> = {};
  for (const state of ['first', 'steady'] as const) {
    await settleDataset(ds.dataDir);
    const m = await runInChild<BuildArgs, BuildResult>(
      crlModule,
      'publishFullTask',
      { dataDir: ds.dataDir, count: ds.count, baseMs: ds.baseMs },
      900_000,
    );
    line(
      `${state === 'first' ? 'first full CRL' : 'steady state (a previous full CRL is stored)'}: ${fmt(m.result.entries)} entries in ${fmt(m.result.seconds, 2)} s, ` +
        `peak RSS ${fmt(m.peakRssMiB)} MiB (+${fmt(m.deltaRssMiB)} MiB over the opened store), ${fmt(m.result.bytes / 1048576, 1)} MiB DER ` +
        `(targets < 10 s: ${m.result.seconds < 10 ? 'met' : 'MISSED'}, peak below 619 MiB: ${m.peakRssMiB < 619 ? 'met' : 'MISSED'})`,
    );
    results[`level.crl.${state}.s`] = m.result.seconds;
    results[`level.crl.${state}.peakMiB`] = m.peakRssMiB;
  }
  line(`setup, not timed: ${fmt(count)} revocations loaded in ${fmt(ds.setupSeconds, 1)} s`);
  return results;
}

async function benchPostgres(seconds: number, parts: ReadonlySet<string>): Promise<Record<string, number>> {
  header(`scale-out: PostgreSQL (${new URL(PG_URL).host}) beside LevelDB, same run`);
  const schema = `aca_bench_${randomBytes(4).toString('hex')}`;
  const url = schemaUrl(schema);
  const dirs = [
    mkdtempSync(join(tmpdir(), 'aca-bench-scale-level-')),
    mkdtempSync(join(tmpdir(), 'aca-bench-scale-pg-')),
  ];
  const results: Record<string, number> = {};
  try {
    if (parts.has('lifecycle')) {
      const level = await lifecycleRates(dirs[0]!, {}, seconds);
      const pgRates = await lifecycleRates(dirs[1]!, { AGENT_CA_STORE: url }, seconds);
      line('store'.padEnd(12), 'issued/s (32 in flight)'.padStart(24), 'revoked/s (32 in flight)'.padStart(25));
      line('LevelDB'.padEnd(12), fmt(level.issued).padStart(24), fmt(level.revoked).padStart(25));
      line('PostgreSQL'.padEnd(12), fmt(pgRates.issued).padStart(24), fmt(pgRates.revoked).padStart(25));
      line(
        `PostgreSQL/LevelDB: issuance ${fmt((pgRates.issued / level.issued) * 100, 1)}%, revocation ${fmt((pgRates.revoked / level.revoked) * 100, 1)}%`,
      );
      Object.assign(results, {
        'level.issued': level.issued,
        'level.revoked': level.revoked,
        'pg.issued': pgRates.issued,
        'pg.revoked': pgRates.revoked,
      });
    } else {
      // the later parts need an initialised CA in the schema
      const a = await createAuthority({ dataDir: dirs[1]!, env: { AGENT_CA_STORE: url } });
      await a.init({ keyType: 'p256', config: { organization: 'Bench Operator' } });
      await a.close();
    }

    if (parts.has('visibility')) {
      const rounds = Number(process.env.AGENT_CA_BENCH_VIS_ROUNDS ?? 200);
      const vis = await visibility(dirs[1]!, url, rounds);
      line(
        `revocation visibility, revoke in A -> OCSP revoked from B (separate process, LISTEN/NOTIFY), ${rounds} rounds under ${fmt(vis.loadPerSecond)} OCSP POST/s on B (load from a third process): ` +
          `p50 ${fmt(vis.p50, 1)} ms, p99 ${fmt(vis.p99, 1)} ms, max ${fmt(vis.max, 1)} ms (target p99 < 1,000 ms: ${vis.p99 < 1000 ? 'MET' : 'MISSED'})`,
      );
      line(
        `  made of: acknowledgement in A -> notice in B p50 ${fmt(vis.noticeP50, 1)} ms, p99 ${fmt(vis.noticeP99, 1)} ms (negative: B heard first); ` +
          `notice in B -> A holds B's revoked answer p50 ${fmt(vis.answerP50, 1)} ms, p99 ${fmt(vis.answerP99, 1)} ms`,
      );
      Object.assign(results, { 'visibility.p50.ms': vis.p50, 'visibility.p99.ms': vis.p99 });
    }
    if (!parts.has('crl')) return results;

    const count = Number(process.env.AGENT_CA_BENCH_CRL_ENTRIES ?? 1_000_000);
    const a = await createAuthority({ dataDir: dirs[1]!, env: { AGENT_CA_STORE: url }, create: false });
    const baseMs = Date.now() - 60_000;
    // the lifecycle and visibility rounds above revoked some certificates of the same CA
    let before = 0;
    for await (const _ of a.store.revocations.iterate({ issuerId: BENCH_ISSUER })) before++;
    const t0 = performance.now();
    try {
      const ops = function* () {
        for (let i = 0; i < count; i++) {
          const r = datasetRevocation(i, baseMs);
          yield revocationOp(r.serial, BENCH_ISSUER, r.revokedAt, { reason: r.reason });
        }
      };
      await commitInBatches(a.store, ops(), { sync: false, batchSize: 10_000 });
    } finally {
      await a.close();
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    const crlModule = new URL('./crl.ts', import.meta.url).href;
    const publish = () =>
      runInChild<BuildArgs, BuildResult>(
        crlModule,
        'publishFullTask',
        { dataDir: dirs[1]!, storeUrl: url, count: before + count, baseMs },
        900_000,
      );
    // Right after a bulk load, the first read of each fresh heap page sets its hint bits (and
    // the table has no statistics): a state a CA reaches only by bulk loading, since its rows
    // arrive one revocation at a time and autovacuum visits the table meanwhile. Measured
    // first; then the state autovacuum leaves (VACUUM (ANALYZE), timed apart).
    const states: { name: string; key: string; m: ChildMeasurement<BuildResult> }[] = [];
    states.push({ name: 'first read right after the bulk load', key: 'fresh', m: await publish() });
    const tv = performance.now();
    await vacuumAnalyze(schema, 'revocations');
    const vacuumSeconds = (performance.now() - tv) / 1000;
    states.push({
      name: 'settled (after VACUUM (ANALYZE), as autovacuum leaves it)',
      key: 'settled',
      m: await publish(),
    });
    for (const { name, key, m } of states) {
      const store = m.result.storeSeconds ?? NaN;
      line(
        `full CRL from PostgreSQL, ${name}: ${fmt(m.result.entries)} entries in ${fmt(m.result.seconds, 2)} s ` +
          `(read and build ${fmt(m.result.seconds - store, 2)} s, store ${fmt(store, 2)} s; CPU: agent-ca ${fmt(m.result.cpuSeconds ?? NaN, 2)} s, PostgreSQL backends ${fmt(m.result.serverCpuSeconds ?? NaN, 2)} s), ` +
          `peak RSS ${fmt(m.peakRssMiB)} MiB, ${fmt(m.result.bytes / 1048576, 1)} MiB DER ` +
          `(targets < 10 s: ${m.result.seconds < 10 ? 'MET' : 'MISSED'}, < 1 GiB: ${m.peakRssMiB < 1024 ? 'MET' : 'MISSED'})`,
      );
      Object.assign(results, {
        [`pg.crl.${key}.s`]: m.result.seconds,
        [`pg.crl.${key}.peakMiB`]: m.peakRssMiB,
        [`pg.crl.${key}.cpuS`]: m.result.cpuSeconds ?? NaN,
        [`pg.crl.${key}.serverCpuS`]: m.result.serverCpuSeconds ?? NaN,
      });
    }
    line(
      `setup, not timed: ${fmt(count)} revocations loaded in ${fmt(loadSeconds, 1)} s; VACUUM (ANALYZE) revocations ${fmt(vacuumSeconds, 1)} s`,
    );
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropSchema(schema);
  }
  return results;
}
