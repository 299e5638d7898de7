import type { Lint } from './lint.js';

/**
 * RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B BR: >= 64 random bits (we use 128).
 * Uniqueness per CA is the store's job: its commit refuses a serial it already holds, atomically
 * (ACA_ERR_ISSUE_SERIAL_COLLISION), which a lookup before signing could not guarantee.
 */
export const eSerial: Lint = {
  name: 'e_serial_number',
  citation: 'RFC 5280 §4.1.2.2; CA/B BR §7.1',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    const d = t.serialDer;
    const len = d[1]!;
    if (d[0] !== 0x02 || len + 2 !== d.length) out.push('serial is not a single DER INTEGER');
    if (d[2]! & 0x80) out.push('serial is negative');
    if (len > 1 && d[2] === 0 && !(d[3]! & 0x80)) out.push('serial is not minimally encoded');
    if (len > 20) out.push(`serial has ${len} octets (max 20)`);
    if (t.serial.length < 16) out.push(`serial has ${t.serial.length * 8} bits of randomness (we require 128)`);
    return out;
  },
};
