import { beforeEach, describe, expect, it } from 'vitest';
import {
  certificateNotAfterLookup,
  fullCrlEntries,
  newFullCrlStats,
  type NotAfterLookup,
} from '../../../src/crl/full.js';
import type { CrlEntryInput } from '../../../src/crl/entry-writer.js';
import { createMemoryStore, type MemoryStore } from '../../../src/store/memory-store.js';
import type { Serial } from '../../../src/types.js';
import { addCert, INT, revoke, ROOT } from './store-fixtures.js';

const day = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00Z');
const at = (days: number) => new Date(NOW.getTime() + days * day);

let store: MemoryStore;
beforeEach(async () => {
  store = await createMemoryStore();
});

async function collect(it: AsyncIterable<CrlEntryInput>): Promise<CrlEntryInput[]> {
  const out: CrlEntryInput[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('fullCrlEntries', () => {
  it('streams every revocation of the issuer with reason and invalidity date', async () => {
    await revoke(store, '0a', 'keyCompromise', at(-3), { invalidityDate: at(-4) });
    await revoke(store, '0b', 'certificateHold', at(-2));
    await revoke(store, '0c', 'cACompromise', at(-1), { issuerId: ROOT });
    const entries = await collect(fullCrlEntries({ revocations: store.revocations, issuerId: INT }));
    expect(entries).toEqual([
      { serial: '0a', revokedAt: at(-3), reason: 'keyCompromise', invalidityDate: at(-4) },
      { serial: '0b', revokedAt: at(-2), reason: 'certificateHold' },
    ]);
  });

  it('drops certificates that expired before the cutoff (RFC 5280 §3.3), keeps unknown ones, in batched lookups', async () => {
    const serials: string[] = [];
    for (let i = 0; i < 10; i++) {
      const s = (0x10 + i).toString(16);
      serials.push(s);
      // even: expired 10 days ago; odd: still valid; 0x19: no certificate record at all
      if (i !== 9) await addCert(store, s, i % 2 === 0 ? at(-10) : at(100));
      await revoke(store, s, 'superseded', at(-20));
    }
    const calls: number[] = [];
    const lookup = certificateNotAfterLookup(store.certificates);
    const counting: NotAfterLookup = (batch) => {
      calls.push(batch.length);
      return lookup(batch);
    };
    const stats = newFullCrlStats();
    const entries = await collect(
      fullCrlEntries({
        revocations: store.revocations,
        issuerId: INT,
        dropExpiredBefore: at(-5),
        notAfter: counting,
        batchSize: 4,
        stats,
      }),
    );
    expect(entries.map((e) => e.serial)).toEqual(['11', '13', '15', '17', '19']);
    expect(calls).toEqual([4, 4, 2]);
    expect(stats).toEqual({ read: 10, listed: 5, droppedExpired: 5, lookups: 3 });
  });

  it('keeps an entry whose certificate expired after the cutoff (it has not yet been on a CRL issued after expiry)', async () => {
    await addCert(store, 'aa', at(-1));
    await revoke(store, 'aa', 'keyCompromise', at(-30));
    const lookup = certificateNotAfterLookup(store.certificates);
    expect(
      await collect(
        fullCrlEntries({ revocations: store.revocations, issuerId: INT, dropExpiredBefore: at(-2), notAfter: lookup }),
      ),
    ).toHaveLength(1);
    expect(
      await collect(
        fullCrlEntries({ revocations: store.revocations, issuerId: INT, dropExpiredBefore: at(0), notAfter: lookup }),
      ),
    ).toHaveLength(0);
  });

  it('makes no lookups without a cutoff (keepExpired)', async () => {
    await revoke(store, 'ab', 'keyCompromise', at(-30));
    let called = false;
    const lookup: NotAfterLookup = async (s: readonly Serial[]) => {
      called = true;
      return s.map(() => at(-100));
    };
    expect(
      await collect(fullCrlEntries({ revocations: store.revocations, issuerId: INT, notAfter: lookup })),
    ).toHaveLength(1);
    expect(called).toBe(false);
  });
});
