/**
 * `serve --workers N` on LevelDB: OCSP GET and POST responses/s with 1 and 2 workers, beside
 * bare fastify with 1 and 2 processes (node:cluster on one port, scripts/bench/bare-fastify.ts)
 * serving bytes of the same size with the same headers, all in the same run. Load: autocannon
 * in this process, 64 connections, over 1,000 distinct pre-signed answers (a 24 h profile, as
 * in the OCSP section). Each server gets a 3 s warm-up first (the workers' caches fill on the
 * first request per serial; bare fastify gets the same, for symmetry).
 *
 * On the 2-core development machine the load generator itself needs most of a core, so two
 * server processes compete with it: the 1 -> 2 ratio here is a floor for what a host whose
 * clients are elsewhere gets; bare fastify's own ratio beside it shows the machine's ceiling.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createAuthority } from '../../src/authority/create-authority.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import { startChild, type Child } from './child.js';
import { fmt, header, line } from './util.js';

type Req = { method: 'GET' | 'POST'; path: string; body?: Buffer };

async function load(
  url: string,
  requests: Req[],
  seconds: number,
): Promise<{ rps: number; p99: number; errors: number }> {
  const r = await autocannon({
    url,
    connections: 64,
    duration: seconds,
    pipelining: 1,
    requests: requests.map((q) => ({
      method: q.method,
      path: q.path,
      ...(q.body ? { body: q.body, headers: { 'content-type': 'application/ocsp-request' } } : {}),
    })),
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

export async function benchWorkers(seconds: number): Promise<Record<string, number>> {
  header('serve --workers: OCSP responses/s with 1 and 2 workers (LevelDB) beside bare fastify with 1 and 2 processes');
  const dir = mkdtempSync(join(tmpdir(), 'aca-bench-workers-'));
  const data = join(dir, 'data');
  const profilesDir = join(dir, 'profiles');
  mkdirSync(profilesDir);
  writeFileSync(
    join(profilesDir, 'agent-presigned.json'),
    JSON.stringify({
      ...JSON.parse(readFileSync('ca-config/profiles/agent.json', 'utf8')),
      name: 'agent-presigned',
      ocspValiditySeconds: 86_400,
    }),
  );
  const results: Record<string, number> = {};
  let child: Child | undefined;
  try {
    const a = await createAuthority({ dataDir: data, env: {} });
    await a.init({ keyType: 'p256', config: { organization: 'Bench Operator', profilesDir } });
    const int = a.ca('intermediate');
    const issuerInfo = {
      subjectDer: Buffer.from(int.certificate.subject),
      publicKeyInfo: Buffer.from(int.certificate.publicKeyInfo),
    };
    const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const serials: string[] = [];
    for (let i = 0; i < 1000; i++)
      serials.push((await a.issue({ agentId: `w-${i}`, publicKey: pub, profile: 'agent-presigned' })).serial);
    await a.close();
    const ders = serials.map((s) => ocspRequestDer(certIdFor(issuerInfo, Buffer.from(s, 'hex'), 'sha1')));
    const reqs: Record<'GET' | 'POST', Req[]> = {
      GET: ders.map((b) => ({ method: 'GET', path: `/ocsp/${encodeURIComponent(b.toString('base64'))}` })),
      POST: ders.map((b) => ({ method: 'POST', path: '/ocsp', body: b })),
    };

    let size = 0;
    const serve = async (workers: number): Promise<Child> => {
      const c = await startChild(
        process.execPath,
        ['--import', 'tsx', 'src/cli/bin.ts', 'serve', '--data', data, '--port', '0', '--workers', String(workers)],
        /agent-ca listening on (http:\/\/\S+)/,
        { ...process.env, AGENT_CA_LOG_LEVEL: 'error' },
        120_000,
      );
      const sample = Buffer.from(await (await fetch(`${c.url}${reqs.GET[0]!.path}`)).arrayBuffer());
      if (parseOcspResponse(sample).status !== 'successful') throw new Error('agent-ca did not answer successfully');
      size = sample.length;
      return c;
    };
    const bare = (processes: number): Promise<Child> =>
      startChild(
        process.execPath,
        ['--import', 'tsx', 'scripts/bench/bare-fastify.ts', String(size), String(processes)],
        /listening (http:\/\/\S+)/,
        process.env,
        60_000,
      );

    const rows: { name: string; key: string; n: number }[] = [];
    for (const n of [1, 2]) {
      for (const [name, start] of [
        ['agent-ca serve --workers', () => serve(n)],
        ['bare fastify, processes', () => bare(n)],
      ] as const) {
        // agent-ca first: bare fastify's body size is taken from agent-ca's answer
        child = await start();
        const key = name.startsWith('agent-ca') ? 'workers' : 'bare';
        for (const method of ['GET', 'POST'] as const) {
          await load(child.url, reqs[method], 3); // warm-up (a fresh primary also pre-signs at start)
          const r = await load(child.url, reqs[method], seconds);
          results[`${key}.${n}.${method}`] = r.rps;
          results[`${key}.${n}.${method}.p99`] = r.p99;
          results[`${key}.${n}.${method}.errors`] = r.errors;
        }
        rows.push({ name, key, n });
        await child.stop();
        child = undefined;
      }
    }
    line(
      'server'.padEnd(30),
      'N'.padStart(2),
      'GET/s'.padStart(9),
      'p99 ms'.padStart(7),
      'POST/s'.padStart(9),
      'p99 ms'.padStart(7),
      'errors'.padStart(7),
    );
    for (const r of rows) {
      const g = (m: string) => results[`${r.key}.${r.n}.${m}`]!;
      line(
        r.name.padEnd(30),
        String(r.n).padStart(2),
        fmt(g('GET')).padStart(9),
        fmt(g('GET.p99'), 1).padStart(7),
        fmt(g('POST')).padStart(9),
        fmt(g('POST.p99'), 1).padStart(7),
        String(g('GET.errors') + g('POST.errors')).padStart(7),
      );
    }
    for (const m of ['GET', 'POST'] as const) {
      const ours = results[`workers.2.${m}`]! / results[`workers.1.${m}`]!;
      const base = results[`bare.2.${m}`]! / results[`bare.1.${m}`]!;
      results[`workers.ratio.${m}`] = ours;
      results[`bare.ratio.${m}`] = base;
      line(
        `${m}: 1 -> 2 workers ${fmt(ours, 2)}x (target >= 1.6x: ${ours >= 1.6 ? 'met' : 'MISSED'}); bare fastify 1 -> 2 processes ${fmt(base, 2)}x; ` +
          `agent-ca / bare: 1 process ${fmt((results[`workers.1.${m}`]! / results[`bare.1.${m}`]!) * 100, 1)}%, 2 processes ${fmt((results[`workers.2.${m}`]! / results[`bare.2.${m}`]!) * 100, 1)}%`,
      );
    }
    line(
      `load average at the end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} (load generator in the bench process)`,
    );
  } finally {
    await child?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
