/**
 * What goes into the signed envelope and how it is read back: the protected header (alg, typ,
 * x5c per RFC 7515 §4.1.6) and the claims. Reading is strict: anything outside the shapes
 * below makes the envelope `malformed`, never partially trusted.
 */
import { createHash } from 'node:crypto';
import { actionViolation } from '../asn1/scope-match.js';
import { stringViolation } from '../asn1/decode.js';
import { MARKET } from '../asn1/extensions/codec.js';
import { AgentCaError } from '../errors.js';
import { canonicalDecimal, currencyViolation, decimalViolation } from '../asn1/decimal-amount.js';
import { ACTION_JWS_TYPE, fromB64u, isJwsAlgorithm } from './jws.js';
import type { ActionAmount, ActionClaims, JwsAlgorithm } from './types.js';

export interface ProtectedHeader {
  alg: JwsAlgorithm;
  typ: typeof ACTION_JWS_TYPE;
  /** Agent certificate first, then its issuer(s): base64 (not base64url) DER, RFC 7515 §4.1.6. */
  x5c: string[];
  /** The agent certificate's serial, as a hint for logs. */
  kid?: string;
}

const MAX_CHAIN = 4;
const JTI = /^[A-Za-z0-9_-]{16,64}$/;
const SERIAL = /^[0-9a-f]{1,40}$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Digest of the business payload: SHA-256, base64url (what `payloadHash.value` carries). */
export function payloadDigest(payload: Uint8Array | string): string {
  return createHash('sha256').update(payload).digest('base64url');
}

export function amountViolation(a: unknown): string | undefined {
  if (typeof a !== 'object' || a === null) return 'amount must be {value, currency}';
  const r = a as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'value' && k !== 'currency'))
    return 'amount has fields other than value and currency';
  return decimalViolation(r.value) ?? currencyViolation(r.currency);
}

export function marketViolation(m: unknown): string | undefined {
  if (typeof m !== 'string') return 'market must be a string';
  return stringViolation(m, MARKET);
}

/** Checks and canonicalises what a caller wants signed or checked; throws INPUT_INVALID. */
export function normaliseRequest(req: { action: string; amount?: ActionAmount; market?: string }): {
  action: string;
  amount?: ActionAmount;
  market?: string;
} {
  const av = actionViolation(req.action);
  if (av)
    throw new AgentCaError('INPUT_INVALID', `invalid action ${JSON.stringify(req.action)}: ${av}`, { field: 'action' });
  if (req.amount !== undefined) {
    const v = amountViolation(req.amount);
    if (v) throw new AgentCaError('INPUT_INVALID', `invalid amount: ${v}`, { field: 'amount' });
  }
  if (req.market !== undefined) {
    const v = marketViolation(req.market);
    if (v)
      throw new AgentCaError('INPUT_INVALID', `invalid market ${JSON.stringify(req.market)}: ${v}`, {
        field: 'market',
      });
  }
  return {
    action: req.action,
    ...(req.amount ? { amount: { value: canonicalDecimal(req.amount.value), currency: req.amount.currency } } : {}),
    ...(req.market !== undefined ? { market: req.market } : {}),
  };
}

/** Parse `100:USD` / `1250.50:EUR` (CLI, headers). */
export function parseAmountText(s: string): ActionAmount {
  const m = /^([0-9.]+):([A-Za-z]{3})$/.exec(s);
  const amount = m ? { value: m[1]!, currency: m[2]!.toUpperCase() } : undefined;
  const v = amount ? amountViolation(amount) : 'expected VALUE:CUR such as 100:USD';
  if (v || !amount)
    throw new AgentCaError('INPUT_INVALID', `invalid amount ${JSON.stringify(s)}: ${v}`, { field: 'amount' });
  return amount;
}

function jsonOf(b64: string, what: string): Record<string, unknown> {
  const bytes = fromB64u(b64);
  if (!bytes) throw new AgentCaError('INPUT_INVALID', `${what} is not base64url`);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AgentCaError('INPUT_INVALID', `${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new AgentCaError('INPUT_INVALID', `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

const HEADER_KEYS = new Set(['alg', 'typ', 'x5c', 'kid']);

export function readProtectedHeader(b64: string): ProtectedHeader {
  const h = jsonOf(b64, 'JWS protected header');
  const fail = (m: string): never => {
    throw new AgentCaError('INPUT_INVALID', `JWS protected header: ${m}`);
  };
  // RFC 7515 §4.1.11: a `crit` we do not understand must be refused; we understand none, and
  // b64=false (RFC 7797) would change what the signature covers. Unknown keys are refused too.
  for (const k of Object.keys(h)) if (!HEADER_KEYS.has(k)) fail(`parameter ${JSON.stringify(k)} is not accepted`);
  if (!isJwsAlgorithm(h.alg))
    fail(`alg ${JSON.stringify(h.alg)} is not one of ES256, ES384, RS256, RS384, RS512, EdDSA`);
  if (h.typ !== ACTION_JWS_TYPE) fail(`typ must be ${ACTION_JWS_TYPE}`);
  const x5c = h.x5c;
  if (
    !Array.isArray(x5c) ||
    x5c.length < 1 ||
    x5c.length > MAX_CHAIN ||
    x5c.some((c) => typeof c !== 'string' || !B64.test(c))
  ) {
    fail(`x5c must hold 1..${MAX_CHAIN} base64 DER certificates`);
  }
  if (h.kid !== undefined && typeof h.kid !== 'string') fail('kid must be a string');
  return h as unknown as ProtectedHeader;
}

const CLAIM_KEYS = new Set(['action', 'amount', 'market', 'payloadHash', 'serial', 'iat', 'jti']);

export function readClaims(b64: string): ActionClaims {
  const c = jsonOf(b64, 'JWS payload');
  const fail = (m: string): never => {
    throw new AgentCaError('INPUT_INVALID', `action claims: ${m}`);
  };
  for (const k of Object.keys(c)) if (!CLAIM_KEYS.has(k)) fail(`unknown claim ${JSON.stringify(k)}`);
  const av = actionViolation(c.action);
  if (av) fail(`action: ${av}`);
  if (c.amount !== undefined) {
    const v = amountViolation(c.amount);
    if (v) fail(v);
  }
  if (c.market !== undefined) {
    const v = marketViolation(c.market);
    if (v) fail(`market: ${v}`);
  }
  const ph = c.payloadHash as Record<string, unknown> | undefined;
  if (
    typeof ph !== 'object' ||
    ph === null ||
    ph.alg !== 'sha-256' ||
    typeof ph.value !== 'string' ||
    fromB64u(ph.value)?.length !== 32 ||
    Object.keys(ph).length !== 2
  ) {
    fail('payloadHash must be {alg: "sha-256", value: base64url of 32 octets}');
  }
  if (typeof c.serial !== 'string' || !SERIAL.test(c.serial)) fail('serial must be lowercase hex');
  if (!Number.isSafeInteger(c.iat) || (c.iat as number) < 0) fail('iat must be a NumericDate (integer seconds)');
  if (typeof c.jti !== 'string' || !JTI.test(c.jti)) fail('jti must be 16..64 base64url characters');
  return c as unknown as ActionClaims;
}
