/**
 * The JOSE pieces we need and nothing more (RFC 7515 JWS, RFC 7518 algorithms, RFC 8037
 * EdDSA): algorithm choice from a Signer, the signing input, signature encoding (ECDSA is raw
 * r||s in JWS, RFC 7518 §3.4, while our Signers return DER), and reading an envelope in any of
 * its three spellings (flattened JSON, compact, base64url of the JSON).
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ecdsaDerToRaw, ecdsaFieldBytes } from '../asn1/ecdsa-signature.js';
import { AgentCaError } from '../errors.js';
import type { Signer } from '../signer/signer.js';
import type { SignatureAlgorithm } from '../types.js';
import type { ActionEnvelope, JwsAlgorithm } from './types.js';

/** The media type of our envelopes (RFC 7515 §4.1.9 `typ`). */
export const ACTION_JWS_TYPE = 'agent-action+jws';
/** Largest envelope we read: a chain of two RSA-4096 certificates is ~4 KiB; 64 KiB is generous. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

const B64U = /^[A-Za-z0-9_-]*$/;

export function b64u(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Strict base64url (RFC 7515 §2: no padding, no other alphabet); undefined when it is not. */
export function fromB64u(s: unknown): Buffer | undefined {
  if (typeof s !== 'string' || !B64U.test(s) || s.length % 4 === 1) return undefined;
  return Buffer.from(s, 'base64url');
}

interface AlgFacts {
  digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** What the certified key must be, so a header cannot switch the verifier to another algorithm. */
  key: (k: KeyObject) => boolean;
  ecFieldBytes?: number;
}

const isRsa = (k: KeyObject): boolean => k.asymmetricKeyType === 'rsa';
const isCurve =
  (names: string[]) =>
  (k: KeyObject): boolean =>
    k.asymmetricKeyType === 'ec' && names.includes(k.asymmetricKeyDetails?.namedCurve ?? '');

const ALGS: Readonly<Record<JwsAlgorithm, AlgFacts>> = {
  ES256: { digest: 'sha256', key: isCurve(['prime256v1', 'P-256']), ecFieldBytes: ecdsaFieldBytes('p256') },
  ES384: { digest: 'sha384', key: isCurve(['secp384r1', 'P-384']), ecFieldBytes: ecdsaFieldBytes('p384') },
  RS256: { digest: 'sha256', key: isRsa },
  RS384: { digest: 'sha384', key: isRsa },
  RS512: { digest: 'sha512', key: isRsa },
  EdDSA: { digest: null, key: (k) => k.asymmetricKeyType === 'ed25519' },
};

export function isJwsAlgorithm(a: unknown): a is JwsAlgorithm {
  return typeof a === 'string' && Object.hasOwn(ALGS, a);
}

/** RFC 7518 §3.1 / RFC 8037 §3.1 name for what a Signer produces. */
export function jwsAlgorithmFor(alg: SignatureAlgorithm): JwsAlgorithm {
  switch (alg) {
    case 'ecdsaWithSHA256':
      return 'ES256';
    case 'ecdsaWithSHA384':
      return 'ES384';
    case 'sha256WithRSAEncryption':
      return 'RS256';
    case 'sha384WithRSAEncryption':
      return 'RS384';
    case 'sha512WithRSAEncryption':
      return 'RS512';
    case 'Ed25519':
      return 'EdDSA';
  }
}

/** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) — RFC 7515 §5.1 step 5. */
export function signingInput(protectedB64: string, payloadB64: string): Buffer {
  return Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii');
}

/** Sign through the Signer port (KMS, HSM or soft key) and encode the result as JWS wants it. */
export async function jwsSign(signer: Signer, input: Buffer): Promise<{ alg: JwsAlgorithm; signature: Buffer }> {
  const alg = jwsAlgorithmFor(signer.algorithm);
  const sig = await signer.sign(input);
  const field = ALGS[alg].ecFieldBytes;
  // Signers return DER Ecdsa-Sig-Value (RFC 3279 §2.2.3); JWS carries r||s (RFC 7518 §3.4).
  return { alg, signature: field ? ecdsaDerToRaw(sig, field) : sig };
}

/**
 * Verify a JWS signature with the certified key. The algorithm must fit the key (RFC 8725 §3.1:
 * never let the header pick a weaker or different verification), so `alg` only selects among
 * the ones the key type allows.
 */
export function jwsVerify(
  alg: JwsAlgorithm,
  key: KeyObject,
  input: Buffer,
  signature: Buffer,
): { ok: true } | { ok: false; detail: string } {
  const facts = ALGS[alg];
  if (!facts.key(key))
    return { ok: false, detail: `alg ${alg} does not fit the certified ${key.asymmetricKeyType} key` };
  if (facts.ecFieldBytes && signature.length !== facts.ecFieldBytes * 2)
    return {
      ok: false,
      detail: `${alg} signature must be ${facts.ecFieldBytes * 2} octets of r||s, got ${signature.length}`,
    };
  try {
    const ok = cryptoVerify(
      facts.digest,
      input,
      facts.ecFieldBytes ? { key, dsaEncoding: 'ieee-p1363' } : key,
      signature,
    );
    return ok ? { ok: true } : { ok: false, detail: 'signature does not verify with the agent certificate key' };
  } catch (e) {
    return { ok: false, detail: `signature check failed: ${(e as Error).message}` };
  }
}

export function compactOf(env: ActionEnvelope): string {
  return `${env.protected}.${env.payload}.${env.signature}`;
}

function bad(msg: string): AgentCaError {
  return new AgentCaError('INPUT_INVALID', msg);
}

function fromObject(o: unknown): ActionEnvelope {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('envelope must be a JWS JSON object');
  const r = o as Record<string, unknown>;
  // An unprotected header could carry x5c or alg outside the signature: refuse it outright.
  if ('header' in r) throw bad('unprotected JWS header is not accepted: everything must be in "protected"');
  if ('signatures' in r) throw bad('general JWS serialization (several signatures) is not accepted');
  for (const k of ['protected', 'payload', 'signature'] as const) {
    if (typeof r[k] !== 'string' || !B64U.test(r[k]) || r[k].length === 0)
      throw bad(`JWS "${k}" must be a non-empty base64url string`);
  }
  return { protected: r.protected as string, payload: r.payload as string, signature: r.signature as string };
}

/**
 * Any of: the flattened JSON object (RFC 7515 §7.2.2), its text, the compact serialization
 * (§7.1), or base64url of the JSON text (what fits in an HTTP header). Throws INPUT_INVALID.
 */
export function parseEnvelope(input: ActionEnvelope | string | Uint8Array): ActionEnvelope {
  if (typeof input === 'object' && !(input instanceof Uint8Array)) return fromObject(input);
  const text = (typeof input === 'string' ? input : Buffer.from(input).toString('utf8')).trim();
  if (text.length > MAX_ENVELOPE_BYTES * 2) throw bad(`envelope larger than ${MAX_ENVELOPE_BYTES} octets`);
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw bad('envelope is not valid JSON');
    }
    return fromObject(parsed);
  }
  const parts = text.split('.');
  if (parts.length === 3) {
    if (parts[1] === '') throw bad('detached-content compact JWS is not accepted: the claims must be in the payload');
    return fromObject({ protected: parts[0], payload: parts[1], signature: parts[2] });
  }
  const json = fromB64u(text);
  if (json && json[0] === 0x7b) return parseEnvelope(json.toString('utf8'));
  throw bad('envelope is neither JWS JSON, compact JWS, nor base64url of JWS JSON');
}
