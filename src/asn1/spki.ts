/**
 * Fast, strict reading of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) without OpenSSL's key
 * decoder, which costs ~160 µs per call and would dominate issuance. Checks what a CA must
 * check before certifying a key: the algorithm and curve we support (RFC 5480, RFC 8410,
 * RFC 4055), RSA modulus size and an odd exponent >= 65537, and that an EC point is on its curve
 * (NIST SP 800-56A §5.6.2.3.3 partial validation; the curves have cofactor 1).
 */
import { Tag } from './der.js';
import { childrenOf, content, decodeOid, expectTag, readWhole } from './der-reader.js';
import { Oids } from './oids.js';
import { AgentCaError } from '../errors.js';
import type { KeyType } from '../types.js';

interface Curve {
  p: bigint;
  a: bigint;
  b: bigint;
  bytes: number;
  keyType: KeyType;
}

const CURVES: Record<string, Curve> = {
  [Oids.prime256v1]: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    bytes: 32,
    keyType: 'p256',
  },
  [Oids.secp384r1]: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    bytes: 48,
    keyType: 'p384',
  },
};

function invalid(why: string): never {
  throw new AgentCaError('INPUT_PUBLIC_KEY_INVALID', `public key refused: ${why}`);
}

function big(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

/** The KeyType of a validated SPKI; a typed error for anything we do not certify. */
export function spkiKeyType(spki: Uint8Array): KeyType {
  let top, alg, algOid, keyBits;
  try {
    top = childrenOf(spki, readWhole(spki, Tag.SEQUENCE, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
    alg = childrenOf(spki, expectTag(top[0], Tag.SEQUENCE, 'algorithm'), 'algorithm');
    algOid = decodeOid(content(spki, expectTag(alg[0], Tag.OID, 'algorithm')));
    keyBits = content(spki, expectTag(top[1], Tag.BIT_STRING, 'subjectPublicKey'));
    if (top.length !== 2) invalid('extra fields in SubjectPublicKeyInfo');
  } catch (e) {
    if (e instanceof AgentCaError && e.is('INPUT_PUBLIC_KEY_INVALID')) throw e;
    invalid(`not a SubjectPublicKeyInfo (${(e as Error).message})`);
  }
  if (keyBits[0] !== 0) invalid('subjectPublicKey has unused bits');
  const key = keyBits.subarray(1);
  if (algOid === Oids.rsaEncryption) {
    // RFC 4055 §1.2: parameters MUST be NULL.
    if (alg.length !== 2 || alg[1]!.tag !== Tag.NULL) invalid('rsaEncryption parameters must be NULL');
    let n: Buffer, e: Buffer;
    try {
      const parts = childrenOf(key, readWhole(key, Tag.SEQUENCE, 'RSAPublicKey'), 'RSAPublicKey');
      if (parts.length !== 2) invalid('RSAPublicKey must be { modulus, publicExponent }');
      n = content(key, expectTag(parts[0], Tag.INTEGER, 'modulus'));
      e = content(key, expectTag(parts[1], Tag.INTEGER, 'publicExponent'));
    } catch (err) {
      if (err instanceof AgentCaError && err.is('INPUT_PUBLIC_KEY_INVALID')) throw err;
      invalid(`bad RSAPublicKey (${(err as Error).message})`);
    }
    if (n[0]! & 0x80 || e[0]! & 0x80) invalid('RSA modulus and exponent must be positive');
    const modulus = n[0] === 0 ? n.subarray(1) : n;
    const bits = modulus.length * 8 - Math.clz32(modulus[0]!) + 24;
    if (!(modulus[modulus.length - 1]! & 1)) invalid('RSA modulus is even');
    const exponent = big(e);
    // NIST SP 800-89 §5.3.3 and the CA/Browser Forum BRs §6.1.6: odd, 2^16+1 <= e < 2^256.
    // e = 3 is refused: with bad padding elsewhere it enables low-exponent attacks.
    if (exponent < 65537n || exponent >= 1n << 256n || !(exponent & 1n))
      invalid('RSA public exponent must be odd and in 65537..2^256-1 (NIST SP 800-89 §5.3.3)');
    if (bits === 2048) return 'rsa2048';
    if (bits === 3072) return 'rsa3072';
    if (bits === 4096) return 'rsa4096';
    invalid(`RSA key of ${bits} bits: only 2048, 3072 and 4096 are certified`);
  }
  if (algOid === Oids.ecPublicKey) {
    const curveOid = alg[1]?.tag === Tag.OID ? decodeOid(content(spki, alg[1])) : undefined;
    const curve = curveOid ? CURVES[curveOid] : undefined;
    if (!curve)
      invalid(
        `EC curve ${curveOid ?? '(implicit or explicit parameters)'}: only P-256 and P-384 (named curves, RFC 5480 §2.1.1) are certified`,
      );
    // RFC 5480 §2.2: uncompressed points only.
    if (key.length !== 1 + 2 * curve.bytes || key[0] !== 0x04) invalid('EC public key must be an uncompressed point');
    const x = big(key.subarray(1, 1 + curve.bytes));
    const y = big(key.subarray(1 + curve.bytes));
    const { p, a, b } = curve;
    if (x >= p || y >= p) invalid('EC point coordinates out of range');
    if ((y * y - (x * x * x + a * x + b)) % p !== 0n) invalid('EC point is not on the curve');
    return curve.keyType;
  }
  if (algOid === Oids.ed25519) {
    // RFC 8410 §3: parameters absent; the key is 32 octets.
    if (alg.length !== 1) invalid('Ed25519 parameters must be absent');
    if (key.length !== 32) invalid('Ed25519 public key must be 32 octets');
    return 'ed25519';
  }
  return invalid(`key algorithm ${algOid} is not certified (RSA, P-256, P-384, Ed25519)`);
}
