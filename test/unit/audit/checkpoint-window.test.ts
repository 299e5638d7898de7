/**
 * D4: the newest entries are covered by a signed checkpoint within a bounded time, and a
 * checkpoint kept outside the store catches a rewrite or truncation after the last stored one.
 * D5: a corrupt stored entry is reported as the first bad seq, never thrown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { checkpointFromJson, checkpointToJson } from '../../../src/audit/checkpoint.js';
import { hashEntry } from '../../../src/audit/entry-hash.js';
import { FixedClock } from '../../../src/clock.js';
import { generateKeyPair, signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { Signer } from '../../../src/signer/signer.js';
import { createMemoryStore, type MemoryStore } from '../../../src/store/memory-store.js';
import type { AuditEntry } from '../../../src/store/ports.js';
import type { KeyUri } from '../../../src/types.js';

const T0 = new Date('2031-01-01T00:00:00.000Z');
const input = (n: number) => ({ actor: 'alice', action: 'test.event', subject: `s-${n}`, details: { n } });

/** The memory store's own tables, edited directly the way a raw database edit would (no agent-ca code on the write path). */
function raw(store: MemoryStore): { entries: AuditEntry[]; checkpoints: Map<number, unknown> } {
  return store as unknown as { entries: AuditEntry[]; checkpoints: Map<number, unknown> };
}

/** Rewrites entries seq..head consistently (every hash recomputed), as an attacker with the source would. */
function rewriteTail(store: MemoryStore, fromSeq: number, change: (e: AuditEntry) => AuditEntry): void {
  const { entries } = raw(store);
  let prev = entries[fromSeq - 2]!.hash;
  for (let i = fromSeq - 1; i < entries.length; i++) {
    const r = hashEntry({ ...change(entries[i]!), prevHash: prev });
    entries[i] = r;
    prev = r.hash;
  }
}

describe('audit checkpoints within a bounded time (D4)', () => {
  let store: MemoryStore;
  let clock: FixedClock;
  let signer: Signer;
  beforeEach(async () => {
    store = await createMemoryStore();
    clock = new FixedClock(T0);
    signer = signerFromPrivateKey(generateKeyPair('p256').privateKey, 'softkey:audit' as KeyUri);
  });
  afterEach(async () => {
    await store.close();
  });

  it('with interval 0 every group commit carries a checkpoint over its head, so a rewrite of the last entry is caught', async () => {
    const log = new AuditLog({ store, clock, signer, checkpointIntervalMs: 0 });
    for (let i = 1; i <= 7; i++) {
      await log.append(input(i));
      expect((await store.audit.latestCheckpoint())?.seq).toBe(i);
    }
    rewriteTail(store, 7, (e) => ({ ...e, details: { n: 'rewritten' } }));
    expect(await log.verify()).toMatchObject({ ok: false, firstBadSeq: 7 });
  });

  it('with an interval, a background checkpoint covers the head soon after the appends', async () => {
    const log = new AuditLog({ store, clock, signer, checkpointIntervalMs: 50 });
    await log.append(input(1));
    await log.append(input(2)); // the clock has not moved: not due inside the commit
    expect(await store.audit.latestCheckpoint()).toBeUndefined();
    const deadline = Date.now() + 5_000;
    while ((await store.audit.latestCheckpoint())?.seq !== 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect((await store.audit.latestCheckpoint())?.seq).toBe(2);
    await log.close();
  });

  it('close() signs a last checkpoint over an uncovered head', async () => {
    const log = new AuditLog({ store, clock, signer, checkpointIntervalMs: 60_000 });
    await log.append(input(1));
    await log.append(input(2));
    expect(await store.audit.latestCheckpoint()).toBeUndefined();
    await log.close();
    expect((await store.audit.latestCheckpoint())?.seq).toBe(2);
  });

  it('an entry older than the interval that no checkpoint covers (a forged append) fails verify; a future-dated one too', async () => {
    const log = new AuditLog({ store, clock, signer, checkpointIntervalMs: 1000 });
    await log.append(input(1));
    await log.checkpoint();
    const head = (await log.head())!;
    const { entries } = raw(store);
    entries[1] = hashEntry({
      seq: 2,
      time: clock.now(),
      actor: 'mallory',
      action: 'revoke',
      subject: 'x',
      details: {},
      prevHash: head.hash,
    });
    expect(await log.verify()).toMatchObject({ ok: true }); // within the window it may still be waiting for its checkpoint
    clock.advance(10_000);
    expect(await log.verify()).toMatchObject({ ok: false, firstBadSeq: 2 });
    entries[1] = hashEntry({
      seq: 2,
      time: new Date(clock.now().getTime() + 3_600_000),
      actor: 'mallory',
      action: 'revoke',
      subject: 'x',
      details: {},
      prevHash: head.hash,
    });
    const future = await log.verify();
    expect(future).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(future.ok || future.reason).toMatch(/future/);
    await log.close();
  });

  it('verify --against a kept checkpoint catches a consistent rewrite and a truncation after the last stored checkpoint', async () => {
    const log = new AuditLog({ store, clock, signer, checkpointEvery: 1000 });
    for (let i = 1; i <= 10; i++) await log.append(input(i));
    const kept = checkpointFromJson(
      JSON.parse(JSON.stringify({ checkpoint: checkpointToJson((await log.checkpoint())!) })),
    );
    expect(kept.seq).toBe(10);
    expect(await log.verify({ against: kept })).toMatchObject({ ok: true });

    // the only stored checkpoint is the one at 10; delete it, rewrite 6..10: the store alone cannot tell
    raw(store).checkpoints.delete(10);
    rewriteTail(store, 6, (e) => ({ ...e, subject: 'someone-else' }));
    expect(await log.verify()).toMatchObject({ ok: true });
    expect(await log.verify({ against: kept })).toMatchObject({ ok: false, firstBadSeq: 1, checkpointSeq: 10 });

    // truncation: entries 9 and 10 gone
    raw(store).entries.length = 8;
    const cut = await log.verify({ against: kept });
    expect(cut).toMatchObject({ ok: false, firstBadSeq: 9 });
    expect(cut.ok || cut.reason).toMatch(/truncated/);
  });

  it('refuses a kept checkpoint signed by another key', async () => {
    const log = new AuditLog({ store, clock, signer });
    await log.append(input(1));
    const other = new AuditLog({
      store: await createMemoryStore(),
      clock,
      signer: signerFromPrivateKey(generateKeyPair('p256').privateKey, 'softkey:x' as KeyUri),
    });
    await other.append(input(1));
    const foreign = (await other.checkpoint())!;
    await expect(log.verify({ against: foreign })).rejects.toMatchObject({ code: 'ACA_ERR_INPUT_INVALID' });
  });
});
