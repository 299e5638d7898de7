/**
 * Start-up at scale: `agent-ca serve` over a LevelDB store holding 1,000,000 agent
 * certificates, timed from spawn to its first OCSP answer (a GET for one of those
 * certificates, answered `good`), with the server's peak RSS (VmHWM) once it has settled and
 * the peaks of its two parts (RssAnon: the process's own memory; RssFile: mapped LevelDB
 * files), beside the same start over a store holding one agent certificate, in the same run.
 * The large store is started twice: without the OCSP backfill marker (a first start, which
 * scans the store in the background) and with it. The server runs from dist/ when it is
 * built and current (`npm start` runs it so), else through tsx.
 *
 * The large store is made through a fast path: one certificate is issued through the
 * authority, then 1,000,000 records (random serials, the issued certificate's DER as their
 * body, their own agent ids and expiry) are written with pre-encoded LevelDB batches. The
 * server reads records, not DER, on this path, and signs OCSP answers by serial.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { createAuthority } from '../../src/authority/create-authority.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import type { Serial } from '../../src/types.js';
import { encodeCertificate } from '../../src/store/level/codec.js';
import { K } from '../../src/store/level/keys.js';
import { startChild } from './child.js';
import { fmt, header, line } from './util.js';

interface Made {
  dataDir: string;
  request: Buffer;
  seconds: number;
}

/** A CA with one issued agent certificate, plus `extra` records written straight into LevelDB. */
export async function makeStore(dir: string, extra: number): Promise<Made> {
  const dataDir = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  const a = await createAuthority({ dataDir, env: {} });
  await a.init({ keyType: 'p256', config: { organization: 'Bench Operator' } });
  const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  const issued = await a.issue({ agentId: 'startup-template', publicKey: pub, tenant: 'bench' });
  const template = (await a.store.certificates.get(issued.serial))!;
  const int = a.ca('intermediate').certificate;
  const count = await a.store.certificates.count();
  await a.close();

  const t0 = performance.now();
  let probe: Serial = issued.serial;
  if (extra > 0) {
    const db = new Level<string, string>(join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    // The record's JSON is encoded once with markers; each record splices in its own fields.
    const marked = encodeCertificate({
      ...template,
      serial: '@S@' as Serial,
      agentId: '@A@',
      notAfter: new Date(8_000_000_000_000),
    });
    const [head, afterSerial] = marked.split('@S@') as [string, string];
    const [mid, afterAgent] = afterSerial.split('@A@') as [string, string];
    const [mid2, tail] = afterAgent.split('8000000000000') as [string, string];
    const BATCH = 10_000;
    const day = 86_400_000;
    for (let done = 0; done < extra; done += BATCH) {
      const ops: { type: 'put'; key: string; value: string }[] = [];
      const random = randomBytes(16 * BATCH);
      for (let i = done; i < Math.min(extra, done + BATCH); i++) {
        const raw = random.subarray(16 * (i - done), 16 * (i - done + 1));
        raw[0] = (raw[0]! & 0x7f) | 0x01;
        const serial = raw.toString('hex') as Serial;
        const agentId = `agent-${i}`;
        const notAfter = new Date(template.notAfter.getTime() - (i % 90) * day);
        ops.push({
          type: 'put',
          key: K.cert(serial),
          value: `${head}${serial}${mid}${agentId}${mid2}${notAfter.getTime()}${tail}`,
        });
        ops.push({ type: 'put', key: K.certByIssuer(template.issuerId, serial), value: '' });
        ops.push({ type: 'put', key: K.certByExpiry(notAfter, serial), value: '' });
        ops.push({ type: 'put', key: K.certByAgent(agentId, serial), value: '' });
        ops.push({ type: 'put', key: K.certByTenant(template.tenant!, serial), value: '' });
        probe = serial;
      }
      await db.batch(ops);
    }
    await db.put(K.certCount, String(count + extra));
    await db.close();
  }
  const request = ocspRequestDer(
    certIdFor({ subjectDer: int.subject, publicKeyInfo: int.publicKeyInfo }, Buffer.from(probe, 'hex'), 'sha1'),
  );
  return { dataDir, request, seconds: (performance.now() - t0) / 1000 };
}

type StatusField = 'VmHWM' | 'VmRSS' | 'RssAnon' | 'RssFile';

/** Fields of /proc/PID/status, MiB. */
function status(pid: number): Record<StatusField, number> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (field: StatusField) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : NaN;
  };
  return { VmHWM: get('VmHWM'), VmRSS: get('VmRSS'), RssAnon: get('RssAnon'), RssFile: get('RssFile') };
}

