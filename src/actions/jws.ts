/**
 * JWS (RFC 7515) for signed actions, verification answers and report manifests. The mechanics
 * are `jose`'s: base64url, and the whole verification (protected header, `crit`, `alg` allow-list,
 * key/algorithm fit, signature). What stays ours:
 *
 * - Signing goes through the Signer port, because the key may live in a KMS or an HSM and jose
 *   signs only with a key it holds (KeyObject, CryptoKey or JWK). We build the signing input
 *   (RFC 7515 §5.1) with jose's base64url, sign it with the Signer, and turn the DER ECDSA value
 *   every Signer returns into the raw r||s JWS carries (RFC 7518 §3.4). jose verifies the
 *   result (tests), so both halves meet the same reference implementation.
 * - Reading an envelope in its three spellings with our refusals (no unprotected header, no
 *   general serialization, no detached payload): docs/hardening.md "JWS with jose".
 */
import type { KeyObject } from 'node:crypto';
import { base64url, errors as joseErrors, flattenedVerify, type JWSHeaderParameters } from 'jose';
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
  return base64url.encode(data);
}

/** Strict base64url (RFC 7515 §2: no padding, no other alphabet); undefined when it is not. */
export function fromB64u(s: unknown): Buffer | undefined {
  if (typeof s !== 'string' || !B64U.test(s) || s.length % 4 === 1) return undefined;
  return Buffer.from(base64url.decode(s));
}

/** The algorithms a Signer can produce (RFC 7518 §3.1, RFC 8037 §3.1), with r||s widths for ECDSA. */
const ALGS: Readonly<Record<JwsAlgorithm, { ecFieldBytes?: number }>> = {
  ES256: { ecFieldBytes: ecdsaFieldBytes('p256') },
  ES384: { ecFieldBytes: ecdsaFieldBytes('p384') },
  RS256: {},
  RS384: {},
  RS512: {},
  EdDSA: {},
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

/** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) — RFC 7515 §5.1 step 5 (what openssl verifies). */
export function signingInput(protectedB64: string, payloadB64: string): Buffer {
  return Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii');
}

/**
 * Sign `payload` under a protected header through the Signer port (KMS, HSM or soft key). `alg`
 * comes from the Signer and is written first; the rest of the header follows in the caller's order.
 * Returns the flattened serialization's members (RFC 7515 §7.2.2); `compactOf` joins them.
 */
export async function signJws(
  signer: Signer,
  header: Readonly<Record<string, unknown>>,
  payload: Uint8Array | string,
): Promise<ActionEnvelope> {
  const alg = jwsAlgorithmFor(signer.algorithm);
  const protectedB64 = b64u(JSON.stringify({ alg, ...header }));
  const payloadB64 = b64u(payload);
  const sig = await signer.sign(signingInput(protectedB64, payloadB64));
  const field = ALGS[alg].ecFieldBytes;
  // Signers return DER Ecdsa-Sig-Value (RFC 3279 §2.2.3); JWS carries r||s (RFC 7518 §3.4).
  const signature = b64u(field ? ecdsaDerToRaw(sig, field) : sig);
  return { protected: protectedB64, payload: payloadB64, signature };
}

/**
 * Verify a JWS with the certified key (jose's flattenedVerify). `alg` is the only algorithm
 * allowed and must fit the key (RFC 8725 §3.1: the header never picks a weaker or different
 * verification); jose refuses a key of another type or curve, an RSA key under 2048 bits, an
 * unknown `crit`; we refuse `b64` (RFC 7797).
 */
export async function jwsVerify(
  jws: ActionEnvelope,
  alg: JwsAlgorithm,
  key: KeyObject,
): Promise<{ ok: true } | { ok: false; detail: string }> {
  // jose asks for the key only once the header has passed (crit, b64, alg allow-list): an error
  // after that point is about the key, or the signature.
  let headerAccepted = false;
  try {
    await flattenedVerify(
      jws,
      (header: JWSHeaderParameters) => {
        // RFC 7797 b64=false (which jose understands) would make the signed bytes differ from
        // the base64url payload our readers decode: one meaning only.
        if (header.b64 !== undefined) throw new Error('the "b64" header parameter (RFC 7797) is not accepted');
        headerAccepted = true;
        return key;
      },
      { algorithms: [alg] },
    );
    return { ok: true };
  } catch (e) {
    if (e instanceof joseErrors.JWSSignatureVerificationFailed)
      return { ok: false, detail: 'signature does not verify with the certified key' };
    const msg = e instanceof Error ? e.message : String(e);
    if (!headerAccepted) return { ok: false, detail: `JWS refused: ${msg}` };
    return { ok: false, detail: `alg ${alg} does not fit the certified ${key.asymmetricKeyType} key: ${msg}` };
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
