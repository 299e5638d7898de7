/**
 * OCSP responses/s and p50/p99 latency under loopback load (autocannon, 64 connections, GET
 * and POST over 1,000 distinct certificates), for answers pre-signed with a 24 h validity (the
 * `agent-presigned` profile this bench adds) and for agents' 60 s answers signed on the first
 * request of each window (docs/revocation-freshness.md), beside (a) a bare fastify route
 * serving agent-ca's own answer bytes with the same headers, in alternating short rounds with
 * the server's CPU per response (docs/throughput.md), and (b) `openssl ocsp` running as a
 * responder over the same certificates, all in this run. Then the cost of a window's first request: signatures/s when
 * every request names a serial not yet signed in its window (in process, one core). Then revocation visibility: from
 * the admin API's revoke returning to an OCSP GET answering revoked, 100 revocations while
 * the load runs.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createAuthority } from '../../src/authority/create-authority.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { OcspService } from '../../src/ocsp/service.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { toPem } from '../../src/asn1/pem.js';
import { startChild, type Child } from './child.js';
import { fmt, header, line, ratio } from './util.js';

const TOKEN = 'bench-admin-token';

interface Load {
  rps: number;
  /** The server's CPU time (user + system, /proc) per response in this load, microseconds. */
  cpuUs: number;
  /** Responses in the whole run (for CPU per request with AGENT_CA_BENCH_CPU_PROF). */
  total: number;
  p50: number;
  p99: number;
  errors: number;
}

/** utime + stime of a process, seconds (Linux /proc); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function load(
  url: string,
  requests: { method: 'GET' | 'POST'; path: string; body?: Buffer }[],
  seconds: number,
  connections = 64,
  pid?: number,
): Promise<Load> {
  const cpu0 = cpuSeconds(pid);
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: requests.map((q) => ({
      method: q.method,
      path: q.path,
      ...(q.body ? { body: q.body, headers: { 'content-type': 'application/ocsp-request' } } : {}),
    })),
  });
  const cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, r.requests.total);
  return {
    rps: r.requests.average,
    cpuUs,
    total: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

/**
 * AGENT_CA_BENCH_CPU_PROF=DIR: both servers run with `node --cpu-prof`, their profiles
 * written to DIR/agent-ca and DIR/bare when the bench stops them (docs/throughput.md).
 */
function profileFlags(name: string): string[] {
  const dir = process.env.AGENT_CA_BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
}

/** Seconds per measured round and warm-up seconds per server; rounds per server: 2 x --seconds (at least 4). */
const ROUND_S = 1;
const WARM_S = 1;

