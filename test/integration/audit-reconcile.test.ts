/**
 * D6 and D5 against LevelDB, through the command line (in process): deleting a revocation
 * record behind agent-ca's back un-revokes a certificate while the hash chain stays intact;
 * `audit reconcile` replays the log and names it. A corrupt entry makes `audit verify` say
 * which seq, with no stack trace.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointToJson } from '../../src/audit/checkpoint.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { runCli } from '../../src/cli/main.js';
import { startServer } from '../../src/http/server.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

let tmp: TmpDir;
let golden: string;
let revoked: string;
let held: string;
let good: string;
let copies = 0;
let kept: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  return cliWith({}, ...argv);
}

async function cliWith(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => void out.push(l), err: (l) => void err.push(l), env });
  return { code, out, err };
}

/** A copy of the golden data dir with `edit` applied to its raw LevelDB (no agent-ca code on the write path). */
async function tampered(edit: (db: Level<string, string>) => Promise<void>): Promise<string> {
  const dir = join(tmp.dir, `copy-${++copies}`);
  await cp(golden, dir, { recursive: true });
  const db = new Level<string, string>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  await edit(db);
  await db.close();
  return dir;
}

/** What reconcile says, locally or through a server, once `revoked`'s revocation record is deleted. */
function expectDeletedRevocationNamed(r: { code: number; out: string[]; err: string[] }): void {
  expect(r.code).toBe(1);
  expect(r.out).toEqual([
    expect.stringMatching(
      new RegExp(`^${revoked}: audit log says revoked keyCompromise \\(seq \\d+\\); store says good$`),
    ),
  ]);
  expect(r.err.join('\n')).toMatch(/ACA_ERR_AUDIT_STORE_MISMATCH: 1 certificate statuses disagree/);
}

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-reconcile-');
  golden = join(tmp.dir, 'golden');
  const a = await createAuthority({ dataDir: golden, env: {} });
  await a.init({ keyType: 'p256' });
  const issue = async (agentId: string) =>
    (
      await a.issue({
        agentId,
        publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          format: 'der',
          type: 'spki',
        }),
      })
    ).serial;
  revoked = await issue('bot-revoked');
  held = await issue('bot-held');
  good = await issue('bot-good');
  await a.revoke(revoked, { reason: 'keyCompromise' });
  await a.hold(held);
  // what an outside party keeps: the latest signed checkpoint (GET /api/v1/audit/head)
  kept = join(tmp.dir, 'kept.json');
  writeFileSync(kept, JSON.stringify({ checkpoint: checkpointToJson((await a.audit.checkpoint())!) }));
  await a.close();
}, 60_000);

afterAll(async () => {
  await tmp?.cleanup();
});

describe('audit reconcile (D6)', () => {
  it('passes on an untouched data dir', async () => {
    const r = await cli('audit', 'reconcile', '--data', golden);
    expect(r.err).toEqual([]);
    expect(r.out.join('\n')).toMatch(
      /^audit reconcile OK: \d+ entries; 3 issued certificates present; 2 status changes agree with the store$/,
    );
    expect(r.code).toBe(0);
  });

  it('names a revocation deleted from the store, although the hash chain still verifies', async () => {
    const dir = await tampered(async (db) => {
      await db.del(`r!${revoked}`);
      await db.del(`ri!intermediate!${revoked}`);
    });
    expect((await cli('show', revoked, '--data', dir)).out.join('\n')).toMatch(/"status": "good"/);
    expect((await cli('audit', 'verify', '--data', dir)).code).toBe(0);
    const r = await cli('audit', 'reconcile', '--data', dir);
    expectDeletedRevocationNamed(r);
  });

  it('names a revocation record the log never committed, and a certificate that vanished', async () => {
    const dir = await tampered(async (db) => {
      const rec = JSON.parse(await db.get(`r!${held}`)) as Record<string, unknown>;
      const forged = JSON.stringify({ ...rec, serial: good, reason: 'superseded' });
      await db.put(`r!${good}`, forged);
      await db.put(`ri!intermediate!${good}`, forged);
      await db.del(`c!${held}`);
    });
    const r = await cli('audit', 'reconcile', '--data', dir);
    expect(r.code).toBe(1);
    expect(r.out.sort()).toEqual(
      [
        `${good}: audit log says no committed status change; store says revoked superseded`,
        `${held}: audit log says issued; store says missing`,
      ].sort(),
    );
  });
});

