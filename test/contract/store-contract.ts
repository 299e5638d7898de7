/**
 * The ONE Store contract suite. Every adapter (memory, LevelDB, PostgreSQL) runs it:
 *
 *   runStoreContract('level', async () => ({ store, cleanup, reopen }))
 *
 * `reopen` (optional) closes the store and opens it again on the same data; adapters that
 * persist provide it and get the durability checks (CRL numbers, change seqs, audit head).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashEntry, GENESIS_HASH } from '../../src/audit/entry-hash.js';
import { isAgentCaError, type ErrorCodeName } from '../../src/errors.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  CertificateRecord,
  CrlRecord,
  OcspResponseRecord,
  RevocationReason,
  Store,
  WriteOp,
} from '../../src/store/ports.js';
import type { IssuerId, KeyUri, Serial } from '../../src/types.js';

export interface StoreHarness {
  store: Store;
  cleanup: () => Promise<void>;
  /** Close and open again on the same data; returns the reopened store. */
  reopen?: () => Promise<Store>;
}

const T0 = new Date('2025-01-01T00:00:00.000Z');
const DAY = 86_400_000;
const at = (days: number): Date => new Date(T0.getTime() + days * DAY);
const ROOT = 'root' as IssuerId;
const INT = 'intermediate' as IssuerId;
const serial = (i: number): Serial => `7f${i.toString(16).padStart(30, '0')}` as Serial;

function cert(i: number, o: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    serial: serial(i),
    issuerId: INT,
    der: Buffer.from([0x30, 0x03, 0x02, 0x01, i & 0xff]),
    profile: 'agent',
    subject: `CN=agent-${i},O=Example`,
    notBefore: T0,
    notAfter: at(90),
    issuedAt: T0,
    isCa: false,
    ...o,
  };
}

