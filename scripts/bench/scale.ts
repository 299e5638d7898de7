/**
 * Scale-out on PostgreSQL ($AGENT_CA_BENCH_PG, default postgres://postgres@127.0.0.1:5432/test;
 * a fresh schema per run, dropped at the end), each figure beside LevelDB in the same run:
 * - issuance/s and revocation/s with 32 in flight (p256, OCSP service attached, so a
 *   revocation commits its re-signed responses and audit entries in one transaction);
 * - revocation visibility across processes: revoke in A while B serves OCSP POSTs under load
 *   (B in a child process), time from the revoke's acknowledgement to B's first `revoked`;
 * - a full CRL of $AGENT_CA_BENCH_CRL_ENTRIES (default 1,000,000) revocations streamed from
 *   PostgreSQL by CrlPublisher.publishFull, in its own process (time, peak RSS).
 * Not measured here: OCSP GET/POST with 1 and 2 workers (`serve --workers` is not built).
 */
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
import { runInChild } from './child-rss.js';
import type { BuildArgs, BuildResult } from './crl.js';
import { BENCH_ISSUER, datasetRevocation } from './revocation.js';
import { concurrentRate, fmt, header, line } from './util.js';

const PG_URL = process.env.AGENT_CA_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

function schemaUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
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

/** Child: B, a full server on the same schema; prints its URL and serves until killed. */
export async function serveTask(args: ServeArgs, mark: () => void): Promise<{ url: string }> {
  const a = await createAuthority({ dataDir: args.dataDir, env: { AGENT_CA_STORE: args.url }, create: false });
  const s = await startServer({ authority: a, port: 0, logLevel: 'silent' });
  mark();
  process.stdout.write(`@@serving ${s.url}\n`);
  await new Promise((r) => setTimeout(r, args.seconds * 1000));
  await s.close();
  await a.close();
  return { url: s.url };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** Revoke in A (this process), poll B (child) with OCSP POSTs under load, p50/p99 visibility. */
async function visibility(
  dataDir: string,
  url: string,
  rounds: number,
): Promise<{ p50: number; p99: number; max: number; loadPerSecond: number }> {
  const a = await createAuthority({ dataDir, env: { AGENT_CA_STORE: url }, create: false });
  const ocsp = new OcspService(a);
  await ocsp.start();
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./child-rss.ts', import.meta.url).pathname,
      import.meta.url,
      'serveTask',
      JSON.stringify({ dataDir, url, seconds: 600 }),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const bUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /@@serving (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', () => reject(new Error(`server B exited: ${out}`)));
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
    let stop = false;
    let load = 0;
    const t0 = performance.now();
    const loaders = Array.from({ length: 16 }, async (_, k) => {
      for (let n = 0; !stop; n++) {
        await post(reqFor(certs[rounds + ((k + n) % 50)]!.serial));
        load++;
      }
    });
    const lat: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const target = certs[r]!;
      const req = reqFor(target.serial);
      await post(req); // cached good in B
      await a.revoke(target.serial, { reason: 'keyCompromise', actor: 'bench' });
      const acked = performance.now();
      for (;;) {
        const der = await post(req);
        if (parseOcspResponse(der).basic?.responses[0]?.status.kind === 'revoked') break;
        if (performance.now() - acked > 10_000)
          throw new Error(`B did not answer revoked for ${target.serial} within 10 s`);
      }
      lat.push(performance.now() - acked);
    }
    stop = true;
    await Promise.all(loaders);
    const loadPerSecond = load / ((performance.now() - t0) / 1000);
    if (errors > 0) line(`(${errors} OCSP POSTs to B failed at the socket and were retried; last: ${lastError})`);
    return { p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat), loadPerSecond };
  } finally {
    child.kill('SIGTERM');
    await ocsp.stop();
    await a.close();
  }
}

export async function benchScale(seconds: number): Promise<Record<string, number>> {
  header(`scale-out: PostgreSQL (${new URL(PG_URL).host}) beside LevelDB, same run`);
  const schema = `aca_bench_${randomBytes(4).toString('hex')}`;
  const url = schemaUrl(schema);
  const dirs = [
    mkdtempSync(join(tmpdir(), 'aca-bench-scale-level-')),
    mkdtempSync(join(tmpdir(), 'aca-bench-scale-pg-')),
  ];
  const results: Record<string, number> = {};
  try {
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

    const rounds = Number(process.env.AGENT_CA_BENCH_VIS_ROUNDS ?? 100);
    const vis = await visibility(dirs[1]!, url, rounds);
    line(
      `revocation visibility, revoke in A -> OCSP revoked from B (separate process, LISTEN/NOTIFY), ${rounds} rounds under ${fmt(vis.loadPerSecond)} OCSP POST/s on B: ` +
        `p50 ${fmt(vis.p50, 1)} ms, p99 ${fmt(vis.p99, 1)} ms, max ${fmt(vis.max, 1)} ms (target p99 < 1,000 ms: ${vis.p99 < 1000 ? 'met' : 'MISSED'})`,
    );
    Object.assign(results, { 'visibility.p50.ms': vis.p50, 'visibility.p99.ms': vis.p99 });

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
    const m = await runInChild<BuildArgs, BuildResult>(
      crlModule,
      'publishFullTask',
      { dataDir: dirs[1]!, storeUrl: url, count: before + count, baseMs },
      900_000,
    );
    line(
      `full CRL from PostgreSQL: ${fmt(m.result.entries)} entries in ${fmt(m.result.seconds, 2)} s, peak RSS ${fmt(m.peakRssMiB)} MiB, ${fmt(m.result.bytes / 1048576, 1)} MiB DER ` +
        `(targets < 10 s: ${m.result.seconds < 10 ? 'met' : 'MISSED'}, < 1 GiB: ${m.peakRssMiB < 1024 ? 'met' : 'MISSED'}); setup, not timed: ${fmt(count)} revocations loaded in ${fmt(loadSeconds, 1)} s`,
    );
    Object.assign(results, { 'pg.crl.s': m.result.seconds, 'pg.crl.peakMiB': m.peakRssMiB });
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropSchema(schema);
  }
  return results;
}