describe('audit reconcile --server (the running server replays its own store)', () => {
  const TOKEN = 'reconcile-admin-token';

  async function served<T>(dir: string, run: (url: string) => Promise<T>): Promise<T> {
    const authority = await createAuthority({ dataDir: dir, env: {} });
    const server = await startServer({ authority, host: '127.0.0.1', port: 0, adminToken: TOKEN, logLevel: 'error' });
    try {
      return await run(server.url);
    } finally {
      await server.close();
      await authority.close();
    }
  }

  it('passes on an untouched store, and names a deleted revocation, as the local command does', async () => {
    const clean = await tampered(() => Promise.resolve());
    await served(clean, async (url) => {
      const r = await cliWith({ AGENT_CA_TOKEN: TOKEN }, 'audit', 'reconcile', '--server', url);
      expect(r.err).toEqual([]);
      expect(r.out).toEqual([
        expect.stringMatching(
          /^audit reconcile OK: \d+ entries; 3 issued certificates present; 2 status changes agree/,
        ),
      ]);
      expect(r.code).toBe(0);
    });
    const dir = await tampered(async (db) => {
      await db.del(`r!${revoked}`);
      await db.del(`ri!intermediate!${revoked}`);
    });
    await served(dir, async (url) => {
      const r = await cliWith({ AGENT_CA_TOKEN: TOKEN, AGENT_CA_SERVER: url }, 'audit', 'reconcile');
      expectDeletedRevocationNamed(r);
    });
  });

  it('is for admins only: an operator token is refused, no token is 401', async () => {
    const dir = await tampered(() => Promise.resolve());
    await served(dir, async (url) => {
      const post = (path: string, body: unknown) =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post('/api/v1/tenants', { name: 'acme' })).status).toBe(201);
      const made = await post('/api/v1/tokens', { name: 'ops', role: 'operator', tenant: 'acme' });
      expect(made.status).toBe(201);
      const operator = ((await made.json()) as { token: string }).token;
      const r = await cliWith({ AGENT_CA_TOKEN: operator }, 'audit', 'reconcile', '--server', url);
      expect(r.code).not.toBe(0);
      expect(r.err.join('\n')).toMatch(/ACA_ERR_HTTP_FORBIDDEN: .*may not reconcile the audit log with the store/);
      const anon = await fetch(`${url}/api/v1/audit/reconcile`, { method: 'POST' });
      expect(anon.status).toBe(401);
      expect(anon.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });
  });
});

describe('audit verify on a corrupt entry (D5)', () => {
  it('prints the typed error with the first bad seq, no stack trace', async () => {
    const dir = await tampered((db) => db.put(`a!${'3'.padStart(16, '0')}`, '{"seq":3,"time":"2'));
    const r = await cli('audit', 'verify', '--data', dir);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      expect.stringMatching(/^agent-ca audit verify: ACA_ERR_AUDIT_CHAIN_BROKEN: first bad entry is seq 3: .*corrupt/),
    ]);
    expect(r.err.join('\n')).not.toMatch(/SyntaxError| {4}at /);
  });
});

describe('audit verify --against a kept checkpoint (D4)', () => {
  it('passes on the untouched log and catches a cut tail that the store alone no longer shows', async () => {
    expect((await cli('audit', 'verify', '--data', golden, '--against', kept)).out).toEqual([
      expect.stringMatching(/^audit log OK: .*; matches the kept checkpoint at \d+$/),
    ]);
    const head = (JSON.parse(readFileSync(kept, 'utf8')) as { checkpoint: { seq: number } }).checkpoint.seq;
    const dir = await tampered(async (db) => {
      // the last two entries and every checkpoint naming them: the store is self-consistent again
      for (const seq of [head, head - 1]) {
        await db.del(`a!${String(seq).padStart(16, '0')}`);
        await db.del(`ak!${String(seq).padStart(16, '0')}`);
      }
    });
    expect((await cli('audit', 'verify', '--data', dir)).code).toBe(0);
    const r = await cli('audit', 'verify', '--data', dir, '--against', kept);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([expect.stringMatching(new RegExp(`first bad entry is seq ${head - 1}: .*truncated`))]);
  });
});
