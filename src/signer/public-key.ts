/** Facts about a SubjectPublicKeyInfo: which KeyType it is, and its RFC 5280 §4.2.1.2 key identifier. */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { Tag } from '../asn1/der.js';
import { childrenOf, expectTag, readWhole } from '../asn1/der-reader.js';
import { AgentCaError, Asn1DecodeError } from '../errors.js';
import type { KeyType } from '../types.js';
import { spkiKeyType } from '../asn1/spki.js';

export function publicKeyFromSpki(spki: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new AgentCaError('INPUT_PUBLIC_KEY_INVALID', `not a valid SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
}

/** The KeyType of a public key, or a typed error for anything we do not certify (RSA < 2048, other curves). */
export function keyTypeOf(key: KeyObject): KeyType {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits === 2048) return 'rsa2048';
    if (bits === 3072) return 'rsa3072';
    if (bits === 4096) return 'rsa4096';
    throw new AgentCaError(
      'INPUT_PUBLIC_KEY_INVALID',
      `RSA key of ${bits} bits: only 2048, 3072 and 4096 are certified`,
      { bits },
    );
  }
  if (t === 'ec') {
    if (d.namedCurve === 'prime256v1' || d.namedCurve === 'P-256') return 'p256';
    if (d.namedCurve === 'secp384r1' || d.namedCurve === 'P-384') return 'p384';
    throw new AgentCaError('INPUT_PUBLIC_KEY_INVALID', `EC curve ${d.namedCurve}: only P-256 and P-384 are certified`, {
      curve: d.namedCurve,
    });
  }
  if (t === 'ed25519') return 'ed25519';
  throw new AgentCaError('INPUT_PUBLIC_KEY_INVALID', `key type ${t} is not certified`, { keyType: t });
}

/** Validated key type, without OpenSSL's decoder (see spki.ts). */
export function keyTypeOfSpki(spki: Uint8Array): KeyType {
  return spkiKeyType(spki);
}

/**
 * SubjectKeyIdentifier: RFC 5280 §4.2.1.2 method (1), SHA-1 of the subjectPublicKey BIT STRING
 * contents. SHA-1 here is an identifier, not a signature; openssl computes the same value.
 */
export function keyIdentifier(spki: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
}

/** The subjectPublicKey BIT STRING's bytes (without the unused-bits octet) from an SPKI. */
export function subjectPublicKeyBits(spki: Uint8Array): Buffer {
  // SPKI ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
  try {
    const [, bits] = childrenOf(spki, readWhole(spki, Tag.SEQUENCE, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
    const t = expectTag(bits, Tag.BIT_STRING, 'subjectPublicKey');
    if (t.end === t.contentStart) throw new Asn1DecodeError('subjectPublicKey', 'empty BIT STRING');
    return Buffer.from(spki.subarray(t.contentStart + 1, t.end)); // after the unused-bits octet
  } catch (e) {
    if (e instanceof Asn1DecodeError) throw new AgentCaError('INPUT_PUBLIC_KEY_INVALID', `SPKI: ${e.message}`);
    throw e;
  }
}
