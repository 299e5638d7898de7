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
    let at = 2;
    for (const [label, d] of [
      ['notBefore', t.notBefore],
      ['notAfter', t.notAfter],
    ] as const) {
      const tag = v[at]!;
      const len = v[at + 1]!;
      const text = v.subarray(at + 2, at + 2 + len).toString('latin1');
      const wantUtc = d.getUTCFullYear() < 2050;
      if (wantUtc && (tag !== 0x17 || !UTC.test(text)))
        out.push(`${label} must be UTCTime YYMMDDHHMMSSZ, got tag ${tag} "${text}"`);
      if (!wantUtc && (tag !== 0x18 || !GEN.test(text)))
        out.push(`${label} must be GeneralizedTime YYYYMMDDHHMMSSZ, got tag ${tag} "${text}"`);
      at += 2 + len;
    }
    return out;
  },
};
