import { beforeEach, describe, expect, it } from 'vitest';
import { Oids } from '../../../src/asn1/oids.js';
import { FixedClock } from '../../../src/clock.js';
import { crlBaseMetaKey, type CrlBaseMarker } from '../../../src/crl/delta.js';
import { CrlPublisher } from '../../../src/crl/publisher.js';
import { isAgentCaError } from '../../../src/errors.js';
import { createMemoryStore, type MemoryStore } from '../../../src/store/memory-store.js';
import type { IssuerId } from '../../../src/types.js';
import { entryReason, ext, extInteger, parseCrl, testIssuer, verifySignature } from './crl-test-kit.js';
import { addCert, INT, release, revoke } from './store-fixtures.js';

const HOUR = 3_600_000;
const START = new Date('2030-06-01T00:00:00Z');
const key = testIssuer('ed25519', 'Test Issuing CA');
const DELTA_URL = 'http://ca.example/crl/intermediate-delta.crl';

let store: MemoryStore;
let clock: FixedClock;
let publisher: CrlPublisher;
beforeEach(async () => {
  store = await createMemoryStore();
  clock = new FixedClock(START);
  publisher = new CrlPublisher({
    store,
    clock,
    issuers: { intermediate: { ...key.issuer, deltaCrlUrl: DELTA_URL } },
    fullValidityMs: 24 * HOUR,
    deltaValidityMs: HOUR,
  });
});

async function code(p: Promise<unknown>): Promise<string | false> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return isAgentCaError(e) && e.code;
}

describe('CrlPublisher', () => {
  it('publishes a signed full CRL with number 1, Freshest CRL and a base marker, and stores it as latest', async () => {
    await revoke(store, '0a', 'keyCompromise', START);
    const rec = await publisher.publishFull(INT);
    expect(rec).toMatchObject({
      issuerId: INT,
      number: 1n,
      kind: 'full',
      thisUpdate: START,
      nextUpdate: new Date(START.getTime() + 24 * HOUR),
    });
    expect(rec.baseNumber).toBeUndefined();
    const p = parseCrl(rec.der);
    expect(verifySignature(p, key)).toBe(true);
    expect(extInteger(ext(p.extensions, Oids.crlNumber)!)).toBe(1n);
    expect(ext(p.extensions, Oids.freshestCrl)!.value.toString('latin1')).toContain(DELTA_URL);
    expect(p.entries!.map((e) => e.serialHex)).toEqual(['0a']);
    expect((await publisher.latest(INT, 'full'))!.der.equals(rec.der)).toBe(true);
    const seq = await store.revocations.lastChangeSeq();
    expect(await store.meta.get<CrlBaseMarker>(crlBaseMetaKey(INT, 1n))).toEqual({
      number: '1',
      fromSeq: seq,
      toSeq: seq,
    });
  });

  it('refuses a delta before any full CRL exists', async () => {
    expect(await code(publisher.publishDelta(INT))).toBe('ACA_ERR_STORE_NOT_FOUND');
    expect(await store.crls.latest(INT, 'delta')).toBeUndefined();
  });

  it('shares one CRLNumber sequence between full and delta CRLs; deltas point at the latest full', async () => {
    const kinds: string[] = [];
    for (const kind of ['full', 'delta', 'delta', 'full', 'delta'] as const) {
      const rec = kind === 'full' ? await publisher.publishFull(INT) : await publisher.publishDelta(INT);
      const p = parseCrl(rec.der);
      const dci = ext(p.extensions, Oids.deltaCrlIndicator);
      kinds.push(`${rec.number}:${kind}:${dci ? extInteger(dci) : '-'}:${rec.baseNumber ?? '-'}`);
      expect(extInteger(ext(p.extensions, Oids.crlNumber)!)).toBe(rec.number);
      if (kind === 'delta') expect(ext(p.extensions, Oids.freshestCrl)).toBeUndefined();
    }
    expect(kinds).toEqual(['1:full:-:-', '2:delta:1:1', '3:delta:1:1', '4:full:-:-', '5:delta:4:4']);
    expect((await publisher.latestFull(INT))!.number).toBe(4n);
    expect((await publisher.latestDelta(INT))!.number).toBe(5n);
    // only the latest full CRL keeps its base marker
    expect(await store.meta.get(crlBaseMetaKey(INT, 1n))).toBeUndefined();
    expect(await store.meta.get(crlBaseMetaKey(INT, 4n))).toBeDefined();
  });

  it('builds deltas from the journal: new revocations, and removeFromCRL for released base holds', async () => {
    await revoke(store, '0b', 'certificateHold', START);
    await publisher.publishFull(INT);
    clock.advance(60_000);
    await revoke(store, '0c', 'affiliationChanged', clock.now());
    await release(store, '0b', clock.now());
    const delta = await publisher.publishDelta(INT);
    expect(delta).toMatchObject({
      kind: 'delta',
      number: 2n,
      baseNumber: 1n,
      nextUpdate: new Date(clock.now().getTime() + HOUR),
    });
    const p = parseCrl(delta.der);
    expect(p.entries!.map((e) => [e.serialHex, entryReason(e)])).toEqual([
      ['0c', 3],
      ['0b', 8],
    ]);
    expect(verifySignature(p, key)).toBe(true);
  });

  it('keeps an expired certificate on exactly one full CRL issued after its notAfter (RFC 5280 §3.3)', async () => {
    await addCert(store, '0d', new Date(START.getTime() + HOUR));
    await revoke(store, '0d', 'keyCompromise', START);
    const listed = async () => parseCrl((await publisher.publishFull(INT)).der).entries?.length ?? 0;
    expect(await listed()).toBe(1); // at START: still valid
    clock.advance(2 * HOUR);
    expect(await listed()).toBe(1); // first CRL after expiry still lists it
    clock.advance(2 * HOUR);
    expect(await listed()).toBe(0); // the previous one was issued after expiry: it may go
  });

  it('keeps expired certificates when keepExpired is set', async () => {
    const keep = new CrlPublisher({ store, clock, issuers: { intermediate: key.issuer }, keepExpired: true });
    await addCert(store, '0e', new Date(START.getTime() - 100 * HOUR));
    await revoke(store, '0e', 'keyCompromise', START);
    await keep.publishFull(INT);
    clock.advance(HOUR);
    const p = parseCrl((await keep.publishFull(INT)).der);
    expect(p.entries).toHaveLength(1);
    expect(ext(p.extensions, Oids.freshestCrl)).toBeUndefined(); // no delta URL configured
  });

  it('serialises publications of an issuer: a delta requested during a full build uses that full as base', async () => {
    await publisher.publishFull(INT);
    const [full, delta] = await Promise.all([publisher.publishFull(INT), publisher.publishDelta(INT)]);
    expect(full.number).toBe(2n);
    expect(delta).toMatchObject({ number: 3n, baseNumber: 2n });
  });

  it('refuses a delta whose base full CRL has no marker, and unknown issuers', async () => {
    await store.commit([
      {
        op: 'putCrl',
        record: {
          issuerId: INT,
          number: 1n,
          kind: 'full',
          der: Buffer.from([0x30, 0]),
          thisUpdate: START,
          nextUpdate: new Date(START.getTime() + HOUR),
        },
      },
    ]);
    expect(await code(publisher.publishDelta(INT))).toBe('ACA_ERR_STORE_NOT_FOUND');
    expect(await code(publisher.publishFull('nobody' as IssuerId))).toBe('ACA_ERR_INPUT_INVALID');
    expect(() => new CrlPublisher({ store, clock, issuers: {}, fullValidityMs: 0 })).toThrow(/fullValidityMs/);
  });
});
