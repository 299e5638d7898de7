/**
 * Tamper evidence against LevelDB: a 50-entry log with a signed checkpoint every 10 entries is
 * written through AuditLog, the store is closed, then a copy of the database is edited raw
 * (opened with `level` directly, no agent-ca code on the write path) and verify() must fail
 * naming the right first bad seq.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { entryHash } from '../../src/audit/entry-hash.js';
import { checkpointMessage } from '../../src/audit/checkpoint.js';
import { FixedClock } from '../../src/clock.js';
import { generateKeyPair, signerFromPrivateKey } from '../../src/signer/soft-key.js';
import type { Signer } from '../../src/signer/signer.js';
import { openLevelStore } from '../../src/store/level/level-store.js';
import type { KeyUri } from '../../src/types.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';
import { sign } from 'node:crypto';

const T0 = new Date('2025-06-01T00:00:00.000Z');
const N = 50;
const EVERY = 10;
const pad = (n: number): string => String(n).padStart(16, '0');
const entryKey = (seq: number): string => `a!${pad(seq)}`;
type RawEntry = {
  seq: number;
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
};

/** Recompute a raw (stored JSON) entry's hash the way an attacker with the source would. */
function rehash(e: RawEntry): RawEntry {
  return { ...e, hash: entryHash({ ...e, time: new Date(e.time) }) };
}

