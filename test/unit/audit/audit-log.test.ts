import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { entryHash, GENESIS_HASH } from '../../../src/audit/entry-hash.js';
import { FixedClock } from '../../../src/clock.js';
import { isAgentCaError } from '../../../src/errors.js';
import { generateKeyPair, signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { Signer } from '../../../src/signer/signer.js';
import { createMemoryStore, type MemoryStore } from '../../../src/store/memory-store.js';
import type { CertificateRecord, WriteOp } from '../../../src/store/ports.js';
import type { IssuerId, KeyUri, Serial } from '../../../src/types.js';

const T0 = new Date('2025-01-01T00:00:00.000Z');
const ISSUER = 'intermediate' as IssuerId;
const input = (n: number, extra: Record<string, unknown> = {}) => ({
  actor: 'alice',
  action: 'test.event',
  subject: `s-${n}`,
  details: { n, ...extra },
});

function cert(serial: string): CertificateRecord {
  return {
    serial: serial as Serial,
    issuerId: ISSUER,
    der: Buffer.from([0x30, 0]),
    profile: 'agent',
    subject: 'CN=x',
    notBefore: T0,
    notAfter: T0,
    issuedAt: T0,
    isCa: false,
  };
}

describe('AuditLog', () => {
  let store: MemoryStore;
  let clock: FixedClock;
  let signer: Signer;
  let log: AuditLog;
  beforeEach(async () => {
    store = await createMemoryStore();
    clock = new FixedClock(T0);
    signer = signerFromPrivateKey(generateKeyPair('p256').privateKey, 'softkey:audit' as KeyUri);
    log = new AuditLog({ store, clock, signer, checkpointEvery: 5 });
  });

  it('appends a genesis-linked chain with clock times and normalised details', async () => {
    const e1 = await log.append({
      actor: 'alice',
      action: 'ca.init',
      subject: 'root',
      details: { when: new Date(T0.getTime() + 5), skip: undefined },
    });
    clock.advance(1000);
    const e2 = await log.append({ actor: 'bob', action: 'certificate.issue', subject: '7f01' });
    expect(e1).toMatchObject({
      seq: 1,
      time: T0,
      prevHash: GENESIS_HASH,
      details: { when: '2025-01-01T00:00:00.005Z' },
    });
    expect('skip' in e1.details).toBe(false);
    expect(e1.hash).toBe(entryHash(e1));
    expect(e2).toMatchObject({ seq: 2, prevHash: e1.hash, time: new Date(T0.getTime() + 1000), details: {} });
    expect(await store.audit.get(1)).toEqual(e1);
    expect(await log.head()).toEqual({ seq: 2, hash: e2.hash });
  });

  it('serialises concurrent appends into one chain', async () => {
    const entries = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(input(i))));
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const result = await log.verify();
    expect(result).toEqual({
      ok: true,
      entries: 20,
      checkpoints: 4,
      head: { seq: 20, hash: (await log.head())!.hash },
    });
  });

  it('signs a checkpoint every N entries in the same commit, and on demand', async () => {
    for (let i = 1; i <= 12; i++) await log.append(input(i));
    const cps = await store.audit.listCheckpoints();
    expect(cps.map((c) => c.seq)).toEqual([5, 10]);
    expect(cps[1]!.hash).toBe((await store.audit.get(10))!.hash);
    expect(cps[0]!.keyUri).toBe('softkey:audit');
    const onDemand = await log.checkpoint();
    expect(onDemand?.seq).toBe(12);
    expect((await store.audit.latestCheckpoint())?.seq).toBe(12);
    expect(await new AuditLog({ store: await createMemoryStore(), clock, signer }).checkpoint()).toBeNull();
    await expect(new AuditLog({ store, clock }).checkpoint()).rejects.toThrow(/need a signer/);
  });

  it('puts an act and its audit entry in one atomic commit (appendWith)', async () => {
    const revoke: WriteOp = {
      op: 'putRevocation',
      record: { serial: '7f01' as Serial, issuerId: ISSUER, revokedAt: T0, reason: 'keyCompromise', actor: 'alice' },
    };
    const { entries, result } = await log.appendWith([revoke], {
      actor: 'alice',
      action: 'certificate.revoked',
      subject: '7f01',
      details: { reason: 'keyCompromise' },
    });
    expect(result.changes[0]?.kind).toBe('revoked');
    expect(entries[0]?.seq).toBe(1);
    expect((await store.revocations.get('7f01' as Serial))?.changeSeq).toBe(1);

    // a failing act takes its audit entry down with it, and the seq is not used up
    await store.commit([{ op: 'putCertificate', record: cert('7f02') }]);
    const err = await log
      .appendWith([{ op: 'putCertificate', record: cert('7f02') }], input(2))
      .catch((e: unknown) => e);
    expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_ISSUE_SERIAL_COLLISION');
    expect((await log.head())?.seq).toBe(1);
    expect((await log.append(input(3))).seq).toBe(2);
    expect((await log.verify()).ok).toBe(true);
  });

  it('hands out a prepared append that holds the order until committed or released', async () => {
    const prepared = await log.entriesFor([input(1), input(2)]);
    expect(prepared.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(prepared.ops.map((o) => o.op)).toEqual(['appendAudit', 'appendAudit']);
    let laterDone = false;
    const later = log.append(input(3)).then((e) => {
      laterDone = true;
      return e;
    });
    await new Promise((r) => setImmediate(r));
    expect(laterDone).toBe(false); // waits for the prepared append
    await prepared.commit([{ op: 'putMeta', key: 'k', value: 1 }]);
    expect((await later).seq).toBe(3);
    await expect(prepared.commit()).rejects.toThrow(/already committed/);

    const abandoned = await log.entriesFor(input(4));
    expect(abandoned.entries[0]?.seq).toBe(4);
    abandoned.release();
    abandoned.release();
    expect((await log.append(input(5))).seq).toBe(4);
    expect(await store.meta.get('k')).toBe(1);
  });

  it('recovers when the caller committed prepared ops itself and when another writer moved the head', async () => {
    const prepared = await log.entriesFor(input(1));
    await store.commit([...prepared.ops]);
    prepared.release();
    expect((await log.append(input(2))).seq).toBe(2);
    // a second log over the same store (another writer): both keep appending, no fork
    const other = new AuditLog({ store, clock, signer, checkpointEvery: 5 });
    for (let i = 0; i < 4; i++) {
      await other.append(input(10 + i));
      await log.append(input(20 + i));
    }
    expect((await log.head())?.seq).toBe(10);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 10, checkpoints: 2 });
  });

  it('verify checks checkpoint signatures against the given key and catches a missing checkpoint', async () => {
    for (let i = 1; i <= 10; i++) await log.append(input(i));
    const stranger = signerFromPrivateKey(generateKeyPair('p256').privateKey, 'softkey:x' as KeyUri);
    expect(await log.verify({ publicKeyInfo: stranger.publicKeyInfo })).toMatchObject({
      ok: false,
      firstBadSeq: 1,
      checkpointSeq: 5,
    });
    // a range after a good checkpoint starts trusting from there
    expect(await log.verify({ fromSeq: 6 })).toMatchObject({ ok: true, entries: 5, checkpoints: 1 });
    expect(await log.verify({ fromSeq: 3, toSeq: 7 })).toMatchObject({ ok: true, entries: 5, checkpoints: 1 });
    // a log written every 5 verified as if every 3 was required: the checkpoint at 3 is missing
    expect(await log.verify({ requireCheckpointEvery: 3 })).toMatchObject({
      ok: false,
      firstBadSeq: 1,
      checkpointSeq: 3,
    });
    await expect(new AuditLog({ store, clock }).verify()).rejects.toThrow(/publicKeyInfo/);
  });

  it('exports JSON lines filtered by time, subject, agent and actor', async () => {
    for (let i = 1; i <= 6; i++) {
      await log.append({
        actor: i % 2 ? 'alice' : 'risk-engine',
        action: 'x',
        subject: `s-${i % 3}`,
        details: { agentId: i <= 3 ? 'bot-a' : 'bot-b' },
      });
      clock.advance(60_000);
    }
    const lines = async (it: AsyncIterable<string>): Promise<Array<Record<string, unknown>>> => {
      const out: Array<Record<string, unknown>> = [];
      for await (const l of it) {
        expect(l.endsWith('\n')).toBe(true);
        out.push(JSON.parse(l) as Record<string, unknown>);
      }
      return out;
    };
    const all = await lines(log.exportJsonLines());
    expect(all).toHaveLength(6);
    expect(all[0]).toMatchObject({ seq: 1, time: '2025-01-01T00:00:00.000Z', actor: 'alice', prevHash: GENESIS_HASH });
    const seqs = (rows: Array<Record<string, unknown>>): unknown[] => rows.map((r) => r.seq);
    expect(
      seqs(
        await lines(
          log.exportJsonLines({ from: new Date(T0.getTime() + 60_000), to: new Date(T0.getTime() + 180_000) }),
        ),
      ),
    ).toEqual([2, 3, 4]);
    expect(seqs(await lines(log.exportJsonLines({ agentId: 'bot-b' })))).toEqual([4, 5, 6]);
    expect(seqs(await lines(log.exportJsonLines({ subject: ['s-1', 's-2'], actor: 'alice' })))).toEqual([1, 5]);
  });
});
