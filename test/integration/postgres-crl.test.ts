/**
 * Full CRLs from PostgreSQL through binary COPY (src/store/postgres/copy-binary.ts): the same
 * revocations (reasons, invalidity dates, millisecond times, serials with a high first bit, an
 * expired certificate, revocations of certificates the store does not know) committed to a
 * memory store and to PostgreSQL give CRLs that openssl verifies and that list exactly the
 * same entries; the expired certificate is left out through the joined notAfter stream
 * (RFC 5280 §3.3), and a second full CRL takes the previous one's number and thisUpdate from
 * their meta record without reading the previous CRL's bytes, and is stored lz4-compressed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/clock.js';
import { CrlPublisher } from '../../src/crl/publisher.js';
import { encodeName } from '../../src/asn1/name.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { syntheticCertificate, syntheticSerial } from '../../src/store/bulk.js';
import type { RevocationReason, Store, WriteOp } from '../../src/store/ports.js';
import type { IssuerId, Serial } from '../../src/types.js';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { openssl } from '../helpers/openssl.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const ISSUER = 'intermediate' as IssuerId;
const N = 5_000;
const REASONS: RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
];

function dataset(now: Date): WriteOp[] {
  const ops: WriteOp[] = [];
  for (let i = 0; i < N; i++) {
    // every third revoked certificate is known to the store; one of them expired long ago
    const serial = (i % 7 === 0 ? `ff${syntheticSerial(i).slice(2)}` : syntheticSerial(i)) as Serial;
    if (i % 3 === 0) {
      const cert = syntheticCertificate(i, { issuerId: ISSUER, now, derBytes: 64 });
      ops.push({
        op: 'putCertificate',
        record: { ...cert, serial, notAfter: i === 3 ? new Date(now.getTime() - 86_400_000) : cert.notAfter },
      });
    }
    ops.push({
      op: 'putRevocation',
      record: {
        serial,
        issuerId: ISSUER,
        revokedAt: new Date(now.getTime() - 3_600_000 - i * 1_001),
        reason: REASONS[i % REASONS.length]!,
        ...(i % 11 === 0 ? { invalidityDate: new Date(now.getTime() - 7_200_000 - i * 1_000) } : {}),
        actor: 'test',
      },
    });
  }
  return ops;
}

describe.runIf(pgAvailable)('full CRL from PostgreSQL through binary COPY', () => {
  let db: PgSchema;
  let tmp: TmpDir;
  let pgStore: PostgresStore;
  let memory: Store;
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const nameDer = encodeName({ organization: 'Agent CA Test', commonName: 'PG CRL Issuer' }).der;
  const clock = new FixedClock(new Date('2026-12-01T12:00:00.000Z'));
  const publisherFor = (store: Store) =>
    new CrlPublisher({
      store,
      clock,
      issuers: {
        [ISSUER]: {
          nameDer,
          keyId: Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex'),
          signer: {
            algorithm: 'ecdsaWithSHA256',
            sign: async (data: Uint8Array) => cryptoSign('sha256', data, key.privateKey),
          },
        },
      },
    });
  let caFile = '';

  beforeAll(async () => {
    db = await freshSchema('crlcopy');
    tmp = await makeTmpDir('agent-ca-pg-crl-');
    pgStore = await openPostgresStore({ url: db.url });
    memory = await createMemoryStore();
    const ops = dataset(clock.now());
    for (let i = 0; i < ops.length; i += 1000) {
      await pgStore.commit(ops.slice(i, i + 1000), { sync: false });
      await memory.commit(ops.slice(i, i + 1000), { sync: false });
    }
    // A self-signed certificate for the key, so openssl can check the CRL's signature.
    const keyFile = join(tmp.dir, 'key.pem');
    writeFileSync(keyFile, key.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    caFile = join(tmp.dir, 'ca.pem');
    const r = openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/O=Agent CA Test/CN=PG CRL Issuer',
      '-days',
      '2',
      '-out',
      caFile,
    ]);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await pgStore?.close();
    await memory?.close();
    await tmp?.cleanup();
    await db?.cleanup();
  });

  const text = (der: Buffer, name: string) => {
    const f = join(tmp.dir, name);
    writeFileSync(f, der);
    const r = openssl(['crl', '-inform', 'DER', '-in', f, '-CAfile', caFile, '-noout', '-text']);
    expect(r.stderr + r.stdout).toMatch(/verify OK/);
    return r.stdout;
  };

  it('lists the same entries as the memory store, openssl-verified, without the expired certificate', async () => {
    const fromPg = await publisherFor(pgStore).publishFullDetailed(ISSUER);
    const fromMemory = await publisherFor(memory).publishFullDetailed(ISSUER);
    expect(fromPg.entryCount).toBe(N - 1);
    expect(fromPg.stats).toMatchObject({ read: N, listed: N - 1, droppedExpired: 1, lookups: 0 });
    expect(fromMemory.entryCount).toBe(N - 1);
    const list = (t: string) =>
      t.slice(t.indexOf('Revoked Certificates:'), t.indexOf('Signature Algorithm', t.indexOf('Revoked Certificates:')));
    const pgList = list(text(fromPg.record.der, 'pg.crl'));
    expect(pgList).toContain('Invalidity Date');
    expect(pgList).toContain('Key Compromise');
    expect(pgList).not.toContain(`Serial Number: ${syntheticSerial(3).toUpperCase()}`);
    expect(pgList).toBe(list(text(fromMemory.record.der, 'memory.crl')));
  }, 120_000);

  it("takes the previous full CRL's number and thisUpdate from meta, not from its bytes", async () => {
    const latest = pgStore.crls.latest.bind(pgStore.crls);
    let reads = 0;
    pgStore.crls.latest = async (...args) => {
      reads++;
      return latest(...args);
    };
    try {
      const before = await pgStore.crls.counter(ISSUER);
      const next = await publisherFor(pgStore).publishFullDetailed(ISSUER);
      expect(next.record.number).toBe(before + 1n);
      expect(reads).toBe(0);
      text(next.record.der, 'pg-2.crl');
      // stored with lz4 where the server has it (pglz took seconds for a 1,000,000-entry CRL)
      const [lz4] = await pgStore.query(
        "select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)",
      );
      const [stored] = await pgStore.query('select pg_column_compression(der) as c from crls where number = $1', [
        next.record.number.toString(),
      ]);
      expect(stored?.c).toBe(lz4 ? 'lz4' : 'pglz');
    } finally {
      pgStore.crls.latest = latest;
    }
  }, 120_000);
});
