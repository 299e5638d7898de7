/**
 * Serial numbers: 128 bits from the CSPRNG (CA/B BR §7.1 asks for >= 64), written as a
 * positive DER INTEGER of at most 17 content octets (RFC 5280 §4.1.2.2 allows 20).
 */
import { unsignedInteger } from '../asn1/der.js';
import { AgentCaError } from '../errors.js';
import type { Serial } from '../types.js';
import { pooledRandomBytes } from './random-pool.js';

export const SERIAL_RANDOM_BYTES = 16;

export function randomSerial(): { magnitude: Buffer; der: Buffer; serial: Serial } {
  const raw = pooledRandomBytes(SERIAL_RANDOM_BYTES);
  // DER would strip a zero first octet (X.690 §8.3.2) and shorten the serial; replacing it
  // keeps every serial 16 or 17 content octets, which the serial lint can check exactly.
  if (raw[0] === 0) raw[0] = 1;
  const der = unsignedInteger(raw);
  return { magnitude: raw, der, serial: serialFromMagnitude(raw) };
}

export function serialFromMagnitude(m: Uint8Array): Serial {
  let i = 0;
  while (i < m.length - 1 && m[i] === 0) i++;
  return Buffer.from(m.subarray(i)).toString('hex') as Serial;
}

/**
 * Parse a serial as users type it: hex with optional 0x prefix, colons or spaces (openssl prints
 * `serial=4A3F...` or `4a:3f:...`). Returns the canonical lowercase form.
 */
export function parseSerial(input: string): Serial {
  const s = input.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,40}$/.test(s))
    throw new AgentCaError(
      'INPUT_SERIAL_MALFORMED',
      `not a certificate serial (hex, at most 20 octets): ${JSON.stringify(input)}`,
    );
  const stripped = s.replace(/^0+(?=.)/, '');
  return (stripped.length % 2 ? `0${stripped}` : stripped) as Serial;
}
