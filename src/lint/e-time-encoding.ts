import { Tag } from '../asn1/der.js';
import { childrenOf, readWhole, type Tlv } from '../asn1/der-reader.js';
import { Asn1DecodeError } from '../errors.js';
import type { Lint } from './lint.js';

const UTC = /^\d{12}Z$/;
const GEN = /^\d{14}Z$/;

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds, Zulu, no fractions. */
export const eTimeEncoding: Lint = {
  name: 'e_validity_time_encoding',
  citation: 'RFC 5280 §4.1.2.5.1, §4.1.2.5.2',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    const v = t.validityDer;
    let times: Tlv[];
    try {
      times = childrenOf(v, readWhole(v, Tag.SEQUENCE, 'Validity'), 'Validity');
    } catch (e) {
      if (!(e instanceof Asn1DecodeError)) throw e;
      return [`Validity is not DER: ${e.message}`];
    }
    if (times.length !== 2) return [`Validity must hold notBefore and notAfter, got ${times.length} elements`];
    for (const [i, [label, d]] of (
      [
        ['notBefore', t.notBefore],
        ['notAfter', t.notAfter],
      ] as const
    ).entries()) {
      const { tag, contentStart, end } = times[i]!;
      const text = v.subarray(contentStart, end).toString('latin1');
      const wantUtc = d.getUTCFullYear() < 2050;
      if (wantUtc && (tag !== Tag.UTC_TIME || !UTC.test(text)))
        out.push(`${label} must be UTCTime YYMMDDHHMMSSZ, got tag ${tag} "${text}"`);
      if (!wantUtc && (tag !== Tag.GENERALIZED_TIME || !GEN.test(text)))
        out.push(`${label} must be GeneralizedTime YYYYMMDDHHMMSSZ, got tag ${tag} "${text}"`);
    }
    return out;
  },
};
