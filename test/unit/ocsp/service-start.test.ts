/**
 * OcspService.start() does not hold serving back on its start-up pass: a certificate issued
 * while no OCSP service was attached (the CLI path) is answered at once, by the live source,
 * and from the pre-signed answer once the pass has settled. The pass writes with ifAbsent,
 * so an answer a status change stored meanwhile is never replaced by the pass's older one.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthority } from '../../../src/authority/create-authority.js';
import type { Authority } from '../../../src/authority/authority.js';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../../src/ocsp/response-parse.js';
import { OcspService } from '../../../src/ocsp/service.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { openLevelStore } from '../../../src/store/level/level-store.js';
import type { OcspResponseRecord, Store, WriteOp } from '../../../src/store/ports.js';
import type { IssuerId, Serial } from '../../../src/types.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';
import { dayProfileAuthority } from './day-profile-authority.js';

let tmp: TmpDir;
let a: Authority;
beforeEach(async () => {
  tmp = await makeTmpDir('agent-ca-ocsp-start-');
  // Pre-signed answers (a day), so the start-up pass has something to backfill.
  a = await dayProfileAuthority(tmp.dir);
});
afterEach(async () => {
  await a.close();
  await tmp.cleanup();
});

const issueOffline = async (agentId: string): Promise<Serial> => {
  const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  return (await a.issue({ agentId, publicKey: pub, profile: 'agent-day' })).serial;
};

describe('OcspService start-up pass', () => {
  it('answers a certificate issued without OCSP attached before the pass is done, then from its pre-signed answer', async () => {
    const serials = await Promise.all(Array.from({ length: 40 }, (_, i) => issueOffline(`offline-${i}`)));
    const int = a.ca('intermediate').certificate;
    const issuer = { subjectDer: int.subject, publicKeyInfo: int.publicKeyInfo };
    expect(await a.store.ocspResponses.get('intermediate' as IssuerId, serials[0]!, 'sha1')).toBeUndefined();
    const ocsp = new OcspService(a);
    try {
      await ocsp.start();
      const req = ocspRequestDer(certIdFor(issuer, Buffer.from(serials[39]!, 'hex'), 'sha1'));
      const first = await ocsp.responder.respond(req);
      expect(first.status).toBe('successful');
      expect(parseOcspResponse(first.der).basic?.responses[0]?.status.kind).toBe('good');
      await ocsp.settled();
      for (const s of serials) {
        const stored = await a.store.ocspResponses.get('intermediate' as IssuerId, s, 'sha1');
        expect(stored, s).toBeDefined();
        expect(parseOcspResponse(stored!.der).basic?.responses[0]?.certId.serial).toBe(s);
      }
      ocsp.invalidateAll();
      const later = await ocsp.responder.respond(
        ocspRequestDer(certIdFor(issuer, Buffer.from(serials[0]!, 'hex'), 'sha1')),
      );
      expect(later).toMatchObject({ status: 'successful', source: 'precomputed' });
      // the pass vouches for the certificates it covered: a start with the same count skips the scan
      expect(await a.store.meta.get('ocsp.backfill')).toEqual({ certCount: await a.store.certificates.count() });
    } finally {
      await ocsp.stop();
    }
  });

  it('scans again once a certificate was issued without OCSP attached (the count moved past the marker)', async () => {
    await issueOffline('first');
    const first = new OcspService(a);
    await first.start();
    await first.settled();
    await first.stop();
    expect(await a.store.meta.get('ocsp.backfill')).toEqual({ certCount: await a.store.certificates.count() });
    // A fresh process (the CLI): an authority without OCSP attached issues one more.
    await a.close();
    a = await createAuthority({ dataDir: join(tmp.dir, 'data'), env: {}, create: false });
    const late = await issueOffline('late');
    expect(await a.store.ocspResponses.get('intermediate' as IssuerId, late, 'sha1')).toBeUndefined();
    const again = new OcspService(a);
    try {
      await again.start();
      await again.settled();
      expect(await a.store.ocspResponses.get('intermediate' as IssuerId, late, 'sha1')).toBeDefined();
    } finally {
      await again.stop();
    }
  });
});

describe('putOcspResponse ifAbsent', () => {
  const record = (der: string): OcspResponseRecord => ({
    issuerId: 'intermediate' as IssuerId,
    serial: '7d0000000000000000000000000000aa' as Serial,
    hashAlgorithm: 'sha1',
    der: Buffer.from(der),
    thisUpdate: new Date('2025-01-01T00:00:00Z'),
    nextUpdate: new Date('2025-01-02T00:00:00Z'),
  });
  const put = (der: string, ifAbsent?: boolean): WriteOp => ({
    op: 'putOcspResponse',
    record: record(der),
    ...(ifAbsent ? { ifAbsent } : {}),
  });

  for (const [name, open] of [
    ['memory', async () => ({ store: (await createMemoryStore()) as Store, done: async () => undefined })],
    [
      'level',
      async () => {
        const dir = await makeTmpDir('agent-ca-ifabsent-');
        const store = await openLevelStore({ dataDir: dir.dir });
        return { store: store as Store, done: () => dir.cleanup() };
      },
    ],
  ] as const) {
    it(`writes where nothing is stored and leaves a stored answer alone (${name})`, async () => {
      const { store, done } = await open();
      try {
        await store.commit([put('first', true)]);
        expect((await store.ocspResponses.get(record('').issuerId, record('').serial))!.der.toString()).toBe('first');
        await store.commit([put('status-change')]);
        await store.commit([put('backfill', true)]);
        expect((await store.ocspResponses.get(record('').issuerId, record('').serial))!.der.toString()).toBe(
          'status-change',
        );
        // and within one batch: the earlier op of the batch counts as stored
        await store.commit([put('a'), put('b', true)]);
        expect((await store.ocspResponses.get(record('').issuerId, record('').serial))!.der.toString()).toBe('a');
      } finally {
        await store.close();
        await done();
      }
    });
  }
});
