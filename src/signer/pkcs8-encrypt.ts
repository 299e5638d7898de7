/**
 * Encrypted PKCS#8 for soft keys (RFC 5958 EncryptedPrivateKeyInfo, PBES2 from RFC 8018 §6.2):
 * PBKDF2-HMAC-SHA256 with 600,000 iterations and AES-256-CBC. Node's own
 * `export({ cipher, passphrase })` uses OpenSSL's default of 2,048 iterations, far below what
 * a stolen key file needs (OWASP's 2023 figure for PBKDF2-HMAC-SHA256 is 600,000). OpenSSL
 * reads the result (`openssl pkey -in key.pem`), and so does createPrivateKey; files written
 * with fewer iterations keep loading (docs/hardening.md).
 */
import { createCipheriv, pbkdf2Sync, randomBytes, type KeyObject } from 'node:crypto';
import { algorithmIdentifier, integer, octetString, oid, sequence } from '../asn1/der.js';
import { toPem } from '../asn1/pem.js';

export const PBKDF2_ITERATIONS = 600_000;

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/** PEM `ENCRYPTED PRIVATE KEY` of `key` under `passphrase`. */
export function encryptPrivateKeyPem(key: KeyObject, passphrase: string, iterations = PBKDF2_ITERATIONS): string {
  const plain = key.export({ format: 'der', type: 'pkcs8' });
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const aesKey = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  aesKey.fill(0);
  plain.fill(0);
  const kdf = algorithmIdentifier(
    OID.pbkdf2,
    sequence(octetString(salt), integer(iterations), algorithmIdentifier(OID.hmacWithSha256, 'null')),
  );
  const scheme = algorithmIdentifier(OID.aes256Cbc, octetString(iv));
  const der = sequence(sequence(oid(OID.pbes2), sequence(kdf, scheme)), octetString(encrypted));
  return toPem(der, 'ENCRYPTED PRIVATE KEY');
}
