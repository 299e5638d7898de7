/** Encrypted soft keys: PBES2 with PBKDF2-HMAC-SHA256 x 600,000 and AES-256-CBC, read back by openssl and by Node; old files keep loading. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptPrivateKeyPem, PBKDF2_ITERATIONS } from '../../../src/signer/pkcs8-encrypt.js';
import { exportPrivateKeyPem, loadPrivateKeyPem } from '../../../src/signer/soft-key.js';
import { openssl } from '../../helpers/openssl.js';

describe('encrypted soft keys', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = (k: typeof privateKey) => k.export({ format: 'der', type: 'pkcs8' }).toString('hex');

  it('writes PBES2 / PBKDF2-HMAC-SHA256 with 600,000 iterations / AES-256-CBC, which openssl decrypts', () => {
    expect(PBKDF2_ITERATIONS).toBe(600_000);
    const pem = exportPrivateKeyPem(privateKey, 'correct horse');
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    const parsed = openssl(['asn1parse', '-i'], { input: pem });
    expect(parsed.status).toBe(0);
    expect(parsed.stdout).toMatch(/PBES2/);
    expect(parsed.stdout).toMatch(/PBKDF2/);
    expect(parsed.stdout).toMatch(/INTEGER\s+:0927C0\b/); // 600000
    expect(parsed.stdout).toMatch(/hmacWithSHA256/);
    expect(parsed.stdout).toMatch(/aes-256-cbc/);
    const out = openssl(['pkey', '-passin', 'pass:correct horse', '-outform', 'DER'], { input: pem });
    expect(out.status, out.stderr).toBe(0);
    expect(spki(loadPrivateKeyPem(pem, 'correct horse', 'test key'))).toBe(spki(privateKey));
  });

  it('refuses a wrong passphrase with ACA_ERR_SIGNER_PASSPHRASE', () => {
    const pem = encryptPrivateKeyPem(privateKey, 'right', 1000);
    expect(() => loadPrivateKeyPem(pem, 'wrong', 'test key')).toThrow(
      expect.objectContaining({ code: 'ACA_ERR_SIGNER_PASSPHRASE' }),
    );
  });

  it('still loads files written with the old 2,048-iteration default', () => {
    const old = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    expect(openssl(['asn1parse', '-i'], { input: old }).stdout).toMatch(/INTEGER\s+:0800\b/);
    expect(spki(loadPrivateKeyPem(old, 'pw', 'old key'))).toBe(spki(privateKey));
  });
});
