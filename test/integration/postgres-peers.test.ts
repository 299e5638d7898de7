/**
 * Peers on one PostgreSQL schema: two servers (each its own Authority, pool, caches and
 * listener; in one test process to stay light on a 2-core machine) answer for one CA.
 * - A revocation committed by A is answered `revoked` by B, whose OCSP answer cache held
 *   `good` with a 60 s TTL: the deadline (5 s) is well under the TTL, so only the
 *   LISTEN/NOTIFY invalidation can explain it. openssl checks B's answer.
 * - A revocation made on the follower reaches the full CRL the leader publishes on change, which both
 *   serve (openssl checks it).
 * - CRL leadership: exactly one of several electors leads; when the leader's session dies
 *   (pg_terminate_backend, as for a crashed host) or it stops, another takes over.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { runCli } from '../../src/cli/main.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { advisoryKey, parsePostgresUrl } from '../../src/store/postgres/connection.js';
import { LeaderElection } from '../../src/store/postgres/leader.js';
import { openssl } from '../helpers/openssl.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

async function until<T>(what: string, fn: () => Promise<T | undefined>, deadlineMs = 5000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.runIf(pgAvailable)('peers on one PostgreSQL schema', () => {
  let db: PgSchema;
  let tmp: TmpDir;
  let a: Authority;
  let b: Authority;
  let serverA: RunningServer;
  let serverB: RunningServer;
  const serials: string[] = [];
  const dir = (f: string) => join(tmp.dir, f);

  beforeAll(async () => {
    db = await freshSchema('peers');
    tmp = await makeTmpDir('agent-ca-peers-');
    const env = { AGENT_CA_STORE: db.url };
    a = await createAuthority({ dataDir: dir('data'), env });
    await a.init({ keyType: 'p256' });
    for (const id of ['peer-bot-1', 'peer-bot-2', 'peer-bot-3']) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const c = await a.issue({ agentId: id, publicKey: publicKey.export({ format: 'pem', type: 'spki' }) });
      serials.push(c.serial);
      writeFileSync(dir(`${id}.pem`), c.pem);
    }
    b = await createAuthority({ dataDir: dir('data'), env, create: false });
    serverA = await startServer({ authority: a, port: 0, logLevel: 'silent' });
    serverB = await startServer({ authority: b, port: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await serverA?.close();
    await serverB?.close();
    await a?.close();
    await b?.close();
    await db.cleanup();
    await tmp.cleanup();
  });

  it('a revocation committed in A is answered revoked by B (its cached good answer is dropped)', async () => {
    const cert = dir('peer-bot-1.pem');
    const req = openssl([
      'ocsp',
      '-issuer',
      join(a.dataDir, 'ca', 'intermediate.pem'),
      '-cert',
      cert,
      '-no_nonce',
      '-reqout',
      dir('req.der'),
    ]);
    expect(req.status, req.stderr).toBe(0);
    const ask = async (url: string): Promise<Buffer> => {
      const res = await fetch(`${url}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: readFileSync(dir('req.der')),
      });
      expect(res.status).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const check = (der: Buffer): string => {
      writeFileSync(dir('resp.der'), der);
      const r = openssl([
        'ocsp',
        '-respin',
        dir('resp.der'),
        '-issuer',
        join(a.dataDir, 'ca', 'intermediate.pem'),
        '-CAfile',
        join(a.dataDir, 'ca', 'root.pem'),
        '-cert',
        cert,
        '-no_nonce',
      ]);
      expect(r.stdout + r.stderr).toContain('Response verify OK');
      return r.stdout;
    };
    // B answers good twice (the second from its answer cache)
    expect(check(await ask(serverB.url))).toMatch(/peer-bot-1\.pem: good/);
    expect(check(await ask(serverB.url))).toMatch(/peer-bot-1\.pem: good/);
    await a.revoke(serials[0]!, { reason: 'keyCompromise', actor: 'ops:peer-test' });
    const revoked = await until('B to answer revoked', async () => {
      const der = await ask(serverB.url);
      const out = check(der);
      return /: revoked/.test(out) ? out : undefined;
    });
    expect(revoked).toContain('Reason: keyCompromise');
  });

  it('the CLI revokes while both servers run (no lock on PostgreSQL); both answer revoked', async () => {
    const cert = dir('peer-bot-3.pem');
    expect(
      openssl([
        'ocsp',
        '-issuer',
        join(a.dataDir, 'ca', 'intermediate.pem'),
        '-cert',
        cert,
        '-no_nonce',
        '-reqout',
        dir('req3.der'),
      ]).status,
    ).toBe(0);
    const answer = async (url: string): Promise<string> => {
      const res = await fetch(`${url}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: readFileSync(dir('req3.der')),
      });
      writeFileSync(dir('resp3.der'), Buffer.from(await res.arrayBuffer()));
      const r = openssl([
        'ocsp',
        '-respin',
        dir('resp3.der'),
        '-issuer',
        join(a.dataDir, 'ca', 'intermediate.pem'),
        '-CAfile',
        join(a.dataDir, 'ca', 'root.pem'),
        '-cert',
        cert,
        '-no_nonce',
      ]);
      expect(r.stdout + r.stderr).toContain('Response verify OK');
      return r.stdout;
    };
    for (const s of [serverA, serverB]) expect(await answer(s.url)).toMatch(/peer-bot-3\.pem: good/);
    const err: string[] = [];
    const code = await runCli(
      ['revoke', serials[2]!, '--reason', 'cessationOfOperation', '--store', db.url, '--data', dir('data')],
      { out: () => undefined, err: (l) => err.push(l), env: {} },
    );
    expect(code, err.join('\n')).toBe(0);
    for (const s of [serverA, serverB]) {
      const out = await until(`${s.url} to answer revoked`, async () => {
        const o = await answer(s.url);
        return /: revoked/.test(o) ? o : undefined;
      });
      expect(out).toContain('Reason: cessationOfOperation');
    }
  });

  it('a revocation made on either peer reaches the full CRL the leader publishes on change, served by both', async () => {
    await b.revoke(serials[1]!, { reason: 'superseded', actor: 'ops:peer-test' });
    writeFileSync(
      dir('bundle.pem'),
      readFileSync(join(a.dataDir, 'ca', 'intermediate.pem'), 'utf8') +
        readFileSync(join(a.dataDir, 'ca', 'root.pem'), 'utf8'),
    );
    for (const server of [serverA, serverB]) {
      const text = await until(`the full CRL from ${server.url} to list ${serials[1]}`, async () => {
        const res = await fetch(`${server.url}/crl/intermediate.crl`);
        if (res.status !== 200) return undefined;
        writeFileSync(dir('full.crl'), Buffer.from(await res.arrayBuffer()));
        const r = openssl([
          'crl',
          '-inform',
          'DER',
          '-in',
          dir('full.crl'),
          '-CAfile',
          dir('bundle.pem'),
          '-noout',
          '-text',
        ]);
        expect(r.stderr).toContain('verify OK');
        return r.stdout.toUpperCase().includes(serials[1]!.toUpperCase()) ? r.stdout : undefined;
      });
      expect(text).not.toContain('Delta CRL Indicator');
    }
  });

  it('both peers write at once: every append lands, the one audit chain stays intact', async () => {
    const before = (await a.store.audit.head())!.seq;
    const writes = Array.from({ length: 12 }, (_, i) =>
      (i % 2 ? a : b).audit.append({
        actor: `peer-${i % 2 ? 'a' : 'b'}`,
        action: 'test.peer-write',
        subject: `w-${i}`,
        details: { i },
      }),
    );
    const entries = await Promise.all(writes);
    expect(new Set(entries.map((e) => e.seq)).size).toBe(12);
    expect((await b.store.audit.head())!.seq).toBe(before + 12);
    expect(await a.audit.verify()).toMatchObject({ ok: true });
  });
});

describe.runIf(pgAvailable)('CRL leader election', () => {
  let db: PgSchema;
  beforeAll(async () => {
    db = await freshSchema('leader');
  });
  afterAll(async () => {
    await db.cleanup();
  });

  it('elects exactly one leader, and another takes over when its session dies or it stops', async () => {
    const target = parsePostgresUrl(db.url);
    const changes: string[] = [];
    const electors = [0, 1, 2].map(
      (i) => new LeaderElection(target, 'crl', { retryMs: 100, onChange: (l) => changes.push(`${i}:${l}`) }),
    );
    try {
      for (const e of electors) await e.start();
      const leaders = () => electors.filter((e) => e.isLeader);
      expect(leaders()).toHaveLength(1);
      const first = electors.indexOf(leaders()[0]!);
      // the leader's session dies (crashed host, cut network): PostgreSQL drops the lock, the
      // elector notices, and whoever retries first (possibly the old leader, reconnected) leads
      // Only this schema's lock: other test files' servers may lead in their own schemas. A
      // bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
      const key = BigInt.asUintN(64, BigInt(advisoryKey(target.schema, 'leader:crl')));
      const killed = await db.admin(
        `select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and objsubid = 1 and classid = $1::bigint::oid and objid = $2::bigint::oid and pid <> pg_backend_pid()`,
        [String(key >> 32n), String(key & 0xffffffffn)],
      );
      expect(killed.rowCount).toBe(1);
      const second = await until('a leader after the session died', async () =>
        changes.includes(`${first}:false`) && leaders().length === 1 ? leaders()[0] : undefined,
      );
      await second.stop();
      const third = await until('a third leader', async () =>
        leaders().length === 1 && leaders()[0] !== second ? leaders()[0] : undefined,
      );
      expect(leaders()).toEqual([third]);
      expect(changes.filter((c) => c.endsWith(':true'))).toHaveLength(3);
      expect(changes.filter((c) => c.endsWith(':false'))).toHaveLength(2);
    } finally {
      for (const e of electors) await e.stop();
    }
  });
});
