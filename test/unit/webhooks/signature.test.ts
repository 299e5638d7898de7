import { describe, expect, it } from 'vitest';
import { parseSignatureHeader, signPayload, verifyWebhookSignature } from '../../../src/webhooks/signature.js';

// Computed independently with the openssl binary:
//   printf '%s' '1700000000.{"id":"evt_test","type":"certificate.revoked"}' | openssl dgst -sha256 -hmac 'whsec_test-secret'
const SECRET = 'whsec_test-secret';
const BODY = '{"id":"evt_test","type":"certificate.revoked"}';
const T = 1_700_000_000;
const EXPECTED = 'aedaad178b440aa8d741f5cce6b36352b1637344fcec3b1dc5c6abb742ce87f5';
const AT_T = new Date(T * 1000);

describe('signPayload', () => {
  it('matches the known vector (HMAC-SHA256 over t + "." + body, key = the whole secret string)', () => {
    expect(signPayload(SECRET, BODY, T)).toBe(`t=${T},v1=${EXPECTED}`);
  });

  it('signs bytes and strings alike', () => {
    expect(signPayload(SECRET, Buffer.from(BODY, 'utf8'), T)).toBe(`t=${T},v1=${EXPECTED}`);
  });

  it('emits one v1 per secret during rotation, current first', () => {
    const h = signPayload(['whsec_new', SECRET], BODY, T);
    expect(h.split(',')).toHaveLength(3);
    expect(h.endsWith(`v1=${EXPECTED}`)).toBe(true);
  });

  it('refuses a non-integer timestamp', () => {
    expect(() => signPayload(SECRET, BODY, 1.5)).toThrow(RangeError);
    expect(() => signPayload([], BODY, T)).toThrow(RangeError);
  });
});

describe('verifyWebhookSignature', () => {
  const header = `t=${T},v1=${EXPECTED}`;

  it('accepts the known vector at its own time and within tolerance', () => {
    expect(verifyWebhookSignature({ header, body: BODY, secret: SECRET, now: AT_T })).toBe(true);
    expect(verifyWebhookSignature({ header, body: BODY, secret: SECRET, now: (T + 300) * 1000 })).toBe(true);
    expect(verifyWebhookSignature({ header, body: Buffer.from(BODY), secret: SECRET, now: AT_T })).toBe(true);
  });

  it('rejects a tampered body, signature, timestamp or the wrong secret', () => {
    expect(
      verifyWebhookSignature({ header, body: BODY.replace('revoked', 'released'), secret: SECRET, now: AT_T }),
    ).toBe(false);
    expect(verifyWebhookSignature({ header, body: `${BODY} `, secret: SECRET, now: AT_T })).toBe(false);
    const flipped = EXPECTED.slice(0, -1) + (EXPECTED.endsWith('5') ? '6' : '5');
    expect(verifyWebhookSignature({ header: `t=${T},v1=${flipped}`, body: BODY, secret: SECRET, now: AT_T })).toBe(
      false,
    );
    // Same MAC, moved timestamp: the timestamp is inside the MAC.
    expect(verifyWebhookSignature({ header: `t=${T + 1},v1=${EXPECTED}`, body: BODY, secret: SECRET, now: AT_T })).toBe(
      false,
    );
    expect(verifyWebhookSignature({ header, body: BODY, secret: 'whsec_other', now: AT_T })).toBe(false);
  });

  it('rejects stale and future timestamps beyond the tolerance', () => {
    expect(verifyWebhookSignature({ header, body: BODY, secret: SECRET, now: (T + 301) * 1000 })).toBe(false);
    expect(verifyWebhookSignature({ header, body: BODY, secret: SECRET, now: (T - 301) * 1000 })).toBe(false);
    expect(
      verifyWebhookSignature({ header, body: BODY, secret: SECRET, now: (T + 30) * 1000, toleranceSeconds: 10 }),
    ).toBe(false);
    expect(
      verifyWebhookSignature({ header, body: BODY, secret: SECRET, now: (T + 30) * 1000, toleranceSeconds: 60 }),
    ).toBe(true);
  });

  it('uses the system clock by default, so an old vector is stale', () => {
    expect(verifyWebhookSignature({ header, body: BODY, secret: SECRET })).toBe(false);
    const fresh = signPayload(SECRET, BODY, Math.floor(Date.now() / 1000));
    expect(verifyWebhookSignature({ header: fresh, body: BODY, secret: SECRET })).toBe(true);
  });

  it('rejects malformed headers', () => {
    const bad = [
      undefined,
      null,
      '',
      `v1=${EXPECTED}`,
      `t=${T}`,
      `t=${T},t=${T},v1=${EXPECTED}`,
      `t=abc,v1=${EXPECTED}`,
      `t=-5,v1=${EXPECTED}`,
      `t=${T},v1=${EXPECTED.slice(2)}`,
      `t=${T},v1=${EXPECTED}zz`,
      `t=${T},${EXPECTED}`,
      `t=${T},v1=${'x'.repeat(64)}`,
      `t=${T},v1=${EXPECTED},${'a'.repeat(5000)}=1`,
    ];
    for (const h of bad)
      expect(verifyWebhookSignature({ header: h, body: BODY, secret: SECRET, now: AT_T }), String(h)).toBe(false);
    expect(verifyWebhookSignature({ header: [header, header], body: BODY, secret: SECRET, now: AT_T })).toBe(false);
    expect(parseSignatureHeader(`t=${T},v0=abc,v1=${EXPECTED}`)?.v1).toHaveLength(1);
  });

  it('supports rotation: any v1 value may match, and the receiver may hold several secrets', () => {
    const both = signPayload(['whsec_new', SECRET], BODY, T);
    expect(verifyWebhookSignature({ header: both, body: BODY, secret: SECRET, now: AT_T })).toBe(true);
    expect(verifyWebhookSignature({ header: both, body: BODY, secret: 'whsec_new', now: AT_T })).toBe(true);
    expect(verifyWebhookSignature({ header: both, body: BODY, secret: 'whsec_neither', now: AT_T })).toBe(false);
    expect(verifyWebhookSignature({ header, body: BODY, secret: ['whsec_new', SECRET], now: AT_T })).toBe(true);
    expect(verifyWebhookSignature({ header, body: BODY, secret: ['whsec_new', ''], now: AT_T })).toBe(false);
  });
});
