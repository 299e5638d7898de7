/**
 * OCSP responses/s and p50/p99 latency under loopback load (autocannon, 64 connections, GET
 * and POST over 1,000 distinct certificates), for answers pre-signed with a 24 h validity (the
 * `agent-presigned` profile this bench adds) and for agents' 60 s answers signed on the first
 * request of each window (docs/revocation-freshness.md), beside (a) a bare fastify route
 * serving bytes of the same size and (b) `openssl ocsp` running as a responder over the same
 * certificates, all in this run. Then the cost of a window's first request: signatures/s when
 * every request names a serial not yet signed in its window (in process, one core). Then revocation visibility: from
 * the admin API's revoke returning to an OCSP GET answering revoked, 100 revocations while
 * the load runs.
 */
import { execFileSync } from 'node:child_process';
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
  p50: number;
  p99: number;
  errors: number;
}

async function load(
  url: string,
  requests: { method: 'GET' | 'POST'; path: string; body?: Buffer }[],
  seconds: number,
  connections = 64,
): Promise<Load> {
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
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
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
      ['--import', 'tsx', 'src/cli/bin.ts', 'serve', '--data', data, '--port', '0', '--workers', '1'],
      /listening on (http:\/\/\S+)/,
      { ...process.env, AGENT_CA_ADMIN_TOKEN: TOKEN, AGENT_CA_LOG_LEVEL: 'error' },
    );
    const sample = Buffer.from(await (await fetch(`${ours.url}${getReqs[0]!.path}`)).arrayBuffer());
    if (parseOcspResponse(sample).status !== 'successful') throw new Error('agent-ca did not answer successfully');
    bare = await startChild(
      process.execPath,
      ['--import', 'tsx', 'scripts/bench/bare-fastify.ts', String(sample.length)],
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

    line(
      'server'.padEnd(24),
      'method',
      'responses/s'.padStart(12),
      'p50 ms'.padStart(7),
      'p99 ms'.padStart(7),
      'errors'.padStart(7),
      ' vs bare fastify',
    );
    for (const [name, key, method, reqsFor] of [
      ['agent-ca pre-signed 24h', 'agentca', 'GET', getReqs],
      ['agent-ca pre-signed 24h', 'agentca', 'POST', postReqs],
      ['agent-ca 60 s windows', 'windowed', 'GET', winGetReqs],
    ] as const) {
      const b = await load(bare.url, reqsFor, seconds);
      const o = await load(ours.url, reqsFor, seconds);
      line(
        'bare fastify (a)'.padEnd(24),
        method.padEnd(6),
        fmt(b.rps).padStart(12),
        fmt(b.p50, 1).padStart(7),
        fmt(b.p99, 1).padStart(7),
        String(b.errors).padStart(7),
      );
      line(
        name.padEnd(24),
        method.padEnd(6),
        fmt(o.rps).padStart(12),
        fmt(o.p50, 1).padStart(7),
        fmt(o.p99, 1).padStart(7),
        String(o.errors).padStart(7),
        ` ${ratio(o.rps, b.rps)}`,
      );
      results[`bare.${key}.${method}`] = b.rps;
      results[`${key}.${method}`] = o.rps;
      results[`${key}.${method}.p99`] = o.p99;
    }
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
  void readFileSync;
  void execFileSync;
  return results;
}
