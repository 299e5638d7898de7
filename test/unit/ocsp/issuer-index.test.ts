import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { IssuerIndex } from '../../../src/ocsp/issuer-index.js';
import { parseCertIdDer } from '../../../src/ocsp/request.js';
import type { IssuerId } from '../../../src/types.js';
import { makeCaFixture, type CaFixture } from './ca-fixture.js';

let ca: CaFixture;
beforeAll(async () => {
  ca = await makeCaFixture('p256');
});
afterAll(async () => {
  await ca.close();
});

const info = (name: 'root' | 'intermediate') => {
  const c = ca.authority.ca(name).certificate;
  return { subjectDer: c.subject, publicKeyInfo: c.publicKeyInfo };
};

describe('IssuerIndex', () => {
  it('maps CertIDs of every hash algorithm to the CA that issued them', () => {
    for (const hash of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      expect(ca.index.lookup(parseCertIdDer(certIdFor(info('root'), Buffer.from([1]), hash)))).toBe('root');
      expect(ca.index.lookup(parseCertIdDer(certIdFor(info('intermediate'), Buffer.from([1]), hash)))).toBe(
        'intermediate',
      );
    }
    expect(ca.index.ids.sort()).toEqual(['intermediate', 'root']);
    expect(ca.index.issuer('root' as IssuerId)?.subjectDer).toEqual(info('root').subjectDer);
  });

  it('does not match a name with the wrong key, or a foreign CA', () => {
    const mixed = { subjectDer: info('intermediate').subjectDer, publicKeyInfo: info('root').publicKeyInfo };
    expect(ca.index.lookup(parseCertIdDer(certIdFor(mixed, Buffer.from([1]), 'sha1')))).toBeUndefined();
    const agentOnly = new IssuerIndex([{ id: 'root' as IssuerId, ...info('root') }]);
    expect(agentOnly.lookup(parseCertIdDer(certIdFor(info('intermediate'), Buffer.from([1]), 'sha1')))).toBeUndefined();
    expect(
      () =>
        new IssuerIndex([
          { id: 'x' as IssuerId, ...info('root') },
          { id: 'x' as IssuerId, ...info('root') },
        ]),
    ).toThrow(/twice/);
  });
});
