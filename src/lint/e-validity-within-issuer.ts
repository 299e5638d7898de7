import type { Lint } from './lint.js';

/** A certificate must not outlive its issuer: relying parties would reject it from that day on. */
export const eValidityWithinIssuer: Lint = {
  name: 'e_validity_beyond_issuer',
  citation: 'RFC 5280 §6.1.3 (a)(2): every certificate in the path must be valid at the time of use',
  severity: 'error',
  check(t) {
    if (t.issuerNotAfter && t.notAfter.getTime() > t.issuerNotAfter.getTime()) {
      return [`notAfter ${t.notAfter.toISOString()} is after the issuer's notAfter ${t.issuerNotAfter.toISOString()}`];
    }
    return [];
  },
};