const putCert = (r: CertificateRecord): WriteOp => ({ op: 'putCertificate', record: r });
const revoke = (
  s: Serial,
  reason: RevocationReason = 'keyCompromise',
  issuerId: IssuerId = INT,
  when = at(1),
  changeAt?: Date,
): WriteOp => ({
  op: 'putRevocation',
  record: { serial: s, issuerId, revokedAt: when, reason, actor: 'alice' },
  ...(changeAt ? { at: changeAt } : {}),
});
const release = (s: Serial, issuerId: IssuerId = INT, when = at(2)): WriteOp => ({
  op: 'deleteRevocation',
  serial: s,
  issuerId,
  at: when,
  actor: 'alice',
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function expectCode(p: Promise<unknown>, code: ErrorCodeName): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ACA_ERR_${code}`).toBeDefined();
  expect(isAgentCaError(caught) ? caught.code : String(caught)).toBe(`ACA_ERR_${code}`);
}

/** A correctly linked run of audit entries after `head`. */
function auditChain(n: number, head: { seq: number; hash: string } | null = null, t = T0): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = head;
  for (let k = 0; k < n; k++) {
    const seq = (prev?.seq ?? 0) + 1;
    const e = hashEntry({
      seq,
      time: new Date(t.getTime() + seq * 1000),
      actor: 'system',
      action: 'test.event',
      subject: `s-${seq}`,
      details: { k: seq, nested: { b: [1, 'x'], a: 'é' } },
      prevHash: prev?.hash ?? GENESIS_HASH,
    });
    out.push(e);
    prev = { seq, hash: e.hash };
  }
  return out;
}

function checkpointFor(e: AuditEntry): AuditCheckpoint {
  return {
    seq: e.seq,
    hash: e.hash,
    time: e.time,
    signature: Buffer.from('sig'),
    algorithm: 'ecdsaWithSHA256',
    keyUri: 'softkey:audit' as KeyUri,
  };
}

function crl(number: bigint, kind: 'full' | 'delta', issuerId: IssuerId = INT, baseNumber?: bigint): CrlRecord {
  return {
    issuerId,
    number,
    kind,
    ...(baseNumber !== undefined ? { baseNumber } : {}),
    der: Buffer.from(`crl-${number}`),
    thisUpdate: T0,
    nextUpdate: at(1),
  };
}

function ocsp(
  i: number,
  nextUpdateDays: number,
  issuerId: IssuerId = INT,
  hashAlgorithm: 'sha1' | 'sha256' = 'sha1',
): OcspResponseRecord {
  return {
    issuerId,
    serial: serial(i),
    hashAlgorithm,
    der: Buffer.from(`ocsp-${i}-${nextUpdateDays}-${hashAlgorithm}`),
    thisUpdate: T0,
    nextUpdate: at(nextUpdateDays),
  };
}

export function runStoreContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    describe('certificates', () => {
      it('round-trips a full record and a minimal one (absent optionals stay absent)', async () => {
        const full = cert(1, {
          agentId: 'trading-bot',
          tenant: 'acme',
          keyUri: 'awskms:arn:aws:kms:eu-west-1:1:key/x' as KeyUri,
          renewalOf: serial(0),
          isCa: false,
        });
        const minimal = cert(2, { isCa: true, issuerId: ROOT });
        await store.commit([putCert(full), putCert(minimal)]);
        expect(await store.certificates.get(full.serial)).toEqual(full);
        const got = await store.certificates.get(minimal.serial);
        expect(got).toEqual(minimal);
        expect(got && 'agentId' in got).toBe(false);
        expect(got?.der).toBeInstanceOf(Buffer);
        expect(await store.certificates.has(full.serial)).toBe(true);
        expect(await store.certificates.has(serial(99))).toBe(false);
        expect(await store.certificates.get(serial(99))).toBeUndefined();
        expect(await store.certificates.count()).toBe(2);
      });

      it('hands out copies: mutating a returned record does not change the store', async () => {
        await store.commit([putCert(cert(1))]);
        const a = await store.certificates.get(serial(1));
        a!.der[0] = 0xff;
        a!.notAfter.setTime(0);
        const b = await store.certificates.get(serial(1));
        expect(b!.der[0]).toBe(0x30);
        expect(b!.notAfter).toEqual(at(90));
      });

      it('lists by agent and by tenant, with ids that need escaping kept apart', async () => {
        await store.commit([
          putCert(cert(1, { agentId: 'a', tenant: 'acme/eu é' })),
          putCert(cert(2, { agentId: 'a', tenant: 'globex' })),
          putCert(cert(3, { agentId: 'a!b', tenant: 'acme/eu é' })),
          putCert(cert(4, { agentId: 'ab' })),
          putCert(cert(5)),
        ]);
        const serials = (rs: CertificateRecord[]): string[] => rs.map((r) => r.serial).sort();
        expect(serials(await store.certificates.listByAgent('a'))).toEqual([serial(1), serial(2)]);
        expect(serials(await store.certificates.listByAgent('a!b'))).toEqual([serial(3)]);
        expect(serials(await store.certificates.listByAgent('ab'))).toEqual([serial(4)]);
        expect(await store.certificates.listByAgent('nobody')).toEqual([]);
        expect(serials(await store.certificates.listByTenant('acme/eu é'))).toEqual([serial(1), serial(3)]);
        expect(serials(await store.certificates.listByTenant('acme'))).toEqual([]);
      });

      it('lists certificates expiring before a date in notAfter order, with from and limit', async () => {
        await store.commit([
          putCert(cert(1, { notAfter: at(30) })),
          putCert(cert(2, { notAfter: at(10) })),
          putCert(cert(3, { notAfter: at(20) })),
          putCert(cert(4, { notAfter: at(40) })),
        ]);
        const s = (rs: CertificateRecord[]): string[] => rs.map((r) => r.serial);
        expect(s(await store.certificates.listExpiringBefore(at(30)))).toEqual([serial(2), serial(3)]);
        expect(s(await store.certificates.listExpiringBefore(at(31)))).toEqual([serial(2), serial(3), serial(1)]);
        expect(s(await store.certificates.listExpiringBefore(at(100), { from: at(20), limit: 2 }))).toEqual([
          serial(3),
          serial(1),
        ]);
      });

      it('iterates all certificates or one issuer, in serial order', async () => {
        await store.commit([putCert(cert(3)), putCert(cert(1, { issuerId: ROOT, isCa: true })), putCert(cert(2))]);
        expect((await collect(store.certificates.iterate())).map((r) => r.serial)).toEqual([
          serial(1),
          serial(2),
          serial(3),
        ]);
        expect((await collect(store.certificates.iterate({ issuerId: INT }))).map((r) => r.serial)).toEqual([
          serial(2),
          serial(3),
        ]);
        expect(await collect(store.certificates.iterate({ issuerId: 'other' as IssuerId }))).toEqual([]);
      });

      it('refuses a malformed serial', async () => {
        await expectCode(store.commit([putCert(cert(1, { serial: 'XYZ' as Serial }))]), 'INPUT_SERIAL_MALFORMED');
        await expectCode(
          store.commit([putCert(cert(1, { serial: 'a'.repeat(41) as Serial }))]),
          'INPUT_SERIAL_MALFORMED',
        );
      });
    });

    describe('atomic commit', () => {
      it('a serial collision refuses the whole batch: nothing of it is written, no seq is used up', async () => {
        await store.commit([putCert(cert(1))]);
        const batch: WriteOp[] = [
          { op: 'putMeta', key: 'k', value: { v: 1 } },
          putCert(cert(2)),
          revoke(serial(1)),
          ...auditChain(1).map((entry): WriteOp => ({ op: 'appendAudit', entry })),
          { op: 'putOcspResponse', record: ocsp(2, 1) },
          { op: 'putCrl', record: crl(5n, 'full') },
          putCert(cert(1, { subject: 'CN=impostor' })),
        ];
        await expectCode(store.commit(batch), 'ISSUE_SERIAL_COLLISION');
        expect(await store.meta.get('k')).toBeUndefined();
        expect(await store.certificates.has(serial(2))).toBe(false);
        expect((await store.certificates.get(serial(1)))?.subject).toBe('CN=agent-1,O=Example');
        expect(await store.revocations.get(serial(1))).toBeUndefined();
        expect(await store.revocations.lastChangeSeq()).toBe(0);
        expect(await store.audit.head()).toBeNull();
        expect(await store.ocspResponses.get(INT, serial(2))).toBeUndefined();
        expect(await store.crls.latest(INT, 'full')).toBeUndefined();
        expect(await store.certificates.count()).toBe(1);
        // the same batch without the duplicate lands whole, and the seq starts at 1 (no gap)
        const { changes } = await store.commit(batch.slice(0, -1));
        expect(changes.map((c) => c.seq)).toEqual([1]);
        expect(await store.meta.get('k')).toEqual({ v: 1 });
        expect(await store.certificates.count()).toBe(2);
        expect((await store.audit.head())?.seq).toBe(1);
        expect((await store.crls.latest(INT, 'full'))?.number).toBe(5n);
      });

      it('refuses a serial repeated inside one batch', async () => {
        await expectCode(store.commit([putCert(cert(1)), putCert(cert(1))]), 'ISSUE_SERIAL_COLLISION');
        expect(await store.certificates.count()).toBe(0);
      });

      it('of concurrent commits of one serial exactly one wins', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, k) => store.commit([putCert(cert(1, { subject: `CN=${k}` }))])),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected.every((r) => isAgentCaError(r.reason) && r.reason.is('ISSUE_SERIAL_COLLISION'))).toBe(true);
        expect(await store.certificates.count()).toBe(1);
      });
    });

    describe('revocations and the status change journal', () => {
      it('journals a revocation with the next seq and stamps the record with it', async () => {
        const { changes } = await store.commit([revoke(serial(1), 'keyCompromise', INT, at(1))]);
        expect(changes).toEqual([
          { seq: 1, serial: serial(1), issuerId: INT, kind: 'revoked', at: at(1), reason: 'keyCompromise' },
        ]);
        expect(await store.revocations.get(serial(1))).toEqual({
          serial: serial(1),
          issuerId: INT,
          revokedAt: at(1),
          reason: 'keyCompromise',
          actor: 'alice',
          changeSeq: 1,
        });
        expect(await store.revocations.lastChangeSeq()).toBe(1);
      });

      it('hold -> release removes the record and journals held, released', async () => {
        await store.commit([revoke(serial(1), 'certificateHold')]);
        expect((await store.revocations.get(serial(1)))?.reason).toBe('certificateHold');
        const { changes } = await store.commit([release(serial(1))]);
        expect(changes.map((c) => [c.seq, c.kind, c.reason])).toEqual([[2, 'released', 'certificateHold']]);
        expect(await store.revocations.get(serial(1))).toBeUndefined();
        expect(await collect(store.revocations.iterate({ issuerId: INT }))).toEqual([]);
        const kinds = (await collect(store.revocations.changesSince(INT, 0))).map((c) => c.kind);
        expect(kinds).toEqual(['held', 'released']);
      });

      it('hold -> revoke, reason upgrade, and refuses what RFC 5280 does not allow', async () => {
        await store.commit([
          revoke(serial(1), 'certificateHold'),
          revoke(serial(2), 'superseded'),
          revoke(serial(3), 'keyCompromise'),
        ]);
        await store.commit([revoke(serial(1), 'keyCompromise', INT, at(3))]);
        await store.commit([revoke(serial(2), 'keyCompromise', INT, at(1), at(5))]);
        const changes = await collect(store.revocations.changesSince(INT, 3));
        expect(changes.map((c) => [c.seq, c.serial, c.kind, c.reason])).toEqual([
          [4, serial(1), 'revoked', 'keyCompromise'],
          [5, serial(2), 'reason-changed', 'keyCompromise'],
        ]);
        expect(changes[1]!.at).toEqual(at(5));
        expect((await store.revocations.get(serial(2)))?.changeSeq).toBe(5);
        await expectCode(store.commit([revoke(serial(3), 'certificateHold')]), 'REVOKE_INVALID_STATE');
        await expectCode(store.commit([release(serial(3))]), 'REVOKE_INVALID_STATE');
        await expectCode(store.commit([release(serial(9))]), 'REVOKE_NOT_HELD');
        await expectCode(store.commit([revoke(serial(9), 'removeFromCRL')]), 'REVOKE_INVALID_STATE');
        await expectCode(store.commit([revoke(serial(9), 'bogus' as RevocationReason)]), 'INPUT_REASON_UNKNOWN');
        expect(await store.revocations.lastChangeSeq()).toBe(5);
      });

      it('sees earlier ops of the same batch (hold then release in one commit)', async () => {
        const { changes } = await store.commit([revoke(serial(1), 'certificateHold'), release(serial(1))]);
        expect(changes.map((c) => c.kind)).toEqual(['held', 'released']);
        expect(await store.revocations.get(serial(1))).toBeUndefined();
      });

      it('changesSince filters by issuer and returns seq order; seqs are global and gap-free', async () => {
        for (let i = 1; i <= 6; i++) await store.commit([revoke(serial(i), 'keyCompromise', i % 2 ? ROOT : INT)]);
        const root = await collect(store.revocations.changesSince(ROOT, 0));
        expect(root.map((c) => c.seq)).toEqual([1, 3, 5]);
        expect((await collect(store.revocations.changesSince(INT, 2))).map((c) => c.seq)).toEqual([4, 6]);
        expect(await collect(store.revocations.changesSince(INT, 6))).toEqual([]);
        expect(await store.revocations.lastChangeSeq()).toBe(6);
        expect((await collect(store.revocations.iterate({ issuerId: ROOT }))).map((r) => r.serial).sort()).toEqual([
          serial(1),
          serial(3),
          serial(5),
        ]);
      });

      it('assigns unique, contiguous seqs under concurrent commits', async () => {
        const results = await Promise.all(Array.from({ length: 25 }, (_, i) => store.commit([revoke(serial(i))])));
        const seqs = results.flatMap((r) => r.changes.map((c) => c.seq)).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      });
    });

    describe('OCSP responses', () => {
      it('stores, replaces, and lists what is due for refresh, earliest first', async () => {
        await store.commit([
          { op: 'putOcspResponse', record: ocsp(1, 5) },
          { op: 'putOcspResponse', record: ocsp(2, 3) },
          { op: 'putOcspResponse', record: ocsp(3, 4, ROOT) },
        ]);
        expect(await store.ocspResponses.get(INT, serial(1))).toEqual(ocsp(1, 5));
        expect(await store.ocspResponses.get(ROOT, serial(1))).toBeUndefined();
        const due = async (days: number, limit?: number): Promise<string[]> =>
          (await store.ocspResponses.listDueBefore(at(days), limit === undefined ? {} : { limit })).map(
            (r) => r.serial,
          );
        expect(await due(5)).toEqual([serial(2), serial(3)]);
        expect(await due(6, 1)).toEqual([serial(2)]);
        // refresh serial 2: its old due-date must no longer list it
        await store.commit([{ op: 'putOcspResponse', record: ocsp(2, 10) }]);
        expect(await due(6)).toEqual([serial(3), serial(1)]);
        expect((await store.ocspResponses.get(INT, serial(2)))?.der.toString()).toBe('ocsp-2-10-sha1');
        expect((await collect(store.ocspResponses.iterate(INT))).map((r) => r.serial).sort()).toEqual([
          serial(1),
          serial(2),
        ]);
      });

      it('keeps one response per CertID hash (RFC 6960 §4.1.1: the response echoes the request CertID)', async () => {
        await store.commit([
          { op: 'putOcspResponse', record: ocsp(1, 5) },
          { op: 'putOcspResponse', record: ocsp(1, 5, INT, 'sha256') },
        ]);
        expect((await store.ocspResponses.get(INT, serial(1)))?.der.toString()).toBe('ocsp-1-5-sha1');
        expect((await store.ocspResponses.get(INT, serial(1), 'sha256'))?.der.toString()).toBe('ocsp-1-5-sha256');
        await store.commit([{ op: 'putOcspResponse', record: ocsp(1, 9, INT, 'sha256') }]);
        expect((await store.ocspResponses.get(INT, serial(1)))?.der.toString()).toBe('ocsp-1-5-sha1');
        expect((await store.ocspResponses.listDueBefore(at(6))).map((r) => r.hashAlgorithm)).toEqual(['sha1']);
      });
    });

    describe('CRLs', () => {
      it('hands out one monotonic CRL number per issuer, unique under concurrency', async () => {
        expect(await store.crls.nextCrlNumber(INT)).toBe(1n);
        expect(await store.crls.nextCrlNumber(INT)).toBe(2n);
        expect(await store.crls.nextCrlNumber(ROOT)).toBe(1n);
        const many = await Promise.all(Array.from({ length: 30 }, () => store.crls.nextCrlNumber(INT)));
        expect([...many].sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 3)));
      });

      it('keeps full and delta CRLs, latest per kind, and never hands out a stored number', async () => {
        const n1 = await store.crls.nextCrlNumber(INT);
        await store.commit([{ op: 'putCrl', record: crl(n1, 'full') }]);
        const n2 = await store.crls.nextCrlNumber(INT);
        await store.commit([{ op: 'putCrl', record: crl(n2, 'delta', INT, n1) }]);
        expect((await store.crls.latest(INT, 'full'))?.number).toBe(1n);
        expect(await store.crls.latest(INT, 'delta')).toEqual(crl(2n, 'delta', INT, 1n));
        expect(await store.crls.latest(ROOT, 'full')).toBeUndefined();
        // an imported CRL with a higher number raises the sequence; an older one is not "latest"
        const big = 2n ** 100n;
        await store.commit([{ op: 'putCrl', record: crl(big, 'full') }]);
        await store.commit([{ op: 'putCrl', record: crl(big - 1n, 'full') }]);
        expect((await store.crls.latest(INT, 'full'))?.number).toBe(big);
        expect(await store.crls.get(INT, big - 1n)).toEqual(crl(big - 1n, 'full'));
        expect(await store.crls.get(INT, 77n)).toBeUndefined();
        expect(await store.crls.counter(INT)).toBe(big);
        expect(await store.crls.nextCrlNumber(INT)).toBe(big + 1n);
        expect(await store.crls.counter(INT)).toBe(big + 1n);
        expect(await store.crls.counter(ROOT)).toBe(0n);
        expect((await collect(store.crls.iterate(INT))).map((r) => [r.number, r.kind])).toEqual([
          [1n, 'full'],
          [2n, 'delta'],
          [big - 1n, 'full'],
          [big, 'full'],
        ]);
        expect(await collect(store.crls.iterate(ROOT))).toEqual([]);
      });

      it('refuses a delta without a base below it and a full CRL with one', async () => {
        await expectCode(store.commit([{ op: 'putCrl', record: crl(3n, 'delta') }]), 'INPUT_INVALID');
        await expectCode(store.commit([{ op: 'putCrl', record: crl(3n, 'delta', INT, 3n) }]), 'INPUT_INVALID');
        await expectCode(store.commit([{ op: 'putCrl', record: crl(3n, 'full', INT, 1n) }]), 'INPUT_INVALID');
      });
    });

    describe('audit', () => {
      it('appends linked entries, reads head/get/ranges, and keeps checkpoints', async () => {
        expect(await store.audit.head()).toBeNull();
        const entries = auditChain(6);
        await store.commit(entries.slice(0, 3).map((entry): WriteOp => ({ op: 'appendAudit', entry })));
        await store.commit([
          ...entries.slice(3).map((entry): WriteOp => ({ op: 'appendAudit', entry })),
          { op: 'putAuditCheckpoint', checkpoint: checkpointFor(entries[2]!) },
          { op: 'putAuditCheckpoint', checkpoint: checkpointFor(entries[5]!) },
        ]);
        expect(await store.audit.head()).toEqual({ seq: 6, hash: entries[5]!.hash });
        expect(await store.audit.get(4)).toEqual(entries[3]);
        expect(await store.audit.get(7)).toBeUndefined();
        expect(await collect(store.audit.iterate())).toEqual(entries);
        expect((await collect(store.audit.iterate({ fromSeq: 2, toSeq: 4 }))).map((e) => e.seq)).toEqual([2, 3, 4]);
        // time bounds are inclusive; entry k has time T0 + k s
        const byTime = await collect(
          store.audit.iterate({ fromTime: new Date(T0.getTime() + 2000), toTime: new Date(T0.getTime() + 5000) }),
        );
        expect(byTime.map((e) => e.seq)).toEqual([2, 3, 4, 5]);
        expect(
          (await collect(store.audit.iterate({ fromTime: new Date(T0.getTime() + 2000), toSeq: 3 }))).map((e) => e.seq),
        ).toEqual([2, 3]);
        expect((await store.audit.listCheckpoints()).map((c) => c.seq)).toEqual([3, 6]);
        expect(await store.audit.latestCheckpoint()).toEqual(checkpointFor(entries[5]!));
        expect((await collect(store.audit.iterateCheckpoints({ fromSeq: 4 }))).map((c) => c.seq)).toEqual([6]);
        expect((await store.audit.listCheckpoints({ toSeq: 5 })).map((c) => c.seq)).toEqual([3]);
      });

      it('refuses an entry that does not extend the head, writing nothing of its batch', async () => {
        const [e1, e2] = auditChain(2);
        await expectCode(store.commit([{ op: 'appendAudit', entry: e2! }]), 'AUDIT_CHAIN_BROKEN');
        await expectCode(
          store.commit([{ op: 'appendAudit', entry: { ...e1!, prevHash: 'ab'.repeat(32) } }]),
          'AUDIT_CHAIN_BROKEN',
        );
        await store.commit([{ op: 'appendAudit', entry: e1! }]);
        await expectCode(
          store.commit([
            { op: 'putMeta', key: 'x', value: 1 },
            { op: 'appendAudit', entry: e1! },
          ]),
          'AUDIT_CHAIN_BROKEN',
        );
        expect(await store.meta.get('x')).toBeUndefined();
        const forked = auditChain(1, { seq: 1, hash: createHash('sha256').update('other').digest('hex') })[0]!;
        await expectCode(store.commit([{ op: 'appendAudit', entry: forked }]), 'AUDIT_CHAIN_BROKEN');
        await store.commit([{ op: 'appendAudit', entry: e2! }]);
        expect((await store.audit.head())?.seq).toBe(2);
      });
    });

    describe('meta', () => {
      it('gets, puts, overwrites and deletes small JSON values', async () => {
        expect(await store.meta.get('ca/config')).toBeUndefined();
        await store.meta.put('ca/config', { issuer: 'x', n: [1, 2] });
        await store.meta.put('token!1', 'h');
        expect(await store.meta.get('ca/config')).toEqual({ issuer: 'x', n: [1, 2] });
        await store.commit([{ op: 'putMeta', key: 'ca/config', value: false }]);
        expect(await store.meta.get('ca/config')).toBe(false);
        expect(await store.meta.get('token!1')).toBe('h');
        await store.commit([{ op: 'deleteMeta', key: 'token!1' }]);
        expect(await store.meta.get('token!1')).toBeUndefined();
        await store.meta.put('a/b é', [1]);
        expect(await collect(store.meta.iterate())).toEqual([
          { key: 'a/b é', value: [1] },
          { key: 'ca/config', value: false },
        ]);
      });
    });

    describe('streaming', () => {
      it('streams 10,000 certificates, revocations and changes in order, and stops early cleanly', async () => {
        const N = 10_000;
        for (let b = 0; b < N; b += 1000) {
          const ops: WriteOp[] = [];
          for (let i = b; i < b + 1000; i++)
            ops.push(putCert(cert(i, { der: Buffer.alloc(64, 1) })), revoke(serial(i)));
          await store.commit(ops, { sync: false });
        }
        let n = 0;
        let last = '';
        for await (const r of store.certificates.iterate({ issuerId: INT })) {
          expect(r.serial > last).toBe(true);
          last = r.serial;
          n++;
        }
        expect(n).toBe(N);
        expect(await store.certificates.count()).toBe(N);
        let revs = 0;
        for await (const r of store.revocations.iterate({ issuerId: INT }))
          revs += r.reason === 'keyCompromise' ? 1 : 0;
        expect(revs).toBe(N);
        let prevSeq = 5000;
        for await (const c of store.revocations.changesSince(INT, 5000)) {
          expect(c.seq).toBe(prevSeq + 1);
          prevSeq = c.seq;
        }
        expect(prevSeq).toBe(N);
        let taken = 0;
        for await (const _ of store.certificates.iterate()) if (++taken === 10) break;
        expect(taken).toBe(10);
        await store.commit([putCert(cert(N + 1))]);
        expect(await store.certificates.count()).toBe(N + 1);
      });
    });

    describe('lifecycle', () => {
      it('refuses use after close with STORE_UNAVAILABLE', async () => {
        await store.close();
        await expectCode(store.certificates.get(serial(1)), 'STORE_UNAVAILABLE');
        await expectCode(store.commit([putCert(cert(1))]), 'STORE_UNAVAILABLE');
      });

      it('keeps everything, the CRL number and the change seq across a reopen', async () => {
        if (!h.reopen) return; // a store that does not persist has nothing to prove here
        const entries = auditChain(3);
        await store.commit([
          putCert(cert(1, { agentId: 'a', tenant: 't' })),
          revoke(serial(1)),
          ...entries.map((entry): WriteOp => ({ op: 'appendAudit', entry })),
          { op: 'putAuditCheckpoint', checkpoint: checkpointFor(entries[2]!) },
          { op: 'putMeta', key: 'k', value: { a: 1 } },
          { op: 'putOcspResponse', record: ocsp(1, 1) },
        ]);
        const n = [
          await store.crls.nextCrlNumber(INT),
          await store.crls.nextCrlNumber(INT),
          await store.crls.nextCrlNumber(INT),
        ];
        await store.commit([{ op: 'putCrl', record: crl(n[0]!, 'full') }]);
        store = await h.reopen();
        // numbers handed out but never stored (2, 3) are not reused
        expect(await store.crls.nextCrlNumber(INT)).toBe(4n);
        expect((await store.crls.latest(INT, 'full'))?.number).toBe(1n);
        expect(await store.certificates.count()).toBe(1);
        expect((await store.certificates.listByAgent('a')).map((r) => r.serial)).toEqual([serial(1)]);
        expect((await store.revocations.get(serial(1)))?.changeSeq).toBe(1);
        expect(await store.revocations.lastChangeSeq()).toBe(1);
        expect(await store.audit.head()).toEqual({ seq: 3, hash: entries[2]!.hash });
        expect((await store.audit.latestCheckpoint())?.seq).toBe(3);
        expect(await store.meta.get('k')).toEqual({ a: 1 });
        expect((await store.ocspResponses.get(INT, serial(1)))?.der.toString()).toBe('ocsp-1-1-sha1');
        const { changes } = await store.commit([
          revoke(serial(2)),
          ...auditChain(1, { seq: 3, hash: entries[2]!.hash }).map((entry): WriteOp => ({ op: 'appendAudit', entry })),
        ]);
        expect(changes[0]!.seq).toBe(2);
        await expectCode(store.commit([putCert(cert(1))]), 'ISSUE_SERIAL_COLLISION');
      });
    });
  });
}
