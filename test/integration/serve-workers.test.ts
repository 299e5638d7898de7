/**
 * `agent-ca serve --workers 2` as real processes (the CLI, node:cluster, 127.0.0.1):
 * - LevelDB: the primary owns the store; both workers answer OCSP GET and POST (checked by
 *   `openssl ocsp -respin` per worker), and a revocation acknowledged by the API is answered
 *   `revoked` by EVERY worker on the very next request, although each had `good` cached: the
 *   primary waited for their invalidation acks. A worker killed with SIGKILL is restarted by the
 *   primary and answers again; the next revocation reaches it too. Writes sent to a worker reach
 *   the primary (the issuance below goes through the public port).
 * - PostgreSQL (when available): the workers are peers; a revocation made through one is
 *   answered by the other (LISTEN/NOTIFY), and risk traffic is served by worker 0 whichever
 *   worker took the connection.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority } from '../../src/authority/create-authority.js';
import { toPem } from '../../src/asn1/pem.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { openssl } from '../helpers/openssl.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';
import { spawnTsHelper, type TsChild } from '../helpers/spawn-ts-helper.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const TOKEN = 'serve-workers-test-token';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a fresh connection (node:cluster hands connections to workers in turn). */
function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends the same request on new connections until every worker answered; answers by worker. */
async function fromEveryWorker(
  workers: number,
  send: () => Promise<Answer>,
  workerOf: (a: Answer) => string | undefined = (a) => a.headers['x-agent-ca-worker'] as string | undefined,
): Promise<Map<string, Answer>> {
  const seen = new Map<string, Answer>();
  for (let i = 0; i < 40 && seen.size < workers; i++) {
    const a = await send();
    const w = workerOf(a);
    if (w !== undefined && !seen.has(w)) seen.set(w, a);
  }
  if (seen.size < workers) throw new Error(`only workers ${[...seen.keys()].join(',')} answered`);
  return seen;
}

interface Ca {
  dir: string;
  data: string;
  certs: { serial: string; pem: string }[];
  issuerInfo: { subjectDer: Buffer; publicKeyInfo: Buffer };
}

async function makeCa(tmp: TmpDir, env: Record<string, string>, count: number): Promise<Ca> {
  const data = join(tmp.dir, 'data');
  const a = await createAuthority({ dataDir: data, env });
  await a.init({ keyType: 'p256' });
  const certs: Ca['certs'] = [];
  for (let i = 0; i < count; i++) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const c = await a.issue({
      agentId: `worker-bot-${i}`,
      publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
    });
    certs.push({ serial: c.serial, pem: join(tmp.dir, `bot-${i}.pem`) });
    writeFileSync(join(tmp.dir, `bot-${i}.pem`), c.pem);
  }
  const int = a.ca('intermediate').certificate;
  writeFileSync(join(tmp.dir, 'int.pem'), toPem(int.der));
  writeFileSync(join(tmp.dir, 'root.pem'), toPem(a.ca('root').certificate.der));
  const issuerInfo = { subjectDer: Buffer.from(int.subject), publicKeyInfo: Buffer.from(int.publicKeyInfo) };
  await a.close();
  return { dir: tmp.dir, data, certs, issuerInfo };
}

/** `openssl ocsp -respin`: verifies the response against the root and prints the cert's status. */
function opensslStatus(ca: Ca, der: Buffer, certFile: string, name: string): string {
  const f = join(ca.dir, `${name}.der`);
  writeFileSync(f, der);
  const r = openssl([
    'ocsp',
    '-respin',
    f,
    '-issuer',
    join(ca.dir, 'int.pem'),
    '-cert',
    certFile,
    '-CAfile',
    join(ca.dir, 'root.pem'),
  ]);
  expect(r.stderr + r.stdout).toMatch(/Response verify OK/);
  const m = /: (good|revoked|unknown)/.exec(r.stdout);
  return m?.[1] ?? `no status in: ${r.stdout} ${r.stderr}`;
}

function ocspGet(url: string, ca: Ca, serial: string): () => Promise<Answer> {
  const der = ocspRequestDer(certIdFor(ca.issuerInfo, Buffer.from(serial, 'hex'), 'sha1'));
  return () => request(`${url}/ocsp/${encodeURIComponent(der.toString('base64'))}`);
}

function ocspPost(url: string, ca: Ca, serial: string): () => Promise<Answer> {
  const der = ocspRequestDer(certIdFor(ca.issuerInfo, Buffer.from(serial, 'hex'), 'sha1'));
  return () =>
    request(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: der });
}

