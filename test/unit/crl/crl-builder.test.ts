import { describe, expect, it } from 'vitest';
import { enumerated, extension, generalizedTime, sequence, unsignedInteger, x509Time } from '../../../src/asn1/der.js';
import { Oids } from '../../../src/asn1/oids.js';
import { buildCrl, buildCrlDetailed, type BuildCrlInput, type CrlEntryInput } from '../../../src/crl/crl-builder.js';
import { isAgentCaError } from '../../../src/errors.js';
import { algorithmInfo } from '../../../src/signer/algorithms.js';
import { reasonCode } from '../../../src/store/ports.js';
import {
  entryInvalidity,
  entryReason,
  ext,
  extInteger,
  oidOf,
  parseCrl,
  testIssuer,
  verifySignature,
} from './crl-test-kit.js';

const T0 = new Date('2030-03-01T12:00:00Z');
const T1 = new Date('2030-03-02T12:00:00Z');
const ed = testIssuer('ed25519');

function input(over: Partial<BuildCrlInput> = {}): BuildCrlInput {
  return { issuer: ed.issuer, number: 7n, thisUpdate: T0, nextUpdate: T1, entries: [], ...over };
}

async function rejects(p: Promise<unknown>, code: string): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAgentCaError(err) && err.code).toBe(code);
  return (err as Error).message;
}

/** The obvious, allocation-heavy encoding of an entry, to compare the streaming writer against. */
function referenceEntry(e: CrlEntryInput): Buffer {
  const exts: Buffer[] = [];
  if (e.reason && e.reason !== 'unspecified')
    exts.push(extension(Oids.reasonCode, false, enumerated(reasonCode(e.reason))));
  if (e.invalidityDate) exts.push(extension(Oids.invalidityDate, false, generalizedTime(e.invalidityDate)));
  const hex = e.serial!.length % 2 ? `0${e.serial}` : e.serial!;
  return sequence(
    unsignedInteger(Buffer.from(hex, 'hex')),
    x509Time(e.revokedAt),
    exts.length ? sequence(...exts) : undefined,
  );
}

