/**
 * The relying-party encodings: our OCSPRequest is read back by the project's own strict request
 * parser (openssl reads it in test/integration/actions.test.ts), and parseCrl reads what the
 * CRL builder writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCrl } from '../../../src/actions/crl-status.js';
import { ocspRequestDer } from '../../../src/ocsp/request-encode.js';
import { buildCrl } from '../../../src/crl/crl-builder.js';
import { crlIssuerFromCa } from '../../../src/crl/publisher.js';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { parseOcspRequest } from '../../../src/ocsp/request.js';
import { makeActionsFixture, type ActionsFixture } from './fixture.js';

let f: ActionsFixture;
beforeAll(async () => {
  f = await makeActionsFixture();
});
afterAll(async () => {
  await f.close();
});

describe('OCSP request encoder', () => {
  it('writes one CertID, with and without an RFC 8954 nonce', () => {
    const issuer = f.authority.ca('intermediate').certificate;
    const serial = Buffer.from('7f0102030405060708', 'hex');
    for (const hash of ['sha1', 'sha256'] as const) {
      const certId = certIdFor({ subjectDer: issuer.subject, publicKeyInfo: issuer.publicKeyInfo }, serial, hash);
      const plain = parseOcspRequest(ocspRequestDer(certId));
      expect(plain.certIds).toHaveLength(1);
      expect(plain.certIds[0]!.serial).toBe('7f0102030405060708');
      expect(plain.certIds[0]!.hashAlgorithm).toBe(hash);
      expect(plain.nonce).toBeUndefined();
      const nonce = Buffer.alloc(16, 0xab);
      expect(parseOcspRequest(ocspRequestDer(certId, nonce)).nonce).toEqual(nonce);
    }
  });
});

describe('parseCrl', () => {
  it('reads the issuer, times, entries and reasons the CRL builder writes', async () => {
    const ca = f.authority.ca('intermediate');
    const revokedAt = new Date('2030-02-01T00:00:00Z');
    const der = await buildCrl({
      issuer: crlIssuerFromCa(ca),
      number: 7n,
      thisUpdate: f.clock.now(),
      nextUpdate: new Date(f.clock.now().getTime() + 86_400_000),
      entries: [
        { serial: '0a0b0c', revokedAt, reason: 'keyCompromise' },
        { serial: 'ff01', revokedAt, reason: 'certificateHold' },
        { serial: '1234', revokedAt },
      ],
    });
    const crl = parseCrl(der);
    expect(crl.issuer.equals(ca.certificate.subject)).toBe(true);
    expect(crl.thisUpdate).toEqual(f.clock.now());
    expect(crl.entries.get('0a0b0c')).toEqual({ revokedAt, reason: 'keyCompromise' });
    expect(crl.entries.get('ff01')?.reason).toBe('certificateHold');
    expect(crl.entries.get('1234')).toEqual({ revokedAt });
    expect(crl.entries.size).toBe(3);
  });
});
