/**
 * Key material of the emulator: which KeySpecs exist, which SigningAlgorithms each allows (as
 * the KMS developer guide lists them), and signing / verifying a message or a digest the way
 * KMS does: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) and ECDSA with DER output.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateEncrypt,
  publicDecrypt,
  constants,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { bigFromBase64url, signDigestEcdsa, verifyDigestEcdsa } from './ecdsa-prehash.js';
import { KmsError, validation } from './kms-error.js';

export type KeySpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'ECC_NIST_P256' | 'ECC_NIST_P384';
export const KEY_SPECS: readonly KeySpec[] = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384'];

export type SigningAlgorithm =
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384';

const RSA_ALGS: SigningAlgorithm[] = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];

/** KMS pairs each NIST curve with one hash (P-256/SHA-256, P-384/SHA-384). PSS is not emulated. */
export function signingAlgorithmsFor(spec: KeySpec): SigningAlgorithm[] {
  if (spec === 'ECC_NIST_P256') return ['ECDSA_SHA_256'];
  if (spec === 'ECC_NIST_P384') return ['ECDSA_SHA_384'];
  return [...RSA_ALGS];
}

const DIGEST: Record<SigningAlgorithm, { hash: 'sha256' | 'sha384' | 'sha512'; len: number }> = {
  RSASSA_PKCS1_V1_5_SHA_256: { hash: 'sha256', len: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: 'sha384', len: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: 'sha512', len: 64 },
  ECDSA_SHA_256: { hash: 'sha256', len: 32 },
  ECDSA_SHA_384: { hash: 'sha384', len: 48 },
};

// DigestInfo prefixes, RFC 8017 §9.2 note 1.
const DIGEST_INFO: Record<'sha256' | 'sha384' | 'sha512', Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

export function generatePrivateKeyPem(spec: KeySpec): string {
  const pair =
    spec === 'ECC_NIST_P256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : spec === 'ECC_NIST_P384'
        ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
        : generateKeyPairSync('rsa', { modulusLength: Number(spec.slice(4)) });
  return pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** Loaded key material, with the scalars the prehash ECDSA path needs extracted once. */
export interface LoadedKey {
  spec: KeySpec;
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: Buffer;
  ec?: { curve: 'P-256' | 'P-384'; d: bigint; x: bigint; y: bigint };
}

export function loadKey(spec: KeySpec, pem: string): LoadedKey {
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const loaded: LoadedKey = { spec, privateKey, publicKey, spki };
  if (spec.startsWith('ECC_')) {
    const jwk = privateKey.export({ format: 'jwk' });
    loaded.ec = {
      curve: spec === 'ECC_NIST_P256' ? 'P-256' : 'P-384',
      d: bigFromBase64url(jwk.d!),
      x: bigFromBase64url(jwk.x!),
      y: bigFromBase64url(jwk.y!),
    };
  }
  return loaded;
}

/** The digest to sign: RAW messages are hashed here (<= 4096 bytes, as KMS limits them); DIGEST must have the hash's length. */
export function messageDigest(alg: SigningAlgorithm, message: Uint8Array, messageType: string): Buffer {
  const d = DIGEST[alg];
  if (messageType === 'RAW') {
    if (message.length > 4096) throw validation('Message must be at most 4096 bytes for MessageType RAW; use DIGEST');
    return createHash(d.hash).update(message).digest();
  }
  if (messageType === 'DIGEST') {
    if (message.length !== d.len)
      throw validation(`Digest is invalid length for algorithm ${alg}: ${message.length} bytes, expected ${d.len}`);
    return Buffer.from(message);
  }
  throw validation(
    `1 validation error detected: Value '${messageType}' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST]`,
  );
}

export function checkAlgorithm(key: LoadedKey, alg: string): SigningAlgorithm {
  if (!(alg in DIGEST)) throw validation(`SigningAlgorithm ${alg} is not supported by this emulator`);
  if (!signingAlgorithmsFor(key.spec).includes(alg as SigningAlgorithm)) {
    throw new KmsError('InvalidKeyUsageException', `The signing algorithm ${alg} is not valid for a ${key.spec} key`);
  }
  return alg as SigningAlgorithm;
}

export function signDigest(key: LoadedKey, alg: SigningAlgorithm, digest: Buffer): Buffer {
  if (key.ec) return signDigestEcdsa(key.ec.curve, key.ec.d, digest);
  // EMSA-PKCS1-v1_5 over an existing digest: private-key operation on DigestInfo (type 1 padding).
  return privateEncrypt(
    { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING },
    Buffer.concat([DIGEST_INFO[DIGEST[alg].hash], digest]),
  );
}

export function verifyDigest(key: LoadedKey, alg: SigningAlgorithm, digest: Buffer, signature: Uint8Array): boolean {
  if (key.ec) return verifyDigestEcdsa(key.ec.curve, key.ec.x, key.ec.y, digest, signature);
  try {
    const expected = Buffer.concat([DIGEST_INFO[DIGEST[alg].hash], digest]);
    const got = publicDecrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    return got.length === expected.length && timingSafeEqual(got, expected);
  } catch {
    return false;
  }
}
