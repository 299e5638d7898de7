import { beforeEach, describe, expect, it } from 'vitest';
import { computeDeltaEntries, crlBaseMetaKey } from '../../../src/crl/delta.js';
import { createMemoryStore, type MemoryStore } from '../../../src/store/memory-store.js';
import { INT, release, revoke, ROOT } from './store-fixtures.js';

const t = (min: number) => new Date(Date.UTC(2030, 0, 1, 0, min));

let store: MemoryStore;
beforeEach(async () => {
  store = await createMemoryStore();
});

async function deltaSince(fromSeq: number, toSeq = fromSeq) {
  const { entries, stats } = await computeDeltaEntries({
    revocations: store.revocations,
    issuerId: INT,
    base: { fromSeq, toSeq },
  });
  return {
    entries: entries.map((e) => ({ serial: e.serial, reason: e.reason, revokedAt: e.revokedAt.toISOString() })),
    stats,
  };
}

describe('computeDeltaEntries (RFC 5280 §5.2.4)', () => {
  it('lists revocations and holds made since the base with their current reason', async () => {
    await revoke(store, 'a0', 'keyCompromise', t(1)); // on the base, unchanged
    const base = await store.revocations.lastChangeSeq();
    await revoke(store, 'b1', 'superseded', t(2));
    await revoke(store, 'c2', 'certificateHold', t(3));
    const { entries } = await deltaSince(base);
    expect(entries).toEqual([
      { serial: 'b1', reason: 'superseded', revokedAt: t(2).toISOString() },
      { serial: 'c2', reason: 'certificateHold', revokedAt: t(3).toISOString() },
    ]);
  });

  it('lists removeFromCRL for a hold that was on the base and has been released', async () => {
    await revoke(store, 'd3', 'certificateHold', t(1));
    const base = await store.revocations.lastChangeSeq();
    await release(store, 'd3', t(5));
    const { entries, stats } = await deltaSince(base);
    expect(entries).toEqual([{ serial: 'd3', reason: 'removeFromCRL', revokedAt: t(5).toISOString() }]);
    expect(stats).toMatchObject({ removed: 1, listed: 0, omitted: 0 });
  });

  it('lists nothing for a hold placed and released after the base (it was never on the base)', async () => {
    const base = await store.revocations.lastChangeSeq();
    await revoke(store, 'e4', 'certificateHold', t(2));
    await release(store, 'e4', t(3));
    const { entries, stats } = await deltaSince(base);
    expect(entries).toEqual([]);
    expect(stats).toMatchObject({ changes: 2, omitted: 1 });
  });

  it('treats a hold that raced with the base stream (seq in fromSeq..toSeq) as possibly on the base', async () => {
    const fromSeq = await store.revocations.lastChangeSeq();
    await revoke(store, 'f5', 'certificateHold', t(2)); // landed while the base was being streamed
    const toSeq = await store.revocations.lastChangeSeq();
    await release(store, 'f5', t(3));
    const { entries } = await deltaSince(fromSeq, toSeq);
    expect(entries).toEqual([{ serial: 'f5', reason: 'removeFromCRL', revokedAt: t(3).toISOString() }]);
  });

  it('gives the new reason when a hold becomes a revocation or a reason changes', async () => {
    await revoke(store, 'a1', 'certificateHold', t(1));
    await revoke(store, 'a2', 'unspecified', t(1));
    const base = await store.revocations.lastChangeSeq();
    await revoke(store, 'a1', 'keyCompromise', t(4), { invalidityDate: t(0) });
    await revoke(store, 'a2', 'cessationOfOperation', t(1), { at: t(6) });
    const { entries } = await deltaSince(base);
    expect(entries).toEqual([
      { serial: 'a1', reason: 'keyCompromise', revokedAt: t(4).toISOString() },
      { serial: 'a2', reason: 'cessationOfOperation', revokedAt: t(1).toISOString() },
    ]);
    const full = await computeDeltaEntries({
      revocations: store.revocations,
      issuerId: INT,
      base: { fromSeq: base, toSeq: base },
    });
    expect(full.entries[0]!.invalidityDate).toEqual(t(0));
  });

  it('lists a serial released from a base hold and then held again as held', async () => {
    await revoke(store, 'b7', 'certificateHold', t(1));
    const base = await store.revocations.lastChangeSeq();
    await release(store, 'b7', t(2));
    await revoke(store, 'b7', 'certificateHold', t(3));
    expect((await deltaSince(base)).entries).toEqual([
      { serial: 'b7', reason: 'certificateHold', revokedAt: t(3).toISOString() },
    ]);
  });

  it('ignores other issuers and changes at or before the base', async () => {
    await revoke(store, 'c1', 'keyCompromise', t(1));
    const base = await store.revocations.lastChangeSeq();
    await revoke(store, 'c2', 'cACompromise', t(2), { issuerId: ROOT });
    const { entries, stats } = await deltaSince(base);
    expect(entries).toEqual([]);
    expect(stats.changes).toBe(0);
  });

  it('names the meta key of a base marker per issuer and number', () => {
    expect(crlBaseMetaKey(INT, 12n)).toBe('crl-base:intermediate:12');
  });
});
