import type { Lint } from './lint.js';

/**
 * Everything a relying party needs to check status, from the configured base URL: CRL
 * Distribution Points (RFC 5280 §4.2.1.13), Freshest CRL (§4.2.1.15) and AIA with OCSP and
 * caIssuers (§4.2.2.1). Responders carry ocsp-nocheck instead (RFC 6960 §4.2.2.2.1).
 */
export const eRevocationPointers: Lint = {
  name: 'e_revocation_pointers',
  citation: 'RFC 5280 §4.2.1.13, §4.2.1.15, §4.2.2.1; RFC 6960 §4.2.2.2.1',
  severity: 'error',
  appliesTo: ['intermediate', 'agent', 'ocsp-responder'],
  check(t) {
    const f = t.facts;
    if (t.profile.kind === 'ocsp-responder')
      return f.ocspNoCheck ? [] : ['an OCSP responder certificate needs id-pkix-ocsp-nocheck'];
    const out: string[] = [];
    if (f.crlDistributionPoints.length === 0) out.push('CRL Distribution Points missing');
    if (f.freshestCrl.length === 0) out.push('Freshest CRL (delta CRL pointer) missing');
    if (f.ocspUrls.length === 0) out.push('AIA OCSP URL missing');
    if (f.caIssuersUrls.length === 0) out.push('AIA caIssuers URL missing');
    for (const u of [...f.crlDistributionPoints, ...f.freshestCrl, ...f.ocspUrls, ...f.caIssuersUrls]) {
      if (!/^https?:\/\/[^\s]+$/.test(u)) out.push(`"${u}" is not an http(s) URL`);
    }
    return out;
  },
};