async function revoke(url: string, serial: string): Promise<void> {
  const r = await request(`${url}/api/v1/certificates/${serial}/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{"reason":"keyCompromise"}',
  });
  expect(r.status, r.body.toString()).toBe(200);
}

function startServe(ca: Ca, env: Record<string, string>): TsChild {
  return spawnTsHelper('../../src/cli/bin.ts', ['serve', '--data', ca.data, '--port', '0', '--workers', '2'], {
    AGENT_CA_ADMIN_TOKEN: TOKEN,
    AGENT_CA_LOG_LEVEL: 'error',
    ...env,
  });
}

async function stopServe(p: TsChild | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await p.exited;
  clearTimeout(t);
}

function workerPid(out: string, index: number): number | undefined {
  const m = new RegExp(`worker ${index} \\(pid (\\d+)\\) listening`).exec(out);
  return m ? Number(m[1]) : undefined;
}

describe('serve --workers 2 on LevelDB (primary + 2 caching workers)', () => {
  let tmp: TmpDir;
  let ca: Ca;
  let serve: TsChild | undefined;
  let url = '';

  beforeAll(async () => {
    tmp = await makeTmpDir('agent-ca-workers-');
    ca = await makeCa(tmp, {}, 2);
    serve = startServe(ca, {});
    url = /listening on (http:\/\/\S+)/.exec(await serve.waitForLine(/^agent-ca listening on /, 90_000))![1]!;
  }, 120_000);

  afterAll(async () => {
    await stopServe(serve);
    await tmp?.cleanup();
  }, 60_000);

  it('answers OCSP GET and POST from every worker, checked by openssl', async () => {
    const [first] = ca.certs;
    for (const [name, send] of [
      ['get', ocspGet(url, ca, first!.serial)],
      ['post', ocspPost(url, ca, first!.serial)],
    ] as const) {
      // twice: the first answer per worker may be a miss forwarded to the primary, the second is cached
      for (let round = 0; round < 2; round++) {
        const answers = await fromEveryWorker(2, send);
        for (const [w, a] of answers) {
          expect(a.status).toBe(200);
          expect(opensslStatus(ca, a.body, first!.pem, `${name}-${w}-${round}`)).toBe('good');
        }
      }
    }
  }, 120_000);

  it('a revocation acknowledged by the API is answered revoked by every worker at once', async () => {
    const [first] = ca.certs;
    await revoke(url, first!.serial);
    // no waiting, no retry: the first request to each worker after the acknowledgement
    const answers = await fromEveryWorker(2, ocspGet(url, ca, first!.serial));
    for (const [w, a] of answers) expect(opensslStatus(ca, a.body, first!.pem, `revoked-${w}`)).toBe('revoked');
    const posts = await fromEveryWorker(2, ocspPost(url, ca, first!.serial));
    for (const [w, a] of posts) expect(opensslStatus(ca, a.body, first!.pem, `revoked-post-${w}`)).toBe('revoked');
    const verify = await fromEveryWorker(2, () => request(`${url}/api/v1/verify/${first!.serial}`));
    for (const a of verify.values()) expect(JSON.parse(a.body.toString()).status).toBe('revoked');
  }, 120_000);

  it('restarts a killed worker, which then answers and sees the next revocation', async () => {
    const second = ca.certs[1]!;
    for (const a of (await fromEveryWorker(2, ocspGet(url, ca, second.serial))).values())
      expect(opensslStatus(ca, a.body, second.pem, 'before-kill')).toBe('good');
    const pidLine = await serve!.waitForLine(/^worker 0 \(pid \d+\) listening/);
    const pid = workerPid(pidLine, 0)!;
    process.kill(pid, 'SIGKILL');
    const restarted = await serve!.waitForLine(new RegExp(`^worker 0 \\(pid (?!${pid}\\))\\d+\\) listening`), 90_000);
    expect(workerPid(restarted, 0)).not.toBe(pid);
    await revoke(url, second.serial);
    const answers = await fromEveryWorker(2, ocspGet(url, ca, second.serial));
    expect([...answers.keys()].sort()).toEqual(['0', '1']);
    for (const [w, a] of answers) expect(opensslStatus(ca, a.body, second.pem, `after-kill-${w}`)).toBe('revoked');
    // the CRL the workers serve verifies and lists both revocations
    const crl = (await fromEveryWorker(2, () => request(`${url}/crl/intermediate.crl`))).get('0')!;
    writeFileSync(join(ca.dir, 'w.crl'), crl.body);
    const r = openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      join(ca.dir, 'w.crl'),
      '-CAfile',
      join(ca.dir, 'int.pem'),
      '-noout',
    ]);
    expect(r.stderr + r.stdout).toMatch(/verify OK/);
  }, 180_000);
});

describe.runIf(pgAvailable)('serve --workers 2 on PostgreSQL (2 peers)', () => {
  let tmp: TmpDir;
  let db: PgSchema;
  let ca: Ca;
  let serve: TsChild | undefined;
  let url = '';

  beforeAll(async () => {
    db = await freshSchema('workers');
    tmp = await makeTmpDir('agent-ca-workers-pg-');
    ca = await makeCa(tmp, { AGENT_CA_STORE: db.url }, 1);
    serve = startServe(ca, { AGENT_CA_STORE: db.url });
    url = /listening on (http:\/\/\S+)/.exec(await serve.waitForLine(/^agent-ca listening on /, 90_000))![1]!;
  }, 120_000);

  afterAll(async () => {
    await stopServe(serve);
    await tmp?.cleanup();
    await db?.cleanup();
  }, 60_000);

  it('a revocation through one peer is answered by every peer; risk traffic goes to worker 0', async () => {
    const [first] = ca.certs;
    for (const a of (await fromEveryWorker(2, ocspGet(url, ca, first!.serial))).values())
      expect(opensslStatus(ca, a.body, first!.pem, 'pg-good')).toBe('good');
    await revoke(url, first!.serial);
    const deadline = Date.now() + 5_000;
    const seen = new Set<string>();
    while (seen.size < 2) {
      const a = await ocspGet(url, ca, first!.serial)();
      const w = a.headers['x-agent-ca-worker'] as string;
      if (opensslStatus(ca, a.body, first!.pem, `pg-${w}`) === 'revoked') seen.add(w);
      if (Date.now() > deadline) throw new Error(`only workers ${[...seen].join(',')} answered revoked within 5 s`);
    }
    for (let i = 0; i < 6; i++) {
      const a = await request(`${url}/api/v1/notifications`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(a.status, a.body.toString()).toBe(200);
      expect(a.headers['x-agent-ca-worker']).toBe('0');
    }
  }, 120_000);
});
