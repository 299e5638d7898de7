import { Tag } from '../asn1/der.js';
import { readWhole, type Tlv } from '../asn1/der-reader.js';
import { Asn1DecodeError } from '../errors.js';
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
    let tlv: Tlv | undefined;
    try {
      tlv = readWhole(t.serialDer, Tag.INTEGER, 'serialNumber');
    } catch (e) {
      if (!(e instanceof Asn1DecodeError)) throw e;
    }
    const v = tlv ? t.serialDer.subarray(tlv.contentStart, tlv.end) : undefined;
    if (!v?.length) out.push('serial is not a single DER INTEGER');
    else {
      if (v[0]! & 0x80) out.push('serial is negative');
      if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) out.push('serial is not minimally encoded');
      if (v.length > 20) out.push(`serial has ${v.length} octets (max 20)`);
    }
    if (t.serial.length < 16) out.push(`serial has ${t.serial.length * 8} bits of randomness (we require 128)`);
    return out;
  },
};
