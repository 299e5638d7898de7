import { describe, expect, it } from 'vitest';
import { explicit, extension, octetString, sequence, tlv } from '../../../src/asn1/der.js';
import { Oids } from '../../../src/asn1/oids.js';
import { OcspRequestError } from '../../../src/ocsp/request-error.js';
import { MAX_NONCE_LENGTH, parseCertIdDer, parseOcspRequest, requestCacheKey } from '../../../src/ocsp/request.js';
import {
  certIdDer,
  criticalUnknownExtension,
  nonCriticalUnknownExtension,
  nonceExtension,
  requestDer,
} from './request-builder.js';

function malformed(der: Buffer): OcspRequestError {
  try {
    parseOcspRequest(der);
  } catch (e) {
    expect(e).toBeInstanceOf(OcspRequestError);
    const err = e as OcspRequestError;
    expect(err.ocspStatus).toBe('malformedRequest');
    expect(err.code).toBe('ACA_ERR_INPUT_OCSP_REQUEST_INVALID');
    return err;
  }
  throw new Error('expected the request to be refused');
}

describe('parseOcspRequest', () => {
  it('reads a single SHA-1 CertID, keeping its exact bytes', () => {
    const id = certIdDer({ serialContent: Buffer.from('00ab01', 'hex') });
    const r = parseOcspRequest(requestDer({ certIds: [id] }));
    expect(r.certIds).toHaveLength(1);
    const c = r.certIds[0]!;
    expect(c.hashAlgorithm).toBe('sha1');
    expect(c.issuerNameHash).toEqual(Buffer.alloc(20, 0x11));
    expect(c.issuerKeyHash).toEqual(Buffer.alloc(20, 0x22));
    expect(c.serial).toBe('ab01');
    expect(c.raw).toEqual(id);
    expect(r.nonce).toBeUndefined();
    expect(r.hasUnknownCritical).toBe(false);
    expect(r.signed).toBe(false);
  });

  it.each([
    [Oids.sha256, 'sha256'],
    [Oids.sha384, 'sha384'],
    [Oids.sha512, 'sha512'],
  ])('accepts %s CertIDs with NULL or absent parameters', (hashOid, name) => {
    for (const params of ['null', 'absent'] as const) {
      const r = parseOcspRequest(requestDer({ certIds: [certIdDer({ hashOid, params })] }));
      expect(r.certIds[0]!.hashAlgorithm).toBe(name);
    }
  });

  it('reads several CertIDs, a nonce, version v1, requestorName and a signature', () => {
    const nonce = Buffer.alloc(16, 0x5a);
    const der = requestDer({
      certIds: [
        certIdDer({ serialContent: Buffer.from([1]) }),
        certIdDer({ serialContent: Buffer.from([2]) }),
        certIdDer({ serialContent: Buffer.from([3]) }),
      ],
      extensions: [nonCriticalUnknownExtension(), nonceExtension(nonce)],
      version: 0,
      requestorName: true,
      signature: true,
    });
    const r = parseOcspRequest(der);
    expect(r.certIds.map((c) => c.serial)).toEqual(['01', '02', '03']);
    expect(r.nonce).toEqual(nonce);
    expect(r.hasUnknownCritical).toBe(false);
    expect(r.signed).toBe(true);
  });

  it('accepts nonces of 1 and 32 octets and refuses 0 and 33 (RFC 8954 §2.1)', () => {
    for (const n of [1, MAX_NONCE_LENGTH]) {
      expect(
        parseOcspRequest(requestDer({ certIds: [certIdDer()], extensions: [nonceExtension(Buffer.alloc(n, 7))] }))
          .nonce,
      ).toHaveLength(n);
    }
    for (const n of [0, MAX_NONCE_LENGTH + 1, 64]) {
      expect(
        malformed(requestDer({ certIds: [certIdDer()], extensions: [nonceExtension(Buffer.alloc(n, 7))] })).message,
      ).toMatch(/nonce/);
    }
  });

  it('refuses a nonce that is not an OCTET STRING, and two nonces', () => {
    const raw = extension(Oids.ocspNonce, false, Buffer.alloc(16, 1));
    malformed(requestDer({ certIds: [certIdDer()], extensions: [raw] }));
    malformed(
      requestDer({
        certIds: [certIdDer()],
        extensions: [nonceExtension(Buffer.from([1])), nonceExtension(Buffer.from([2]))],
      }),
    );
  });

  it('flags unknown critical extensions in the request and in a single request', () => {
    expect(
      parseOcspRequest(requestDer({ certIds: [certIdDer()], extensions: [criticalUnknownExtension()] }))
        .hasUnknownCritical,
    ).toBe(true);
    expect(
      parseOcspRequest(requestDer({ certIds: [certIdDer()], singleExtensions: [[criticalUnknownExtension()]] }))
        .hasUnknownCritical,
    ).toBe(true);
    expect(
      parseOcspRequest(requestDer({ certIds: [certIdDer()], singleExtensions: [[nonCriticalUnknownExtension()]] }))
        .hasUnknownCritical,
    ).toBe(false);
  });

  it('maps serials: leading 00 dropped, negative values marked so they cannot alias a positive serial', () => {
    expect(
      parseOcspRequest(requestDer({ certIds: [certIdDer({ serialContent: Buffer.from('0080', 'hex') })] })).certIds[0]!
        .serial,
    ).toBe('80');
    expect(
      parseOcspRequest(requestDer({ certIds: [certIdDer({ serialContent: Buffer.from('00', 'hex') })] })).certIds[0]!
        .serial,
    ).toBe('00');
    expect(
      parseOcspRequest(requestDer({ certIds: [certIdDer({ serialContent: Buffer.from('80', 'hex') })] })).certIds[0]!
        .serial,
    ).toBe('-80');
  });

  it('refuses structural faults', () => {
    const good = requestDer({ certIds: [certIdDer()] });
    expect(malformed(Buffer.concat([good, Buffer.from([0])])).message).toMatch(/trailing/);
    malformed(Buffer.from([0x31, ...good.subarray(1)]));
    malformed(good.subarray(0, good.length - 1));
    malformed(Buffer.alloc(0));
    malformed(Buffer.from([0x30, 0x80, 0x00, 0x00])); // indefinite length
    expect(malformed(requestDer({ certIds: [] })).message).toMatch(/empty requestList/);
    malformed(requestDer({ certIds: [certIdDer()], version: 1 }));
    malformed(sequence(sequence(sequence(sequence(certIdDer())), explicit(2, sequence())))); // empty Extensions
    malformed(sequence(sequence(sequence(sequence(certIdDer()))), explicit(0, sequence()), Buffer.from([0x05, 0x00])));
  });

  it('refuses unknown hash algorithms and hashes of the wrong length', () => {
    expect(
      malformed(
        requestDer({
          certIds: [
            certIdDer({ hashOid: '1.2.840.113549.2.5', nameHash: Buffer.alloc(16), keyHash: Buffer.alloc(16) }),
          ],
        }),
      ).message,
    ).toMatch(/hash algorithm/);
    expect(malformed(requestDer({ certIds: [certIdDer({ nameHash: Buffer.alloc(32) })] })).message).toMatch(
      /20 octets/,
    );
    malformed(requestDer({ certIds: [certIdDer({ hashOid: Oids.sha256, keyHash: Buffer.alloc(20) })] }));
  });

  it('refuses non-minimal serials and bad hash parameters', () => {
    malformed(requestDer({ certIds: [certIdDer({ serialContent: Buffer.from('0001', 'hex') })] }));
    malformed(requestDer({ certIds: [certIdDer({ serialContent: Buffer.from('ff80', 'hex') })] }));
    malformed(requestDer({ certIds: [certIdDer({ serialContent: Buffer.alloc(0) })] }));
    const withOctetParams = sequence(
      sequence(tlv(0x06, Buffer.from('2b0e03021a', 'hex')), octetString(Buffer.from([0]))),
      octetString(Buffer.alloc(20)),
      octetString(Buffer.alloc(20)),
      tlv(2, Buffer.from([1])),
    );
    malformed(requestDer({ certIds: [withOctetParams] }));
  });

  it('parses a Uint8Array that is a view into a larger buffer', () => {
    const der = requestDer({ certIds: [certIdDer()] });
    const big = new Uint8Array(der.length + 10);
    big.set(der, 5);
    expect(parseOcspRequest(big.subarray(5, 5 + der.length)).certIds[0]!.serial).toBe('0102030405');
  });

  it('parseCertIdDer reads a CertID on its own', () => {
    const id = certIdDer({ hashOid: Oids.sha256 });
    expect(parseCertIdDer(id)).toMatchObject({ hashAlgorithm: 'sha256', serial: '0102030405' });
    expect(() => parseCertIdDer(Buffer.concat([id, Buffer.from([0])]))).toThrow(OcspRequestError);
  });
});

describe('requestCacheKey', () => {
  it('is equal for equal bytes and different for different ones', () => {
    const a = requestDer({ certIds: [certIdDer()] });
    const b = requestDer({ certIds: [certIdDer({ serialContent: Buffer.from([9]) })] });
    expect(requestCacheKey(a)).toBe(requestCacheKey(Buffer.from(a)));
    expect(requestCacheKey(new Uint8Array(a))).toBe(requestCacheKey(a));
    expect(requestCacheKey(a)).not.toBe(requestCacheKey(b));
  });
});
