import type { Lint } from './lint.js';

/**
 * RFC 5280 §4.1: the certificate is DER, each extnValue holds the DER of its extension's syntax,
 * and a certificate with extensions is v3 (§4.1.2.1). The TBS was parsed with the strict reader;
 * what it could not read as the syntax its OID names is listed here.
 */
export const eDerEncoding: Lint = {
  name: 'e_der_encoding',
  citation: 'RFC 5280 §4.1, §4.1.2.1; X.690 §10-11',
  severity: 'error',
  check(t) {
    const out = [...t.malformed];
    if (t.version !== 3) out.push(`version is v${t.version}; a certificate with extensions is v3`);
    return out;
  },
};
