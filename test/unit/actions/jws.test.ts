import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { compactVerify, flattenedVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  b64u,
  compactOf,
  fromB64u,
  jwsVerify,
  parseEnvelope,
  signJws,
  signingInput,
} from '../../../src/actions/jws.js';
import { signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { KeyUri } from '../../../src/types.js';

const uri = 'softkey:test' as KeyUri;
const HEADER = { typ: 'agent-action+jws', kid: 'k1' };

describe('JWS signatures (signed through the Signer port, verified by jose)', () => {
  it('ES256 and ES384 carry raw r||s (RFC 7518 §3.4), not the DER the Signer returns', async () => {
    for (const [curve, len, alg] of [
      ['prime256v1', 64, 'ES256'],
      ['secp384r1', 96, 'ES384'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const jws = await signJws(signerFromPrivateKey(privateKey, uri), HEADER, '{"a":1}');
      expect(fromB64u(jws.signature)).toHaveLength(len);
      expect(JSON.parse(fromB64u(jws.protected)!.toString())).toEqual({ alg, ...HEADER });
      // jose itself, with nothing of ours in between, accepts both serializations
      const compact = await compactVerify(compactOf(jws), publicKey, { algorithms: [alg] });
      expect(Buffer.from(compact.payload).toString()).toBe('{"a":1}');
      expect((await flattenedVerify(jws, publicKey)).protectedHeader).toMatchObject({ alg });
      expect(await jwsVerify(jws, alg, publicKey)).toEqual({ ok: true });
      // the DER form of the same signature is refused: JWS verifiers must not accept it
      const der = cryptoSign(
        alg === 'ES256' ? 'sha256' : 'sha384',
        signingInput(jws.protected, jws.payload),
        privateKey,
      );
      expect((await jwsVerify({ ...jws, signature: b64u(der) }, alg, publicKey)).ok).toBe(false);
    }
  });

  it('RS256 and EdDSA verify; a flipped bit, another payload or another key does not', async () => {
    for (const kp of [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('ed25519')]) {
      const jws = await signJws(signerFromPrivateKey(kp.privateKey, uri), HEADER, 'payload');
      const alg = kp.publicKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'EdDSA';
      expect(JSON.parse(fromB64u(jws.protected)!.toString()).alg).toBe(alg);
      expect(await jwsVerify(jws, alg, kp.publicKey)).toEqual({ ok: true });
      const flipped = fromB64u(jws.signature)!;
      flipped[5]! ^= 1;
      expect(await jwsVerify({ ...jws, signature: b64u(flipped) }, alg, kp.publicKey)).toEqual({
        ok: false,
        detail: 'signature does not verify with the certified key',
      });
      expect((await jwsVerify({ ...jws, payload: b64u('payloaD') }, alg, kp.publicKey)).ok).toBe(false);
      const other = generateKeyPairSync('ed25519').publicKey;
      expect((await jwsVerify(jws, alg, other)).ok).toBe(false);
    }
  });

  it('the header cannot pick an algorithm that does not fit the certified key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jws = await signJws(signerFromPrivateKey(privateKey, uri), HEADER, 'x');
    for (const alg of ['ES384', 'RS256', 'EdDSA'] as const) {
      const forged = { ...jws, protected: b64u(JSON.stringify({ alg, ...HEADER })) };
      const r = await jwsVerify(forged, alg, publicKey);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.detail).toMatch(/does not fit the certified ec key/);
    }
    // the header names ES256 but the verifier was told the key's algorithm is another one
    expect(await jwsVerify(jws, 'ES384', publicKey)).toMatchObject({ ok: false });
  });

  it('an unknown crit and b64=false (RFC 7797) are refused by the verifier', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = signerFromPrivateKey(privateKey, uri);
    for (const extra of [
      { crit: ['exp'], exp: 1 },
      { b64: false, crit: ['b64'] },
    ]) {
      const jws = await signJws(signer, { ...HEADER, ...extra }, 'x');
      const r = await jwsVerify(jws, 'EdDSA', publicKey);
      expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/^JWS refused/) });
    }
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