describe('buildCrl: a full CRL (RFC 5280 §5.1)', () => {
  const entries: CrlEntryInput[] = [
    {
      serial: '7f01',
      revokedAt: new Date('2030-02-01T00:00:00Z'),
      reason: 'keyCompromise',
      invalidityDate: new Date('2030-01-31T10:20:30Z'),
    },
    { serial: 'ff02', revokedAt: new Date('2030-02-02T00:00:00Z'), reason: 'unspecified' },
    { serial: '0a', revokedAt: new Date('2030-02-03T00:00:00Z'), reason: 'certificateHold' },
    { serialMagnitude: Buffer.from('000081', 'hex'), revokedAt: new Date('2030-02-04T00:00:00Z') },
  ];

  it('writes v2, the signer algorithm, the exact issuer bytes, UTCTime dates and a valid signature', async () => {
    const der = await buildCrl(input({ entries, freshestUrl: 'http://ca.example/crl/intermediate-delta.crl' }));
    const p = parseCrl(der);
    expect(p.version).toBe(1);
    expect(p.signatureAlgorithm.equals(algorithmInfo('Ed25519').identifier)).toBe(true);
    expect(p.outerAlgorithm.equals(p.signatureAlgorithm)).toBe(true);
    expect(p.issuer.equals(Buffer.from(ed.issuer.nameDer))).toBe(true);
    expect([p.thisUpdateTag, p.nextUpdateTag]).toEqual([0x17, 0x17]);
    expect(p.thisUpdate).toEqual(T0);
    expect(p.nextUpdate).toEqual(T1);
    expect(verifySignature(p, ed)).toBe(true);
    // a flipped TBS byte no longer verifies: the signature is over exactly these bytes
    p.tbs[p.tbs.length - 1]! ^= 1;
    expect(verifySignature(p, ed)).toBe(false);
  });

  it('lists entries with reasonCode (absent for unspecified, §5.3.1) and GeneralizedTime invalidityDate (§5.3.2)', async () => {
    const p = parseCrl(await buildCrl(input({ entries })));
    expect(p.entries!.map((e) => e.serialHex)).toEqual(['7f01', 'ff02', '0a', '81']);
    expect(p.entries!.map(entryReason)).toEqual([1, undefined, 6, undefined]);
    expect(p.entries![1]!.extensions).toEqual([]); // no crlEntryExtensions at all
    const inv = entryInvalidity(p.entries![0]!);
    expect(inv).toEqual({ date: new Date('2030-01-31T10:20:30Z'), tag: 0x18 });
    expect(p.entries![0]!.revocationDateTag).toBe(0x17);
    // positive INTEGER: a 00 pad when the high bit is set, leading zero octets stripped
    expect(p.entries![1]!.serialContent.toString('hex')).toBe('00ff02');
    expect(p.entries![3]!.serialContent.toString('hex')).toBe('0081');
  });

  it('carries AKI, CRLNumber and Freshest CRL, and no DeltaCRLIndicator', async () => {
    const p = parseCrl(
      await buildCrl(input({ number: 300n, freshestUrl: 'http://ca.example/crl/intermediate-delta.crl' })),
    );
    expect(p.extensions.map((e) => e.oid)).toEqual([Oids.authorityKeyIdentifier, Oids.crlNumber, Oids.freshestCrl]);
    expect(p.extensions.every((e) => !e.critical)).toBe(true);
    expect(ext(p.extensions, Oids.authorityKeyIdentifier)!.value.toString('hex')).toBe(
      `3016${'8014'}0102030405060708090a0b0c0d0e0f1011121314`,
    );
    expect(extInteger(ext(p.extensions, Oids.crlNumber)!)).toBe(300n);
    expect(ext(p.extensions, Oids.freshestCrl)!.value.toString('latin1')).toContain(
      'http://ca.example/crl/intermediate-delta.crl',
    );
  });

  it('omits revokedCertificates entirely when there are no entries (§5.1.2.6)', async () => {
    const built = await buildCrlDetailed(input());
    const p = parseCrl(built.der);
    expect(p.entries).toBeUndefined();
    // version, signature, issuer, thisUpdate, nextUpdate, [0] crlExtensions - nothing else
    expect(p.tbsTags).toEqual([0x02, 0x30, 0x30, 0x17, 0x17, 0xa0]);
    expect(built.entryCount).toBe(0);
    expect(verifySignature(p, ed)).toBe(true);
  });

  it('switches to GeneralizedTime from 2050 on (§5.1.2.4, §5.1.2.5 via §4.1.2.5)', async () => {
    const p = parseCrl(
      await buildCrl(
        input({
          thisUpdate: new Date('2049-12-31T23:59:59Z'),
          nextUpdate: new Date('2050-01-01T00:00:00Z'),
          entries: [{ serial: '01', revokedAt: new Date('2050-06-01T00:00:00Z') }],
        }),
      ),
    );
    expect([p.thisUpdateTag, p.nextUpdateTag, p.entries![0]!.revocationDateTag]).toEqual([0x17, 0x18, 0x18]);
    expect(p.nextUpdate).toEqual(new Date('2050-01-01T00:00:00Z'));
  });

  it('signs with ECDSA and RSA signers too', async () => {
    for (const key of [testIssuer('p256'), testIssuer('rsa')]) {
      const p = parseCrl(await buildCrl({ ...input({ entries }), issuer: key.issuer }));
      expect(oidOf(p.signatureAlgorithm)).toBe(algorithmInfo(key.issuer.signer.algorithm).oid);
      expect(verifySignature(p, key)).toBe(true);
    }
  });
});

describe('buildCrl: a delta CRL (RFC 5280 §5.2.4)', () => {
  it('carries a critical DeltaCRLIndicator = base number and accepts removeFromCRL entries', async () => {
    const p = parseCrl(
      await buildCrl(
        input({
          number: 12n,
          delta: { baseNumber: 10n },
          entries: [{ serial: '0b', revokedAt: T0, reason: 'removeFromCRL' }],
        }),
      ),
    );
    const dci = ext(p.extensions, Oids.deltaCrlIndicator)!;
    expect(dci.critical).toBe(true);
    expect(extInteger(dci)).toBe(10n);
    expect(ext(p.extensions, Oids.freshestCrl)).toBeUndefined();
    expect(entryReason(p.entries![0]!)).toBe(8);
  });

  it('refuses removeFromCRL in a full CRL and Freshest CRL in a delta', async () => {
    await rejects(
      buildCrl(input({ entries: [{ serial: '0b', revokedAt: T0, reason: 'removeFromCRL' }] })),
      'ACA_ERR_INPUT_INVALID',
    );
    await rejects(
      buildCrl(input({ delta: { baseNumber: 1n }, freshestUrl: 'http://x/d.crl' })),
      'ACA_ERR_INPUT_INVALID',
    );
  });

  it('refuses a base number that is not below the delta number', async () => {
    await rejects(buildCrl(input({ number: 5n, delta: { baseNumber: 5n } })), 'ACA_ERR_INPUT_INVALID');
  });
});