describe('audit log tamper evidence (LevelDB)', () => {
  let tmp: TmpDir;
  let golden: string;
  let signer: Signer;
  let copies = 0;

  beforeAll(async () => {
    tmp = await makeTmpDir('agent-ca-tamper-');
    golden = join(tmp.dir, 'golden');
    signer = signerFromPrivateKey(generateKeyPair('p256').privateKey, 'softkey:audit' as KeyUri);
    const store = await openLevelStore({ dataDir: golden });
    const clock = new FixedClock(T0);
    const log = new AuditLog({ store, clock, signer, checkpointEvery: EVERY });
    for (let i = 1; i <= N; i++) {
      await log.append({
        actor: i % 3 ? 'alice' : 'risk-engine',
        action: 'certificate.revoke',
        subject: `7f${i.toString(16).padStart(4, '0')}`,
        details: { i, reason: 'keyCompromise' },
      });
      clock.advance(1000);
    }
    await store.close();
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  /** Copy the golden data dir, let `edit` change the raw database, then verify through AuditLog. */
  async function tamper(edit: (db: Level<string, string>) => Promise<void>) {
    const dir = join(tmp.dir, `copy-${++copies}`);
    await cp(golden, dir, { recursive: true });
    const raw = new Level<string, string>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await raw.open();
    await edit(raw);
    await raw.close();
    const store = await openLevelStore({ dataDir: dir, create: false });
    try {
      return await new AuditLog({ store, clock: new FixedClock(T0), signer, checkpointEvery: EVERY }).verify({
        publicKeyInfo: signer.publicKeyInfo,
      });
    } finally {
      await store.close();
    }
  }

  const read = async (db: Level<string, string>, seq: number): Promise<RawEntry> =>
    JSON.parse(await db.get(entryKey(seq))) as RawEntry;
  const write = (db: Level<string, string>, seq: number, e: RawEntry): Promise<void> =>
    db.put(entryKey(seq), JSON.stringify(e));

  it('verifies the untouched log', async () => {
    expect(await tamper(async () => {})).toMatchObject({ ok: true, entries: N, checkpoints: N / EVERY });
  });

  it("catches a change to an entry's details", async () => {
    const result = await tamper(async (db) => {
      const e = await read(db, 17);
      await write(db, 17, { ...e, details: { ...e.details, reason: 'superseded' } });
    });
    expect(result).toMatchObject({ ok: false, firstBadSeq: 17 });
    expect(result.ok || result.reason).toMatch(/altered/);
  });

  it('reports a corrupt entry (not JSON, or not an entry) as the first bad seq instead of throwing', async () => {
    expect(await tamper((db) => db.put(entryKey(17), '{"seq":17,"time":'))).toMatchObject({
      ok: false,
      firstBadSeq: 17,
    });
    const notAnEntry = await tamper((db) => db.put(entryKey(18), '[]'));
    expect(notAnEntry).toMatchObject({ ok: false, firstBadSeq: 18 });
    expect(notAnEntry.ok || notAnEntry.reason).toMatch(/cannot be read/);
    const badTime = await tamper(async (db) => write(db, 19, { ...(await read(db, 19)), time: 'yesterday' }));
    expect(badTime).toMatchObject({ ok: false, firstBadSeq: 19 });
  });

  it('catches a deleted entry', async () => {
    expect(await tamper((db) => db.del(entryKey(23)))).toMatchObject({ ok: false, firstBadSeq: 23 });
  });

  it('catches two entries swapped (reordered)', async () => {
    const result = await tamper(async (db) => {
      const [a, b] = [await read(db, 30), await read(db, 31)];
      await write(db, 30, b);
      await write(db, 31, a);
    });
    expect(result).toMatchObject({ ok: false, firstBadSeq: 30 });
  });

  it('catches a forged entry inserted mid-chain (correct self-hash, broken link)', async () => {
    const result = await tamper(async (db) => {
      for (let seq = N; seq >= 35; seq--) await write(db, seq + 1, await read(db, seq)); // make room
      const forged = rehash({
        ...(await read(db, 35)),
        actor: 'mallory',
        details: { i: 35, reason: 'forged' },
        prevHash: 'ee'.repeat(32),
      });
      await write(db, 35, forged);
    });
    expect(result).toMatchObject({ ok: false, firstBadSeq: 35 });
    expect(result.ok || result.reason).toMatch(/does not link/);
  });

  it('catches a forged entry appended at the end with a broken link', async () => {
    const result = await tamper(async (db) => {
      const last = await read(db, N);
      await write(db, N + 1, rehash({ ...last, seq: N + 1, prevHash: '00'.repeat(32), details: { forged: true } }));
    });
    expect(result).toMatchObject({ ok: false, firstBadSeq: N + 1 });
  });

  it('catches a consistent rewrite of the whole chain from entry k on (signed checkpoint no longer matches)', async () => {
    const k = 33;
    const result = await tamper(async (db) => {
      let prev = (await read(db, k - 1)).hash;
      for (let seq = k; seq <= N; seq++) {
        const e = await read(db, seq);
        const rewritten = rehash({
          ...e,
          details: seq === k ? { ...e.details, reason: 'rewritten' } : e.details,
          prevHash: prev,
        });
        await write(db, seq, rewritten);
        prev = rewritten.hash;
      }
    });
    // every link and hash is consistent; only the checkpoint at 40 (signed) disagrees, so the
    // entries after the last matching checkpoint (30) are the ones that can't be trusted
    expect(result).toMatchObject({ ok: false, firstBadSeq: 31, checkpointSeq: 40 });
    expect(result.ok || result.reason).toMatch(/rewritten/);
  });

  it('catches the rewrite even when the attacker also deletes or re-signs the later checkpoints', async () => {
    const rewriteFrom = async (db: Level<string, string>, k: number): Promise<string[]> => {
      let prev = (await read(db, k - 1)).hash;
      const hashes: string[] = [];
      for (let seq = k; seq <= N; seq++) {
        const e = await read(db, seq);
        const rewritten = rehash({ ...e, subject: seq === k ? 'someone-else' : e.subject, prevHash: prev });
        await write(db, seq, rewritten);
        prev = rewritten.hash;
        hashes[seq] = rewritten.hash;
      }
      return hashes;
    };
    const deleted = await tamper(async (db) => {
      await rewriteFrom(db, 12);
      for (const seq of [20, 30, 40, 50]) await db.del(`ak!${pad(seq)}`);
    });
    expect(deleted).toMatchObject({ ok: false, firstBadSeq: 11, checkpointSeq: 20 });
    const mallory = generateKeyPair('p256').privateKey;
    const resigned = await tamper(async (db) => {
      const hashes = await rewriteFrom(db, 12);
      for (const seq of [20, 30, 40, 50]) {
        const cpRaw = JSON.parse(await db.get(`ak!${pad(seq)}`)) as {
          hash: string;
          time: string;
          signature: string;
        };
        const hash = hashes[seq]!;
        const signature = sign('sha256', checkpointMessage(seq, hash, new Date(cpRaw.time)), mallory).toString(
          'base64',
        );
        await db.put(`ak!${pad(seq)}`, JSON.stringify({ ...cpRaw, hash, signature }));
      }
    });
    expect(resigned).toMatchObject({ ok: false, firstBadSeq: 11, checkpointSeq: 20 });
    expect(resigned.ok || resigned.reason).toMatch(/invalid signature/);
  });

  it('catches a truncated tail that a checkpoint still names', async () => {
    const result = await tamper(async (db) => {
      for (let seq = 45; seq <= N; seq++) await db.del(entryKey(seq));
    });
    expect(result).toMatchObject({ ok: false, firstBadSeq: 45, checkpointSeq: 50 });
  });
});
