/**
 * LevelStore reads what a commit's plan needs (certificate existence, current revocation,
 * current OCSP response) under the commit mutex, synchronously (classic-level's getSync).
 * These commits are all started without waiting for each other, so they queue on the mutex
 * while the batches ahead of them are written: each plan must see every batch committed
 * before it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../src/errors.js';
import { openLevelStore, type LevelStore } from '../../src/store/level/level-store.js';
import type { CertificateRecord, OcspResponseRecord, WriteOp } from '../../src/store/ports.js';
import type { IssuerId, Serial } from '../../src/types.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const T0 = new Date('2025-01-01T00:00:00.000Z');
const at = (days: number): Date => new Date(T0.getTime() + days * 86_400_000);
const INT = 'intermediate' as IssuerId;
const serial = (i: number): Serial => `7e${i.toString(16).padStart(30, '0')}` as Serial;

const cert = (i: number): WriteOp => ({
  op: 'putCertificate',
  record: {
    serial: serial(i),
    issuerId: INT,
    der: Buffer.from([0x30, 0x03, 0x02, 0x01, i & 0xff]),
    profile: 'agent',
    subject: `CN=agent-${i}`,
    notBefore: T0,
    notAfter: at(90),
    issuedAt: T0,
    isCa: false,
  } satisfies CertificateRecord,
});
const ocsp = (i: number, days: number): WriteOp => ({
  op: 'putOcspResponse',
  record: {
    issuerId: INT,
    serial: serial(i),
    hashAlgorithm: 'sha1',
    der: Buffer.from(`ocsp-${i}-${days}`),
    thisUpdate: T0,
    nextUpdate: at(days),
  } satisfies OcspResponseRecord,
});

const codeOf = (r: PromiseSettledResult<unknown>): string =>
  r.status === 'fulfilled' ? 'ok' : isAgentCaError(r.reason) ? r.reason.code : String(r.reason);

let tmp: TmpDir;
let store: LevelStore;
beforeEach(async () => {
  tmp = await makeTmpDir('agent-ca-readahead-');
  store = await openLevelStore({ dataDir: tmp.dir });
});
afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

describe('LevelStore commits started without waiting for each other', () => {
  it('refuses a serial committed by a batch still being written when the read started', async () => {
    const results = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => store.commit([cert(i)])),
      store.commit([cert(3)]),
      store.commit([cert(100), cert(19)]),
      store.commit([cert(100)]),
    ]);
    expect(results.slice(0, 20).map(codeOf)).toEqual(Array(20).fill('ok'));
    // the duplicate of 3, the batch holding a duplicate of 19 (all-or-nothing: 100 not written either)
    expect(results.slice(20, 22).map(codeOf)).toEqual([
      'ACA_ERR_ISSUE_SERIAL_COLLISION',
      'ACA_ERR_ISSUE_SERIAL_COLLISION',
    ]);
    // so the last batch's 100 is new
    expect(codeOf(results[22]!)).toBe('ok');
    expect(await store.certificates.count()).toBe(21);
  });

  it('plans hold, release, revoke and hold again on the state the batches before them left', async () => {
    await store.commit([cert(1)]);
    const s = serial(1);
    const results = await Promise.allSettled([
      store.commit([
        {
          op: 'putRevocation',
          record: { serial: s, issuerId: INT, revokedAt: at(1), reason: 'certificateHold', actor: 'a' },
        },
      ]),
      store.commit([{ op: 'deleteRevocation', serial: s, issuerId: INT, at: at(2), actor: 'a' }]),
      store.commit([
        {
          op: 'putRevocation',
          record: { serial: s, issuerId: INT, revokedAt: at(3), reason: 'keyCompromise', actor: 'a' },
        },
      ]),
      store.commit([
        {
          op: 'putRevocation',
          record: { serial: s, issuerId: INT, revokedAt: at(4), reason: 'certificateHold', actor: 'a' },
        },
      ]),
    ]);
    expect(results.map(codeOf)).toEqual(['ok', 'ok', 'ok', 'ACA_ERR_REVOKE_INVALID_STATE']);
    const kinds = results
      .slice(0, 3)
      .map((r) => (r as PromiseFulfilledResult<{ changes: { kind: string }[] }>).value.changes[0]!.kind);
    expect(kinds).toEqual(['held', 'released', 'revoked']);
    expect(await store.revocations.get(s)).toMatchObject({ reason: 'keyCompromise' });
  });

  it('replaces an OCSP response written by the batch ahead, leaving one due-index entry', async () => {
    await Promise.all([store.commit([ocsp(1, 2)]), store.commit([ocsp(1, 5)]), store.commit([ocsp(1, 7)])]);
    const due = await store.ocspResponses.listDueBefore(at(30));
    expect(due.map((r) => r.der.toString())).toEqual(['ocsp-1-7']);
  });
});
