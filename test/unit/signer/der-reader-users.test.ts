/**
 * The signer's DER reading goes through asn1/der-reader.ts: strict lengths (X.690 §10.1), no
 * reading past the buffer, and a typed error instead of garbage for a malformed input.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unwrapEcPoint } from '../../../src/signer/pkcs11-session.js';
import { keyIdentifier, subjectPublicKeyBits } from '../../../src/signer/public-key.js';

const point = Buffer.concat([Buffer.from([0x04]), Buffer.alloc(64, 7)]); // uncompressed P-256 point

describe('unwrapEcPoint (CKA_EC_POINT)', () => {
  it('takes the bare point or its DER OCTET STRING', () => {
    expect(unwrapEcPoint(point, 65)).toEqual(point);
    expect(unwrapEcPoint(Buffer.concat([Buffer.from([0x04, 65]), point]), 65)).toEqual(point);
  });

  it('refuses a non-minimal length, a wrong length and trailing bytes', () => {
    for (const bad of [
      Buffer.concat([Buffer.from([0x04, 0x81, 65]), point]), // 0x81 form for a length < 128
      Buffer.concat([Buffer.from([0x04, 64]), point.subarray(0, 64)]),
      Buffer.concat([Buffer.from([0x04, 65]), point, Buffer.from([0])]),
    ])
      expect(() => unwrapEcPoint(bad, 65)).toThrow(expect.objectContaining({ code: 'ACA_ERR_SIGNER_UNSUPPORTED' }));
  });
});

describe('subjectPublicKeyBits', () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });

  it('returns the BIT STRING contents after the unused-bits octet', () => {
    expect(subjectPublicKeyBits(spki)).toEqual(spki.subarray(spki.length - 65));
    expect(keyIdentifier(spki)).toHaveLength(20);
  });

  it('answers INPUT_PUBLIC_KEY_INVALID for a truncated or trailing-garbage SPKI', () => {
    for (const bad of [spki.subarray(0, spki.length - 1), Buffer.concat([spki, Buffer.from([0])]), Buffer.alloc(0)])
      expect(() => subjectPublicKeyBits(bad)).toThrow(
        expect.objectContaining({ code: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID' }),
      );
  });
});
