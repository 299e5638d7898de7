import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { b64u, fromB64u, jwsSign, jwsVerify, parseEnvelope, signingInput } from '../../../src/actions/jws.js';
import { signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { KeyUri } from '../../../src/types.js';

const uri = 'softkey:test' as KeyUri;

describe('JWS signatures', () => {
  it('ES256 and ES384 carry raw r||s (RFC 7518 §3.4), not the DER the Signer returns', async () => {
    for (const [curve, len, alg] of [
      ['prime256v1', 64, 'ES256'],
      ['secp384r1', 96, 'ES384'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const input = signingInput('aGVhZGVy', 'cGF5bG9hZA');
      const out = await jwsSign(signerFromPrivateKey(privateKey, uri), input);
      expect(out.alg).toBe(alg);
      expect(out.signature).toHaveLength(len);
      expect(out.signature[0]).not.toBe(undefined);
      expect(jwsVerify(alg, publicKey, input, out.signature)).toEqual({ ok: true });
      // the DER form of the same signature is refused: JWS verifiers must not accept it
      const der = cryptoSign(alg === 'ES256' ? 'sha256' : 'sha384', input, privateKey);
      expect(jwsVerify(alg, publicKey, input, der).ok).toBe(false);
    }
  });

  it('RS256 and EdDSA verify; a flipped bit or another key does not', async () => {
    for (const kp of [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('ed25519')]) {
      const input = signingInput('aA', 'bB');
      const out = await jwsSign(signerFromPrivateKey(kp.privateKey, uri), input);
      expect(out.alg).toBe(kp.publicKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'EdDSA');
      expect(jwsVerify(out.alg, kp.publicKey, input, out.signature).ok).toBe(true);
      const flipped = Buffer.from(out.signature);
      flipped[5]! ^= 1;
      expect(jwsVerify(out.alg, kp.publicKey, input, flipped).ok).toBe(false);
      expect(jwsVerify(out.alg, kp.publicKey, signingInput('aA', 'bC'), out.signature).ok).toBe(false);
    }
  });

  it('the header cannot pick an algorithm that does not fit the certified key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(jwsVerify('ES384', publicKey, Buffer.from('x'), Buffer.alloc(96)).ok).toBe(false);
    expect(jwsVerify('RS256', publicKey, Buffer.from('x'), Buffer.alloc(256)).ok).toBe(false);
    expect(jwsVerify('EdDSA', publicKey, Buffer.from('x'), Buffer.alloc(64)).ok).toBe(false);
  });
});

describe('parseEnvelope', () => {
  const env = { protected: 'eyJhIjoxfQ', payload: 'eyJiIjoyfQ', signature: 'c2ln' };

  it('reads flattened JSON, its text, compact and base64url JSON alike', () => {
    expect(parseEnvelope(env)).toEqual(env);
    expect(parseEnvelope(JSON.stringify(env))).toEqual(env);
    expect(parseEnvelope(Buffer.from(JSON.stringify(env)))).toEqual(env);
    expect(parseEnvelope(`${env.protected}.${env.payload}.${env.signature}`)).toEqual(env);
    expect(parseEnvelope(b64u(JSON.stringify(env)))).toEqual(env);
  });

  it.each([
    ['detached compact', 'eyJhIjoxfQ..c2ln'],
    ['general serialization', JSON.stringify({ payload: 'eA', signatures: [] })],
    [
      'unprotected header',
      JSON.stringify({ ...{ protected: 'eA', payload: 'eA', signature: 'eA' }, header: { x5c: [] } }),
    ],
    ['standard base64 in a member', JSON.stringify({ protected: 'e+A/', payload: 'eA', signature: 'eA' })],
    ['empty signature', JSON.stringify({ protected: 'eA', payload: 'eA', signature: '' })],
    ['nonsense', 'hello world'],
  ])('refuses %s', (_name, input) => {
    expect(() => parseEnvelope(input)).toThrow(/JWS|envelope|header/);
  });

  it('fromB64u is strict', () => {
    expect(fromB64u('AQID')).toEqual(Buffer.from([1, 2, 3]));
    expect(fromB64u('AQ==')).toBeUndefined();
    expect(fromB64u('A+B/')).toBeUndefined();
    expect(fromB64u('A')).toBeUndefined();
  });
});