interface Rounds {
  rates: number[];
  median: number;
  best: number;
  min: number;
  max: number;
  p99: number;
  errors: number;
  /** Median over rounds of the server's CPU per response, microseconds. */
  cpuUs: number;
  /** Responses in all rounds and the warm-up. */
  total: number;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function summarise(loads: Load[], warm: Load): Rounds {
  const rates = loads.map((l) => l.rps);
  return {
    rates,
    median: medianOf(rates),
    best: Math.max(...rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    p99: medianOf(loads.map((l) => l.p99)),
    cpuUs: medianOf(loads.map((l) => l.cpuUs)),
    errors: loads.reduce((n, l) => n + l.errors, 0),
    total: loads.reduce((n, l) => n + l.total, warm.total),
  };
}

/**
 * The same requests against both servers in short alternating rounds (bare, ours, ours, bare,
 * ...), after a warm-up of each: on a shared machine the rate a server gets moves by 2x within
 * a minute, and alternating puts both sides through the same moments. Round i of one side is
 * paired with round i of the other for the per-pair ratio.
 */
async function alternate(
  bareSide: Child,
  oursSide: Child,
  requests: { method: 'GET' | 'POST'; path: string; body?: Buffer }[],
  rounds: number,
): Promise<{ bare: Rounds; ours: Rounds }> {
  const b = (s: number) => load(bareSide.url, requests, s, 64, bareSide.proc.pid);
  const o = (s: number) => load(oursSide.url, requests, s, 64, oursSide.proc.pid);
  const bareWarm = await b(WARM_S);
  const oursWarm = await o(WARM_S);
  const bare: Load[] = [];
  const ours: Load[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      bare.push(await b(ROUND_S));
      ours.push(await o(ROUND_S));
    } else {
      ours.push(await o(ROUND_S));
      bare.push(await b(ROUND_S));
    }
  }
  return { bare: summarise(bare, bareWarm), ours: summarise(ours, oursWarm) };
}

/**
 * The first request of a window signs: every request here names a serial this process has not
 * signed yet, so the figure is signatures/s, beside raw P-256 signing in the same run. Then the
 * signatures/s a deployment needs: one per active agent per 30 s window per CertID hash its
 * gateways send (SHA-1 for OpenSSL, nginx and Apache; SHA-256 too if some clients use it).
 */
async function windowSigningCost(
  data: string,
  serials: string[],
  issuerInfo: { subjectDer: Buffer; publicKeyInfo: Buffer },
): Promise<Record<string, number>> {
  const a = await createAuthority({ dataDir: data, env: {} });
  try {
    const ocsp = new OcspService(a);
    const reqs = serials.map((s) => ocspRequestDer(certIdFor(issuerInfo, Buffer.from(s, 'hex'), 'sha256')));
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < reqs.length) {
        const res = await ocsp.responder.respond(reqs[next++]!);
        if (res.status !== 'successful') throw new Error(`OCSP answered ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const perSecond = ocsp.windows.signatures / ((performance.now() - t0) / 1000);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const tbs = Buffer.alloc(400, 7);
    const t1 = performance.now();
    let n = 0;
    while (performance.now() - t1 < 1000) {
      sign('sha256', tbs, privateKey);
      n++;
    }
    const raw = n / ((performance.now() - t1) / 1000);
    line(
      `first request of a window (signs, P-256 soft responder key, 16 in flight): ${fmt(perSecond)} answers/s = ${ratio(perSecond, raw)} raw P-256 sign (${fmt(raw)}/s)`,
    );
    line('signatures/s needed (one per active agent per 30 s window per CertID hash) and cores at the rate above:');
    for (const agents of [10_000, 100_000, 1_000_000]) {
      const one = agents / 30;
      line(
        `  ${fmt(agents).padStart(9)} agents: ${fmt(one).padStart(7)}/s SHA-1 only (${fmt(one / perSecond, 2)} cores), ${fmt(2 * one).padStart(7)}/s SHA-1 + SHA-256 (${fmt((2 * one) / perSecond, 2)} cores)`,
      );
    }
    return { 'window.signPerSecond': perSecond, 'window.rawSignPerSecond': raw };
  } finally {
    await a.close();
  }
}

export async function benchOcsp(seconds: number): Promise<Record<string, number>> {
  header(
    'OCSP under loopback load (autocannon, 64 connections): agent-ca vs bare fastify (same body size and headers) vs openssl ocsp',
  );
  const dir = mkdtempSync(join(tmpdir(), 'aca-bench-ocsp-'));
  const data = join(dir, 'data');
  const profilesDir = join(dir, 'profiles');
  mkdirSync(profilesDir);
  // Today's behaviour, for the comparison: an agent profile whose answers are pre-signed for a day.
  writeFileSync(
    join(profilesDir, 'agent-presigned.json'),
    JSON.stringify({
      ...JSON.parse(readFileSync('ca-config/profiles/agent.json', 'utf8')),
      name: 'agent-presigned',
      ocspValiditySeconds: 86_400,
    }),
  );
  const a = await createAuthority({ dataDir: data, env: {} });
  await a.init({ keyType: 'p256', config: { organization: 'Bench Operator', profilesDir } });
  const int = a.ca('intermediate');
  const issuerInfo = { subjectDer: int.certificate.subject, publicKeyInfo: int.certificate.publicKeyInfo };
  const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  const serials: string[] = [];
  for (let i = 0; i < 1100; i++)
    serials.push((await a.issue({ agentId: `load-${i}`, publicKey: pub, profile: 'agent-presigned' })).serial);
  const windowedSerials: string[] = [];
  for (let i = 0; i < 1000; i++) windowedSerials.push((await a.issue({ agentId: `win-${i}`, publicKey: pub })).serial);
  // openssl's index.txt: V <tab> expiry <tab> <tab> serial <tab> unknown <tab> subject
  const index =
    serials.map((s, i) => `V\t491231235959Z\t\t${s.toUpperCase()}\tunknown\t/CN=load-${i}`).join('\n') + '\n';
  writeFileSync(join(dir, 'index.txt'), index);
  writeFileSync(join(dir, 'int.pem'), toPem(int.certificate.der));
  writeFileSync(join(dir, 'resp.pem'), toPem(int.responder.certificate.der));
  // Pre-sign here, as a server that issued them would have: otherwise the server's start-up
  // pass signs 2,200 answers while the first rounds run.
  const presigner = new OcspService(a);
  await presigner.start();
  await presigner.settled();
  await presigner.stop();
  await a.close();

  const loadSerials = serials.slice(0, 1000);
  const revokeSerials = serials.slice(1000);
  const reqs = loadSerials.map((s) => ocspRequestDer(certIdFor(issuerInfo, Buffer.from(s, 'hex'), 'sha1')));
  const getReqs = reqs.map((b) => ({
    method: 'GET' as const,
    path: `/ocsp/${encodeURIComponent(b.toString('base64'))}`,
  }));
  const postReqs = reqs.map((b) => ({ method: 'POST' as const, path: '/ocsp', body: b }));
  const winGetReqs = windowedSerials
    .map((s) => ocspRequestDer(certIdFor(issuerInfo, Buffer.from(s, 'hex'), 'sha1')))
    .map((b) => ({ method: 'GET' as const, path: `/ocsp/${encodeURIComponent(b.toString('base64'))}` }));

  const results: Record<string, number> = {};
  let ours: Child | undefined;
  let bare: Child | undefined;
  let ossl: Child | undefined;
  try {
    ours = await startChild(
      process.execPath,
      [
        ...profileFlags('agent-ca'),
        '--import',
        'tsx',
        'src/cli/bin.ts',
        'serve',
        '--data',
        data,
        '--port',
        '0',
        '--workers',
        '1',
      ],
      /listening on (http:\/\/\S+)/,
      { ...process.env, AGENT_CA_ADMIN_TOKEN: TOKEN, AGENT_CA_LOG_LEVEL: 'error' },
    );
    const sample = Buffer.from(await (await fetch(`${ours.url}${getReqs[0]!.path}`)).arrayBuffer());
    if (parseOcspResponse(sample).status !== 'successful') throw new Error('agent-ca did not answer successfully');
    // The bare route serves agent-ca's own answer bytes, with the same headers (bare-fastify.ts).
    const sampleFile = join(dir, 'sample.der');
    writeFileSync(sampleFile, sample);
    bare = await startChild(
      process.execPath,
      [...profileFlags('bare'), '--import', 'tsx', 'scripts/bench/bare-fastify.ts', sampleFile],
      /listening (http:\/\/\S+)/,
    );
    const port = 20000 + Math.floor(Math.random() * 20000);
    const keyFile = join(data, 'keys', 'ocsp-intermediate.key.pem');
    ossl = await startChild(
      'openssl',
      [
        'ocsp',
        '-index',
        join(dir, 'index.txt'),
        '-port',
        String(port),
        '-rsigner',
        join(dir, 'resp.pem'),
        '-rkey',
        keyFile,
        '-CA',
        join(dir, 'int.pem'),
        '-nmin',
        '60',
        '-ignore_err',
      ],
      /(waiting for OCSP client connections)/i,
    );
    const osslUrl = `http://127.0.0.1:${port}`;

    const rounds = Math.max(4, Math.round(2 * seconds));
    line(
      `each figure: ${rounds} rounds of ${ROUND_S} s per server, alternating bare/agent-ca (ABBA...), after ${WARM_S} s of warm-up each; median [min-max] responses/s`,
    );
    line(
      'server'.padEnd(24),
      'method',
      'median/s'.padStart(9),
      '[min-max]'.padStart(17),
      'best/s'.padStart(8),
      'p99 ms'.padStart(7),
      'errors'.padStart(7),
      'CPU us/resp'.padStart(12),
      '  vs bare: median | best | median of round pairs',
    );
    // AGENT_CA_BENCH_OCSP_ONLY=agentca.GET (or agentca.POST, windowed.GET): that comparison
    // alone, for a profile of one path (AGENT_CA_BENCH_CPU_PROF).
    const focus = process.env.AGENT_CA_BENCH_OCSP_ONLY;
    for (const [name, key, method, reqsFor] of [
      ['agent-ca pre-signed 24h', 'agentca', 'GET', getReqs],
      ['agent-ca pre-signed 24h', 'agentca', 'POST', postReqs],
      ['agent-ca 60 s windows', 'windowed', 'GET', winGetReqs],
    ] as const) {
      if (focus && focus !== `${key}.${method}`) continue;
      const { bare: b, ours: o } = await alternate(bare, ours, reqsFor, rounds);
      const row = (label: string, r: Rounds, vs?: Rounds) =>
        line(
          label.padEnd(24),
          method.padEnd(6),
          fmt(r.median).padStart(9),
          `[${fmt(r.min)}-${fmt(r.max)}]`.padStart(17),
          fmt(r.best).padStart(8),
          fmt(r.p99, 1).padStart(7),
          String(r.errors).padStart(7),
          fmt(r.cpuUs, 1).padStart(12),
          vs
            ? `  ${ratio(r.median, vs.median)} | ${ratio(r.best, vs.best)} | ${ratio(medianOf(r.rates.map((x, i) => x / vs.rates[i]!)), 1)}  ${r.median / vs.median >= 0.75 ? 'MET' : 'MISSED'} (target >= 75%); bare CPU/resp = ${ratio(vs.cpuUs, r.cpuUs)} of agent-ca's`
            : '',
        );
      row('bare fastify (a)', b);
      row(name, o, b);
      if (focus) line(`responses served, warm-up included: bare ${b.total}, agent-ca ${o.total} (CPU per response)`);
      results[`bare.${key}.${method}`] = b.median;
      results[`${key}.${method}`] = o.median;
      results[`${key}.${method}.ratio`] = o.median / b.median;
      results[`${key}.${method}.p99`] = o.p99;
      results[`${key}.${method}.cpuUs`] = o.cpuUs;
      results[`bare.${key}.${method}.cpuUs`] = b.cpuUs;
    }
    if (focus) return results;
    line(`60 s windows vs pre-signed (GET): ${ratio(results['windowed.GET']!, results['agentca.GET']!)}`);
    const s = await load(osslUrl, postReqs, seconds, 16);
    line(
      'openssl ocsp (b)'.padEnd(24),
      'POST'.padEnd(6),
      fmt(s.rps).padStart(12),
      fmt(s.p50, 1).padStart(7),
      fmt(s.p99, 1).padStart(7),
      String(s.errors).padStart(7),
      ` agent-ca POST = ${fmt(results['agentca.POST']! / s.rps, 1)}x openssl`,
    );
    results['openssl.POST'] = s.rps;
    line('targets: agent-ca >= 75% of bare fastify; ~18x openssl ocsp');

    // Revocation visibility under load.
    const background = autocannon({
      url: ours.url,
      connections: 32,
      duration: 1000,
      requests: getReqs.map((q) => ({ method: q.method, path: q.path })),
    });
    const visibility: number[] = [];
    for (const serial of revokeSerials.slice(0, 100)) {
      const req = ocspRequestDer(certIdFor(issuerInfo, Buffer.from(serial, 'hex'), 'sha1'));
      const path = `${ours.url}/ocsp/${encodeURIComponent(req.toString('base64'))}`;
      const res = await fetch(`${ours.url}/api/v1/certificates/${serial}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{"reason":"keyCompromise"}',
      });
      if (!res.ok) throw new Error(`revoke failed: ${await res.text()}`);
      const returned = performance.now();
      for (;;) {
        const der = Buffer.from(await (await fetch(path)).arrayBuffer());
        if (parseOcspResponse(der).basic?.responses[0]?.status.kind === 'revoked') break;
        if (performance.now() - returned > 60_000) throw new Error('revocation not visible within 60 s');
      }
      visibility.push(performance.now() - returned);
    }
    (background as unknown as { stop(): void }).stop();
    visibility.sort((x, y) => x - y);
    const p = (q: number) => visibility[Math.min(visibility.length - 1, Math.floor(q * visibility.length))]!;
    line(
      `revocation visibility under load (admin revoke returned -> OCSP GET says revoked), 100 revocations: p50 ${fmt(p(0.5), 2)} ms, p99 ${fmt(p(0.99), 2)} ms, max ${fmt(p(1), 2)} ms (target p99 < 1 s)`,
    );
    results['visibility.p99.ms'] = p(0.99);

    await ours.stop();
    ours = undefined;
    Object.assign(results, await windowSigningCost(data, windowedSerials, issuerInfo));
  } finally {
    await ours?.stop();
    await bare?.stop();
    await ossl?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