/**
 * Peak RssAnon and RssFile, sampled every 100 ms (the kernel keeps a peak only of their sum,
 * VmHWM). RssAnon is the process's own memory (heap, LevelDB's cache and buffers); RssFile is
 * mostly LevelDB's memory-mapped table files, page cache the kernel reclaims under pressure.
 */
function sampleRss(pid: number): { stop(): { anon: number; file: number } } {
  let anon = 0;
  let file = 0;
  const take = () => {
    try {
      const s = status(pid);
      anon = Math.max(anon, s.RssAnon);
      file = Math.max(file, s.RssFile);
    } catch {
      // the process has exited: the peaks so far stand
    }
  };
  take();
  const timer = setInterval(take, 100);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { anon, file };
    },
  };
}

/**
 * How the server is started: from the build (`node dist/cli/bin.js`, what `npm start` runs)
 * when dist/ is there and no older than src/, else through tsx (slower to start).
 */
function serverCommand(): { args: string[]; label: string } {
  const built = 'dist/cli/bin.js';
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  if (existsSync(built) && statSync(built).mtimeMs >= newest('src'))
    return { args: [built], label: 'node dist/cli/bin.js (npm run build)' };
  return {
    args: ['--import', 'tsx', 'src/cli/bin.ts'],
    label: 'tsx src/cli/bin.ts (dist/ missing or older than src/: npm run build)',
  };
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

interface Start {
  firstAnswerS: number;
  listeningS: number;
  peakAtAnswerMiB: number;
  peakSettledMiB: number;
  /** Peaks of RssAnon and RssFile up to settling, MiB. */
  peakAnonMiB: number;
  peakFileMiB: number;
  settledS: number;
}

/** Spawns the server, asks until the first OCSP answer, then waits until it settles (CPU idle). */
async function timeStart(m: Made, server: string[]): Promise<Start> {
  const t0 = performance.now();
  let sampler: ReturnType<typeof sampleRss> | undefined;
  const child = await startChild(
    process.execPath,
    [...server, 'serve', '--data', m.dataDir, '--port', '0', '--workers', '1'],
    /listening on (http:\/\/\S+)/,
    { ...process.env, AGENT_CA_ADMIN_TOKEN: 'bench-startup', AGENT_CA_LOG_LEVEL: 'error' },
    300_000,
    (pid) => (sampler = sampleRss(pid)),
  );
  const listeningS = (performance.now() - t0) / 1000;
  try {
    const path = `${child.url}/ocsp/${encodeURIComponent(m.request.toString('base64'))}`;
    for (;;) {
      const der = Buffer.from(await (await fetch(path)).arrayBuffer());
      if (parseOcspResponse(der).basic?.responses[0]?.status.kind === 'good') break;
      if (performance.now() - t0 > 300_000) throw new Error('no good OCSP answer within 300 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const firstAnswerS = (performance.now() - t0) / 1000;
    const pid = child.proc.pid!;
    const peakAtAnswerMiB = status(pid).VmHWM;
    // Settled: less than 5% of a core used over a second (background work after start done).
    let last = cpuSeconds(pid);
    for (let i = 0; i < 300; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = cpuSeconds(pid);
      if (now - last < 0.05) break;
      last = now;
    }
    const peakSettledMiB = status(pid).VmHWM;
    const peaks = sampler!.stop();
    return {
      firstAnswerS,
      listeningS,
      peakAtAnswerMiB,
      peakSettledMiB,
      peakAnonMiB: peaks.anon,
      peakFileMiB: peaks.file,
      settledS: (performance.now() - t0) / 1000,
    };
  } finally {
    sampler?.stop();
    await child.stop();
  }
}

/** Deletes the OCSP backfill marker (meta `ocsp.backfill`), so the next start scans as a first start does. */
async function removeBackfillMarker(dataDir: string): Promise<void> {
  const db = new Level<string, string>(join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  try {
    await db.del(K.meta('ocsp.backfill'));
  } finally {
    await db.close();
  }
}

/** The store in `dir` when a previous run left one there (see AGENT_CA_BENCH_STARTUP_STORE), else a new one. */
async function storeIn(dir: string, extra: number): Promise<Made & { reused: boolean }> {
  const manifest = join(dir, 'made.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { dataDir: string; request: string; seconds: number };
    return { ...m, request: Buffer.from(m.request, 'base64'), reused: true };
  }
  const made = await makeStore(dir, extra);
  writeFileSync(manifest, JSON.stringify({ ...made, request: made.request.toString('base64') }));
  return { ...made, reused: false };
}

/**
 * AGENT_CA_BENCH_STARTUP_CERTS: how many certificates (default 1,000,000).
 * AGENT_CA_BENCH_STARTUP_STORE: a directory to keep the large store in and reuse on later runs
 * (making it takes minutes); by default it is made in a temporary directory and removed.
 */
export async function benchStartup(): Promise<Record<string, number>> {
  const n = Number(process.env.AGENT_CA_BENCH_STARTUP_CERTS ?? 1_000_000);
  header(`start-up: agent-ca serve over ${fmt(n)} stored agent certificates vs over 1, to its first OCSP answer`);
  const dir = mkdtempSync(join(tmpdir(), 'aca-bench-startup-'));
  const keep = process.env.AGENT_CA_BENCH_STARTUP_STORE;
  try {
    const small = await makeStore(join(dir, 'small'), 0);
    const large = await storeIn(keep ? join(keep, String(n)) : join(dir, 'large'), n);
    line(
      `${large.reused ? 'reused' : 'made'} the ${fmt(n)}-certificate store (made in ${fmt(large.seconds, 1)} s, pre-encoded LevelDB batches)`,
    );
    const server = serverCommand();
    line(`server started as: ${server.label}`);
    line(
      'store'.padEnd(36),
      'listening s'.padStart(12),
      'first OCSP s'.padStart(13),
      'VmHWM then'.padStart(11),
      'settled s'.padStart(10),
      'VmHWM settled'.padStart(14),
      'peak RssAnon'.padStart(13),
      'peak RssFile'.padStart(13),
    );
    const results: Record<string, number> = {};
    const runs: [string, string, Made, boolean][] = [
      ['small', '1 certificate', small, false],
      // The first start over a store without the backfill marker scans it in the background.
      ['largeFirst', `${fmt(n)}, no marker (first start)`, large, true],
      ['large', `${fmt(n)}, marker matches`, large, false],
    ];
    for (const [k, name, m, dropMarker] of runs) {
      if (dropMarker) await removeBackfillMarker(m.dataDir);
      const s = await timeStart(m, server.args);
      line(
        name.padEnd(36),
        fmt(s.listeningS, 2).padStart(12),
        fmt(s.firstAnswerS, 2).padStart(13),
        `${fmt(s.peakAtAnswerMiB)} MiB`.padStart(11),
        fmt(s.settledS, 1).padStart(10),
        `${fmt(s.peakSettledMiB)} MiB`.padStart(14),
        `${fmt(s.peakAnonMiB)} MiB`.padStart(13),
        `${fmt(s.peakFileMiB)} MiB`.padStart(13),
      );
      results[`${k}.firstAnswerS`] = s.firstAnswerS;
      results[`${k}.peakSettledMiB`] = s.peakSettledMiB;
      results[`${k}.peakAnonMiB`] = s.peakAnonMiB;
      results[`${k}.peakFileMiB`] = s.peakFileMiB;
    }
    const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
    for (const k of ['largeFirst', 'large']) {
      const first = results[`${k}.firstAnswerS`]!;
      const anon = results[`${k}.peakAnonMiB`]!;
      line(
        `${k === 'large' ? 'marker matches' : 'first start'}: first OCSP answer ${fmt(first, 2)} s (target <= 10 s: ${verdict(first <= 10)}; ${fmt(first - results['small.firstAnswerS']!, 2)} s more than over 1 certificate); peak RssAnon ${fmt(anon)} MiB (target < 1,024 MiB: ${verdict(anon < 1024)})`,
      );
    }
    line(
      'RssFile is page cache of LevelDB files mapped for reading: the kernel reclaims it under pressure, it is no allocation of the process',
    );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
