/**
 * ECDSA signature encodings, normalised here and nowhere else. X.509, CRLs and OCSP carry the
 * DER Ecdsa-Sig-Value SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3); PKCS#11 and
 * WebCrypto produce raw r||s (IEEE P1363); AWS KMS returns DER. JWS wants r||s (RFC 7518 §3.4).
 */
import { Asn1DecodeError } from '../errors.js';
import { sequence, unsignedInteger } from './der.js';

/** Field size in bytes for a curve: P-256 -> 32, P-384 -> 48. */
export function ecdsaFieldBytes(curve: 'p256' | 'p384'): number {
  return curve === 'p256' ? 32 : 48;
}

export function ecdsaRawToDer(raw: Uint8Array): Buffer {
  if (raw.length % 2 !== 0 || raw.length === 0)
    throw new Asn1DecodeError('ECDSA signature', `raw r||s has odd length ${raw.length}`);
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

function readInt(buf: Uint8Array, at: number): { value: Uint8Array; next: number } {
  if (buf[at] !== 0x02) throw new Asn1DecodeError('ECDSA signature', 'expected INTEGER');
  const len = buf[at + 1]!;
  if (len & 0x80 || at + 2 + len > buf.length) throw new Asn1DecodeError('ECDSA signature', 'bad INTEGER length');
  return { value: buf.subarray(at + 2, at + 2 + len), next: at + 2 + len };
}

export function ecdsaDerToRaw(der: Uint8Array, fieldBytes: number): Buffer {
  if (der[0] !== 0x30) throw new Asn1DecodeError('ECDSA signature', 'expected SEQUENCE');
  let at = 2;
  let total = der[1]!;
  if (total === 0x81) {
    total = der[2]!;
    at = 3;
  } else if (total & 0x80) throw new Asn1DecodeError('ECDSA signature', 'bad SEQUENCE length');
  if (at + total !== der.length) throw new Asn1DecodeError('ECDSA signature', 'trailing bytes');
  const r = readInt(der, at);
  const s = readInt(der, r.next);
  if (s.next !== der.length) throw new Asn1DecodeError('ECDSA signature', 'trailing bytes after s');
  const out = Buffer.alloc(fieldBytes * 2);
  const put = (v: Uint8Array, off: number): void => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const m = v.subarray(i);
    if (m.length > fieldBytes) throw new Asn1DecodeError('ECDSA signature', 'integer larger than the field');
    out.set(m, off + fieldBytes - m.length);
  };
  put(r.value, 0);
  put(s.value, fieldBytes);
  return out;
}

/** Accept either encoding from a backend and return DER (what X.509 carries). */
export function normaliseEcdsaSignature(sig: Uint8Array, fieldBytes: number): Buffer {
  if (sig.length === fieldBytes * 2 && sig[0] !== 0x30) return ecdsaRawToDer(sig);
  if (sig[0] === 0x30) {
    ecdsaDerToRaw(sig, fieldBytes); // validates
    return Buffer.from(sig);
  }
  if (sig.length === fieldBytes * 2) return ecdsaRawToDer(sig);
  throw new Asn1DecodeError('ECDSA signature', `unrecognised encoding of ${sig.length} bytes`);
}