describe('buildCrl: input checks', () => {
  it('refuses bad dates, numbers and names before reading any entry', async () => {
    let read = 0;
    const counting = (function* () {
      read++;
      yield { serial: '01', revokedAt: T0 };
    })();
    await rejects(buildCrl(input({ nextUpdate: T0, entries: counting })), 'ACA_ERR_INPUT_INVALID');
    await rejects(buildCrl(input({ number: -1n })), 'ACA_ERR_INPUT_INVALID');
    await rejects(buildCrl(input({ number: 1n << 159n })), 'ACA_ERR_INPUT_INVALID');
    await rejects(buildCrl(input({ thisUpdate: new Date(NaN) })), 'ACA_ERR_INPUT_INVALID');
    await rejects(
      buildCrl({ ...input(), issuer: { ...ed.issuer, nameDer: Buffer.from([0x30, 0x05]) } }),
      'ACA_ERR_INPUT_INVALID',
    );
    await rejects(buildCrl(input({ idp: {} })), 'ACA_ERR_INPUT_INVALID');
    expect(read).toBe(0);
  });

  it('refuses malformed serials and unknown reasons', async () => {
    for (const serial of ['zz', '12g4', '01'.repeat(21), '']) {
      await rejects(buildCrl(input({ entries: [{ serial, revokedAt: T0 }] })), 'ACA_ERR_INPUT_SERIAL_MALFORMED');
    }
    await rejects(buildCrl(input({ entries: [{ revokedAt: T0 }] })), 'ACA_ERR_INPUT_SERIAL_MALFORMED');
    await rejects(
      buildCrl(input({ entries: [{ serial: '01', revokedAt: T0, reason: 'toString' as never }] })),
      'ACA_ERR_INPUT_REASON_UNKNOWN',
    );
    await rejects(buildCrl(input({ entries: [{ serial: '01', revokedAt: new Date(NaN) }] })), 'ACA_ERR_INPUT_INVALID');
  });

  it('accepts a 20-octet serial and an odd-length hex serial', async () => {
    const p = parseCrl(
      await buildCrl(
        input({
          entries: [
            { serial: '7f'.repeat(20), revokedAt: T0 },
            { serial: 'abc', revokedAt: T0 },
          ],
        }),
      ),
    );
    expect(p.entries!.map((e) => e.serialHex)).toEqual(['7f'.repeat(20), '0abc']);
  });
});

describe('buildCrl: streaming', () => {
  function* many(n: number): Generator<CrlEntryInput> {
    const reasons = ['keyCompromise', 'unspecified', 'certificateHold', 'superseded', undefined] as const;
    for (let i = 0; i < n; i++) {
      const r = reasons[i % reasons.length];
      yield {
        serial: (0x80000000 + i * 7919).toString(16) + 'a1b2c3d4e5f60718',
        revokedAt: new Date(Date.UTC(2030, 0, 1) + i * 1000),
        ...(r ? { reason: r } : {}),
        ...(i % 3 === 0 ? { invalidityDate: new Date(Date.UTC(2029, 11, 31) + i) } : {}),
      };
    }
  }

  it('writes the same bytes as a one-entry-at-a-time reference encoder across chunk boundaries', async () => {
    const n = 40_000; // ~2.5 MB of entries: several 1 MiB chunks
    const built = await buildCrlDetailed(input({ entries: many(n) }));
    const p = parseCrl(built.der);
    expect(built.entryCount).toBe(n);
    expect(p.entries).toHaveLength(n);
    const reference = Buffer.concat([...many(n)].map(referenceEntry));
    expect(p.entriesContent!.equals(reference)).toBe(true);
    expect(built.tbsLength).toBe(p.tbs.length);
    expect(verifySignature(p, ed)).toBe(true);
  });

  it('gives identical output for sync and async iterables (Ed25519 is deterministic)', async () => {
    const viaSync = await buildCrl(input({ entries: many(500) }));
    const viaAsync = await buildCrl(
      input({
        entries: (async function* () {
          yield* many(500);
        })(),
      }),
    );
    expect(viaAsync.equals(viaSync)).toBe(true);
  });

  it('signs once, over the whole TBS, however many entries there are', async () => {
    const key = testIssuer('ed25519');
    await buildCrl({ ...input({ entries: many(20_000) }), issuer: key.issuer });
    expect(key.signs()).toBe(1);
  });
});
