/**
 * Durability at the authority level: an acknowledged revoke() survives kill -9. A child opens
 * the authority on LevelDB (and, in a second run, on PostgreSQL), revokes (keyCompromise), prints ACK and keeps committing hold /
 * release pairs; the parent SIGKILLs it right after the ACK, reopens, and finds the
 * certificate revoked, the 'revoke' outcome in the audit log and the chain intact. Three
 * rounds on the same data dir. Also: a data dir held by another process gives the CLI
 * ACA_ERR_STORE_LOCKED with a hint at --server, and nothing is written.
 */
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority } from '../../src/authority/create-authority.js';
import { runCli } from '../../src/cli/main.js';
import type { AuditEntry } from '../../src/store/ports.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';
import { spawnTsHelper } from '../helpers/spawn-ts-helper.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

let tmp: TmpDir;
let dataDir: string;
let targets: string[];
let busy: string;

/** A CA with four targets and a busy certificate, in `env`'s store (LevelDB when empty). */
async function makeCa(dir: string, env: Record<string, string>): Promise<{ targets: string[]; busy: string }> {
  const a = await createAuthority({ dataDir: dir, env });
  try {
    await a.init({ keyType: 'p256' });
    const issue = async (agentId: string) => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return (await a.issue({ agentId, publicKey: publicKey.export({ format: 'pem', type: 'spki' }) })).serial;
    };
    return {
      targets: [await issue('crash-1'), await issue('crash-2'), await issue('crash-3'), await issue('lock-target')],
      busy: await issue('busy-bot'),
    };
  } finally {
    await a.close();
  }
}

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-authority-crash-');
  dataDir = join(tmp.dir, 'data');
  ({ targets, busy } = await makeCa(dataDir, {}));
});
afterAll(async () => {
  await tmp.cleanup();
});

async function auditEntries(a: Awaited<ReturnType<typeof createAuthority>>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of a.store.audit.iterate()) out.push(e);
  return out;
}

/** The CA under test, read when the test runs (after its beforeAll). */
type CrashCa = () => { dir: string; env: Record<string, string>; targets: string[]; busy: string };

function crashRounds(ca: CrashCa): void {
  it('finds every acknowledged revocation, its audit outcome and an intact chain, three times over', async () => {
    const { dir, env, targets, busy } = ca();
    const acked: string[] = [];
    for (let round = 0; round < 3; round++) {
      const serial = targets[round]!;
      const child = spawnTsHelper('./authority-child.ts', ['revoke', dir, serial, busy], env);
      try {
        expect(await child.waitForLine(/^ACK /)).toBe(`ACK ${serial}`);
      } finally {
        child.child.kill('SIGKILL');
      }
      expect((await child.exited).signal).toBe('SIGKILL');
      acked.push(serial);

      const a = await createAuthority({ dataDir: dir, env, create: false });
      try {
        for (const s of acked) {
          const { status } = await a.show(s);
          expect(status, `round ${round + 1}: ${s}`).toMatchObject({ state: 'revoked', reason: 'keyCompromise' });
        }
        const entries = await auditEntries(a);
        for (const s of acked) {
          const outcome = entries.filter((e) => e.action === 'revoke' && e.subject === s);
          expect(outcome, `round ${round + 1}: revoke outcome for ${s}`).toHaveLength(1);
          expect(outcome[0]!.details).toMatchObject({ reason: 'keyCompromise', outcome: 'committed' });
          expect(outcome[0]!.actor).toBe('crash-test');
          // its intent came first
          expect(entries.findIndex((e) => e.action === 'revoke.requested' && e.subject === s)).toBeLessThan(
            entries.indexOf(outcome[0]!),
          );
        }
        // the child was writing around the revocation (the busy loop starts before it)
        expect(entries.some((e) => e.subject === busy && e.actor === 'busy')).toBe(true);
        const v = await a.audit.verify();
        expect(v, JSON.stringify(v)).toMatchObject({ ok: true });
        // status of the busy certificate is one of the two states the loop moves between
        expect(['good', 'held']).toContain((await a.show(busy)).status.state);
      } finally {
        await a.close();
      }
    }
  });
}

describe('authority survives kill -9 right after an acknowledged revoke() (LevelDB)', () => {
  crashRounds(() => ({ dir: dataDir, env: {}, targets, busy }));
});

describe.runIf(pgAvailable)('authority survives kill -9 right after an acknowledged revoke() (PostgreSQL)', () => {
  let db: PgSchema;
  let pgDir: TmpDir;
  let ca: { targets: string[]; busy: string };
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshSchema('crash');
    pgDir = await makeTmpDir('agent-ca-authority-crash-pg-');
    env = { AGENT_CA_STORE: db.url };
    ca = await makeCa(pgDir.dir, env);
  });
  afterAll(async () => {
    await pgDir.cleanup();
    await db.cleanup();
  });
  crashRounds(() => ({ dir: pgDir.dir, env, ...ca }));
});

describe('a data dir in use by another process', () => {
  it('gives the CLI ACA_ERR_STORE_LOCKED mentioning --server, writes nothing, and works once the owner is gone', async () => {
    const target = targets[3]!;
    const owner = spawnTsHelper('./authority-child.ts', ['hold-open', dataDir]);
    const err: string[] = [];
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: { AGENT_CA_DATA: dataDir } };
    try {
      expect(await owner.waitForLine(/^READY$/)).toBe('READY');
      for (const argv of [
        ['revoke', target, '--reason', 'keyCompromise'],
        ['hold', target],
        ['list'],
        ['audit', 'verify'],
      ]) {
        err.length = 0;
        out.length = 0;
        const code = await runCli(argv, io);
        expect(code, argv.join(' ')).toBe(1);
        expect(out).toEqual([]);
        expect(err).toHaveLength(1);
        expect(err[0]).toMatch(
          new RegExp(
            `^agent-ca ${argv[0]}: ACA_ERR_STORE_LOCKED: data dir ${dataDir} is in use by another agent-ca process`,
          ),
        );
        expect(err[0]).toContain('--server');
      }
    } finally {
      owner.child.kill('SIGKILL');
    }
    await owner.exited;

    const a = await createAuthority({ dataDir, env: {}, create: false });
    try {
      expect((await a.show(target)).status.state).toBe('good');
      const entries = await auditEntries(a);
      expect(entries.filter((e) => e.subject === target)).toEqual([]);
    } finally {
      await a.close();
    }
    err.length = 0;
    expect(await runCli(['revoke', target, '--reason', 'keyCompromise'], io), err.join('\n')).toBe(0);
  });
});
