import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCaError } from '../../../src/errors.js';
import { certIdFor, issuerHashes } from '../../../src/ocsp/cert-id.js';
import { presignForSerial } from '../../../src/ocsp/presign.js';
import { parseCertIdDer } from '../../../src/ocsp/request.js';
import { responderIdentity } from '../../../src/ocsp/responder-identity.js';
import { parseOcspResponse, verifyBasicResponse } from '../../../src/ocsp/response-parse.js';
import { buildBasicResponse, errorResponse } from '../../../src/ocsp/response.js';
import { certStatusFrom } from '../../../src/ocsp/status-map.js';
import { subjectPublicKeyBits } from '../../../src/signer/public-key.js';
import type { Serial } from '../../../src/types.js';
import { makeCaFixture, type CaFixture } from './ca-fixture.js';

let ca: CaFixture;
beforeAll(async () => {
  ca = await makeCaFixture('p256');
});
afterAll(async () => {
  await ca.close();
});

const T0 = new Date('2026-03-01T12:00:00.789Z');
const T1 = new Date('2026-03-01T13:00:00.000Z');

function intermediateKeyInfo() {
  const c = ca.authority.ca('intermediate').certificate;
  return { subjectDer: c.subject, publicKeyInfo: c.publicKeyInfo };
}

describe('certIdFor', () => {
  it('hashes the issuer subject DER and the subjectPublicKey bits', () => {
    const info = intermediateKeyInfo();
    for (const hash of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      const id = parseCertIdDer(certIdFor(info, Buffer.from('00ff01', 'hex'), hash));
      expect(id.hashAlgorithm).toBe(hash);
      expect(id.serial).toBe('ff01');
      expect(id.issuerNameHash).toEqual(createHash(hash).update(info.subjectDer).digest());
      expect(id.issuerKeyHash).toEqual(createHash(hash).update(subjectPublicKeyBits(info.publicKeyInfo)).digest());
      expect(certIdFor(issuerHashes(info, hash), Buffer.from('ff01', 'hex'), hash)).toEqual(id.raw);
    }
  });
});

describe('buildBasicResponse', () => {
  it('signs a response that parses back with byKey responder ID, certs = the delegated responder, and no fractional times', async () => {
    const certIdDer = certIdFor(intermediateKeyInfo(), Buffer.from('0a0b', 'hex'), 'sha1');
    const nonce = Buffer.alloc(16, 0x42);
    const der = await buildBasicResponse({
      responder: ca.responders.intermediate,
      producedAt: T0,
      responses: [
        { certIdDer, status: { kind: 'good' }, thisUpdate: T0, nextUpdate: T1 },
        {
          certIdDer,
          status: { kind: 'revoked', revokedAt: new Date('2026-02-01T00:00:00Z'), reason: 'keyCompromise' },
          thisUpdate: T0,
          nextUpdate: T1,
        },
        {
          certIdDer,
          status: { kind: 'revoked', revokedAt: new Date('2026-02-01T00:00:00Z'), reason: 'unspecified' },
          thisUpdate: T0,
          nextUpdate: T1,
        },
        { certIdDer, status: { kind: 'unknown' }, thisUpdate: T0, nextUpdate: T1 },
      ],
      nonce,
    });
    const parsed = parseOcspResponse(der);
    expect(parsed.status).toBe('successful');
    const b = parsed.basic!;
    const responderSpki = ca.authority.ca('intermediate').responder.certificate.publicKeyInfo;
    expect(b.responderId).toEqual({ byKey: createHash('sha1').update(subjectPublicKeyBits(responderSpki)).digest() });
    expect(b.certs).toEqual([ca.authority.ca('intermediate').responder.certificate.der]);
    expect(b.certs[0]).not.toEqual(ca.authority.ca('intermediate').certificate.der);
    expect(b.nonce).toEqual(nonce);
    expect(b.producedAt).toEqual(new Date('2026-03-01T12:00:00Z'));
    expect(b.responses.map((r) => r.status)).toEqual([
      { kind: 'good' },
      { kind: 'revoked', revokedAt: new Date('2026-02-01T00:00:00Z'), reason: 'keyCompromise' },
      { kind: 'revoked', revokedAt: new Date('2026-02-01T00:00:00Z') },
      { kind: 'unknown' },
    ]);
    expect(b.responses[0]!.certId.raw).toEqual(certIdDer);
    expect(b.responses[0]!.nextUpdate).toEqual(T1);
    expect(b.signatureAlgorithmOid).toBe('1.2.840.10045.4.3.2');
    expect(verifyBasicResponse(b, responderSpki)).toBe(true);
    // Every GeneralizedTime is YYYYMMDDHHMMSSZ: tag 0x18, length 15 (RFC 5019 §2.2.4).
    // eslint-disable-next-line no-control-regex -- 0x18 is the DER GeneralizedTime tag byte
    const times = [...der.toString('latin1').matchAll(/\x18([\s\S])(\d{14}[.Z])/g)];
    expect(times.length).toBeGreaterThanOrEqual(9);
    for (const m of times) expect(m[1]!.charCodeAt(0)).toBe(15);
  });

  it('signs with RSA-2048 (sha256WithRSAEncryption) too', async () => {
    const rsa = await makeCaFixture('rsa2048');
    try {
      const der = await buildBasicResponse({
        responder: rsa.responders.root,
        producedAt: T0,
        responses: [
          {
            certIdDer: certIdFor(
              {
                subjectDer: rsa.authority.ca('root').certificate.subject,
                publicKeyInfo: rsa.authority.ca('root').certificate.publicKeyInfo,
              },
              Buffer.from([1]),
              'sha1',
            ),
            status: { kind: 'good' },
            thisUpdate: T0,
            nextUpdate: T1,
          },
        ],
      });
      const b = parseOcspResponse(der).basic!;
      expect(b.signatureAlgorithmOid).toBe('1.2.840.113549.1.1.11');
      expect(verifyBasicResponse(b, rsa.authority.ca('root').responder.certificate.publicKeyInfo)).toBe(true);
      expect(verifyBasicResponse(b, ca.authority.ca('root').responder.certificate.publicKeyInfo)).toBe(false);
    } finally {
      await rsa.close();
    }
  });

  it('refuses what it cannot encode truthfully', async () => {
    const certIdDer = certIdFor(intermediateKeyInfo(), Buffer.from([1]), 'sha1');
    const responder = ca.responders.intermediate;
    await expect(buildBasicResponse({ responder, producedAt: T0, responses: [] })).rejects.toThrow(AgentCaError);
    await expect(
      buildBasicResponse({
        responder,
        producedAt: T0,
        responses: [{ certIdDer, status: { kind: 'good' }, thisUpdate: T1, nextUpdate: T0 }],
      }),
    ).rejects.toThrow(/nextUpdate/);
    await expect(
      buildBasicResponse({
        responder,
        producedAt: T0,
        responses: [
          {
            certIdDer,
            status: { kind: 'revoked', revokedAt: T0, reason: 'removeFromCRL' },
            thisUpdate: T0,
            nextUpdate: T1,
          },
        ],
      }),
    ).rejects.toThrow(/removeFromCRL/);
    await expect(
      buildBasicResponse({
        responder,
        producedAt: T0,
        responses: [{ certIdDer, status: { kind: 'good' }, thisUpdate: T0, nextUpdate: T1 }],
        nonce: Buffer.alloc(33),
      }),
    ).rejects.toThrow(/nonce/);
  });
});

