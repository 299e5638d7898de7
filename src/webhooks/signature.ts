/**
 * Webhook signatures: every delivery carries
 *   AgentCA-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
 * The timestamp is inside the MAC so a captured delivery cannot be replayed later than the
 * receiver's tolerance; several v1= values may be present while a secret is being rotated
 * (the sender signs with the new and the still-valid previous secret).
 *
 * The HMAC key is the secret string exactly as handed out (`whsec_...`, UTF-8), prefix
 * included, so a receiver never has to decode it. `verifyWebhookSignature` is the helper
 * receivers use; it is exported from the package.
 */
import { systemClock } from '../clock.js';
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'AgentCA-Signature';
export const EVENT_HEADER = 'AgentCA-Event';
export const DELIVERY_HEADER = 'AgentCA-Delivery';

/** Default receiver tolerance: five minutes either side, enough for ordinary clock skew. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A header longer than this is refused before any parsing (a handful of v1 values fit easily). */
const MAX_HEADER_LENGTH = 4096;

type Body = string | Uint8Array;

function hmacHex(secret: string, t: number, body: Body): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${t}.`, 'utf8');
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return mac.digest('hex');
}

/**
 * The header value for `body` signed at unix time `t` (seconds) with one or more secrets
 * (more than one during rotation: one v1= per secret, current first).
 */
export function signPayload(secret: string | readonly string[], body: Body, t: number): string {
  if (!Number.isSafeInteger(t) || t < 0)
    throw new RangeError('t must be a non-negative integer number of unix seconds');
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new RangeError('at least one secret is required');
  return [`t=${t}`, ...secrets.map((s) => `v1=${hmacHex(s, t, body)}`)].join(',');
}

export interface ParsedSignatureHeader {
  t: number;
  v1: Buffer[];
}

/** Parses `t=...,v1=...[,v1=...]`; unknown schemes (v0, v2, ...) are ignored; undefined if malformed. */
export function parseSignatureHeader(header: string): ParsedSignatureHeader | undefined {
  if (header.length > MAX_HEADER_LENGTH) return undefined;
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      // Exactly one timestamp: two would let an attacker pick the one that passes.
      if (t !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return undefined;
      v1.push(Buffer.from(value, 'hex'));
    }
  }
  if (t === undefined || v1.length === 0) return undefined;
  return { t, v1 };
}

export interface VerifyWebhookSignatureOptions {
  /** The AgentCA-Signature header as received (undefined/array when absent or repeated: rejected). */
  header: string | readonly string[] | undefined | null;
  /** The raw request body, byte for byte as received (not re-serialised JSON). */
  body: Body;
  /** The endpoint's secret; several while the receiver itself rotates. */
  secret: string | readonly string[];
  toleranceSeconds?: number;
  /** Receiver's current time: a Date or epoch milliseconds (default: the system clock). */
  now?: Date | number;
}

/**
 * True when one of the header's v1 signatures matches one of the secrets and the timestamp is
 * within `toleranceSeconds` of now (both directions: a future timestamp is as suspect as a stale
 * one). Comparison is constant-time over fixed-length digests; every failure is just `false`.
 */
export function verifyWebhookSignature(opts: VerifyWebhookSignatureOptions): boolean {
  const { header, body } = opts;
  if (typeof header !== 'string') return false;
  const parsed = parseSignatureHeader(header);
  if (!parsed) return false;
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!(tolerance >= 0)) return false;
  // A receiver-side helper, not core logic: defaulting to the system clock is what callers want.
  const nowMs =
    opts.now === undefined ? systemClock.now().getTime() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  if (!Number.isFinite(nowMs)) return false;
  if (Math.abs(Math.floor(nowMs / 1000) - parsed.t) > tolerance) return false;
  const secrets = typeof opts.secret === 'string' ? [opts.secret] : opts.secret;
  let ok = false;
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length === 0) continue;
    const expected = Buffer.from(hmacHex(secret, parsed.t, body), 'hex');
    // Check every candidate (no early exit) so timing does not reveal which one matched.
    for (const candidate of parsed.v1) if (timingSafeEqual(expected, candidate)) ok = true;
  }
  return ok;
}
