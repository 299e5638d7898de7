/**
 * Soak test: `npm run soak -- --minutes N [--workers W] [--kill-every-s S]` (needs `npm run build`).
 *
 * Mixed load against `agent-ca serve` (issue, revoke, OCSP GET, risk events) while the server
 * is killed with SIGKILL at random moments and restarted. Every revocation the API
 * acknowledged (HTTP 200) is remembered. Invariants, checked as it runs and at the end:
 *   - an acknowledged revocation is answered `revoked` by OCSP from then on, across kills;
 *   - at the end, after a clean restart, every acknowledged revocation is `revoked` in OCSP and
 *     listed in the full or delta CRL (read by `openssl crl`);
 *   - `agent-ca audit verify` and `agent-ca audit reconcile` pass.
 * Prints the figures; exits 1 on any violation.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pemOrDer } from '../../src/asn1/pem.js';
import { parseCertificate } from '../../src/asn1/certificate-parse.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import { cliPath, SOAK_TOKEN, startServerProcess, type ServerProcess } from './server-process.js';

const { values: v } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    workers: { type: 'string', default: '8' },
    'kill-every-s': { type: 'string', default: '6' },
    keep: { type: 'boolean', default: false },
  },
});
const minutes = Number(v.minutes);
const workers = Number(v.workers);
const killEveryS = Number(v['kill-every-s']);
if (!(minutes > 0) || !(workers > 0) || !(killEveryS > 0))
  throw new Error('usage: npm run soak -- --minutes N [--workers W] [--kill-every-s S]');

const root = resolve(import.meta.dirname, '..', '..');
if (!existsSync(cliPath(root))) throw new Error('run `npm run build` first (the soak test drives dist/cli/bin.js)');
const dir = mkdtempSync(join(tmpdir(), 'agent-ca-soak-'));
const data = join(dir, 'data');

function cli(...args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [cliPath(root), ...args, '--data', data], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const init = cli('init', '--key-type', 'p256', '--org', 'Soak Operator');
if (init.code !== 0) throw new Error(`init failed: ${init.out}`);
const intermediateDer = pemOrDer(readFileSync(join(data, 'ca', 'intermediate.pem'), 'utf8'), ['CERTIFICATE']);
const intermediate = parseCertificate(intermediateDer);
const issuer = { subjectDer: intermediate.subject, publicKeyInfo: intermediate.publicKeyInfo };
const keys = Array.from(
  { length: 32 },
  () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }) as string,
);

const issued: string[] = [];
const acked = new Set<string>();
const violations: string[] = [];
const n = {
  issueOk: 0,
  revokeOk: 0,
  ocspChecks: 0,
  ocspRevokedSeen: 0,
  eventsOk: 0,
  failedWhileDown: 0,
  kills: 0,
  restarts: 0,
};
let server: ServerProcess;
let running = true;
const pick = <T>(a: readonly T[]): T => a[Math.floor(Math.random() * a.length)]!;

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> | undefined; bytes: Buffer }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${SOAK_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json as Record<string, unknown> | undefined, bytes };
}

async function ocspStatus(serial: string): Promise<string> {
  const req = ocspRequestDer(certIdFor(issuer, Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex'), 'sha1'));
  const r = await call('GET', `/ocsp/${encodeURIComponent(req.toString('base64'))}`);
  const parsed = parseOcspResponse(r.bytes);
  if (parsed.status !== 'successful') return parsed.status;
  return parsed.basic!.responses[0]!.status.kind;
}

async function step(): Promise<void> {
  const roll = Math.random();
  if (roll < 0.3 || issued.length < 10) {
    const r = await call('POST', '/api/v1/certificates', {
      agentId: `soak-${Math.floor(Math.random() * 1e9)}`,
      publicKey: pick(keys),
    });
    if (r.status === 201) {
      issued.push(r.json?.serial as string);
      n.issueOk++;
    }
  } else if (roll < 0.45) {
    const serial = pick(issued);
    const r = await call('POST', `/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' });
    if (r.status === 200) {
      acked.add(serial);
      n.revokeOk++;
      // revoke() returns after the serial's OCSP responses were re-signed: visible at once.
      const s = await ocspStatus(serial);
      n.ocspChecks++;
      if (s !== 'revoked') violations.push(`${serial}: revocation acknowledged, OCSP right after says ${s}`);
    }
  } else if (roll < 0.85) {
    const serial = acked.size && Math.random() < 0.5 ? pick([...acked]) : pick(issued);
    // Judged only when the acknowledgement came before this request was sent: a request already
    // in flight when another worker's revoke was acknowledged may rightly say good.
    const ackedBefore = acked.has(serial);
    const s = await ocspStatus(serial);
    n.ocspChecks++;
    if (ackedBefore) {
      n.ocspRevokedSeen++;
      if (s !== 'revoked') violations.push(`${serial}: revocation acknowledged, OCSP later says ${s}`);
    }
  } else {
    const serial = pick(issued);
    const time = new Date().toISOString();
    const events = Array.from({ length: 10 }, () => ({
      serial,
      type: 'api_call',
      action: 'read:accounts',
      outcome: 'success',
      time,
    }));
    if ((await call('POST', '/api/v1/events', { events })).status === 202) n.eventsOk++;
  }
}

async function worker(): Promise<void> {
  while (running) {
    try {
      await step();
    } catch {
      n.failedWhileDown++; // the server is down (killed) or restarting: nothing was acknowledged
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function killer(until: number): Promise<void> {
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(until - Date.now(), (0.3 + Math.random()) * killEveryS * 1000)));
    if (Date.now() >= until) break;
    await server.kill9();
    n.kills++;
    server = await startServerProcess(root, data);
    n.restarts++;
  }
}

function crlSerials(name: string): Set<string> {
  const file = join(dir, name);
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`openssl crl ${name}: ${r.stderr}`);
  return new Set(
    [...r.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase().replace(/^0+(?=.)/, '')),
  );
}

const started = Date.now();
server = await startServerProcess(root, data);
const until = started + minutes * 60_000;
const load = Array.from({ length: workers }, () => worker());
await killer(until);
running = false;
await Promise.all(load);
await server.stop();

// Final checks after a clean restart.
server = await startServerProcess(root, data);
for (const serial of acked) {
  const s = await ocspStatus(serial);
  if (s !== 'revoked') violations.push(`${serial}: acknowledged revocation, OCSP after restart says ${s}`);
}
for (const name of ['intermediate.crl', 'intermediate-delta.crl'])
  writeFileSync(join(dir, name), (await call('GET', `/crl/${name}`)).bytes);
const listed = new Set([...crlSerials('intermediate.crl'), ...crlSerials('intermediate-delta.crl')]);
for (const serial of acked)
  if (!listed.has(serial.replace(/^0+(?=.)/, '')))
    violations.push(`${serial}: acknowledged revocation missing from the full and delta CRLs`);
await server.stop();
const verify = cli('audit', 'verify');
const reconcile = cli('audit', 'reconcile');
if (verify.code !== 0) violations.push(`audit verify: ${verify.out.trim()}`);
if (reconcile.code !== 0) violations.push(`audit reconcile: ${reconcile.out.trim()}`);

const seconds = (Date.now() - started) / 1000;
console.log(`soak: ${seconds.toFixed(0)} s, ${workers} workers, kill -9 every ~${killEveryS} s`);
console.log(
  `  kills ${n.kills}, restarts ${n.restarts}, requests failed while the server was down ${n.failedWhileDown}`,
);
console.log(
  `  issued ${n.issueOk}, revocations acknowledged ${n.revokeOk} (${acked.size} serials), OCSP checks ${n.ocspChecks} (${n.ocspRevokedSeen} of acknowledged revocations), event batches ${n.eventsOk}`,
);
console.log(
  `  final: ${acked.size} acknowledged revocations checked in OCSP and the CRLs (${listed.size} serials listed)`,
);
console.log(`  ${verify.out.trim()}`);
console.log(`  ${reconcile.out.trim()}`);
if (violations.length) {
  console.log(`VIOLATIONS (${violations.length}):`);
  for (const x of violations.slice(0, 50)) console.log(`  ${x}`);
}
if (!v.keep) rmSync(dir, { recursive: true, force: true });
else console.log(`  data kept in ${dir}`);
process.exit(violations.length ? 1 : 0);