describe('errorResponse', () => {
  it('is an OCSPResponse with only the status (RFC 6960 §4.2.1)', () => {
    const codes = { malformedRequest: 1, internalError: 2, tryLater: 3, sigRequired: 5, unauthorized: 6 } as const;
    for (const [name, code] of Object.entries(codes)) {
      const der = errorResponse(name as keyof typeof codes);
      expect(der).toEqual(Buffer.from([0x30, 0x03, 0x0a, 0x01, code]));
      expect(parseOcspResponse(der)).toEqual({ status: name });
    }
    expect(() => errorResponse('successful' as never)).toThrow(AgentCaError);
  });
});

describe('responderIdentity', () => {
  it('refuses a CA certificate and a key that does not match the certificate', () => {
    const int = ca.authority.ca('intermediate');
    expect(() => responderIdentity(int.signer, int.certificate.der)).toThrow(/OCSPSigning/);
    expect(() => responderIdentity(int.signer, int.responder.certificate.der)).toThrow(/does not match/);
  });
});

describe('presignForSerial', () => {
  it('produces one signed response per CertID hash algorithm', async () => {
    const out = await presignForSerial({
      responder: ca.responders.intermediate,
      issuer: intermediateKeyInfo(),
      serial: '7f01' as Serial,
      status: { kind: 'good' },
      thisUpdate: T0,
      nextUpdate: T1,
    });
    expect(out.map((o) => o.hashAlgorithm)).toEqual(['sha1', 'sha256']);
    for (const o of out) {
      const b = parseOcspResponse(o.der).basic!;
      expect(b.responses).toHaveLength(1);
      expect(b.responses[0]!.certId).toMatchObject({ hashAlgorithm: o.hashAlgorithm, serial: '7f01' });
      expect(ca.index.lookup(b.responses[0]!.certId)).toBe('intermediate');
      expect(b.nonce).toBeUndefined();
      expect(verifyBasicResponse(b, ca.responders.intermediate.signer.publicKeyInfo)).toBe(true);
    }
    await expect(
      presignForSerial({
        responder: ca.responders.intermediate,
        issuer: intermediateKeyInfo(),
        serial: 'xyz' as Serial,
        status: { kind: 'good' },
        thisUpdate: T0,
        nextUpdate: T1,
      }),
    ).rejects.toThrow(AgentCaError);
  });
});

describe('certStatusFrom', () => {
  it('maps the reported status to CertStatus', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(certStatusFrom(undefined)).toEqual({ kind: 'unknown' });
    expect(certStatusFrom({ state: 'good' })).toEqual({ kind: 'good' });
    expect(certStatusFrom({ state: 'expired' })).toEqual({ kind: 'good' });
    expect(certStatusFrom({ state: 'held', revokedAt: at, reason: 'certificateHold' })).toEqual({
      kind: 'revoked',
      revokedAt: at,
      reason: 'certificateHold',
    });
    expect(certStatusFrom({ state: 'revoked', revokedAt: at, reason: 'superseded' })).toEqual({
      kind: 'revoked',
      revokedAt: at,
      reason: 'superseded',
    });
    expect(() => certStatusFrom({ state: 'revoked' })).toThrow(AgentCaError);
  });
});
