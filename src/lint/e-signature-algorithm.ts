import { algorithmInfo } from '../signer/algorithms.js';
import type { Lint } from './lint.js';

/** Never SHA-1 (RFC 9155 deprecates it; CA/B BR §7.1.3.2); SHA-256 or stronger only. */
export const eSignatureAlgorithm: Lint = {
  name: 'e_signature_algorithm_weak',
  citation: 'RFC 9155; CA/B BR §7.1.3.2',
  severity: 'error',
  check(t) {
    try {
      const info = algorithmInfo(t.signatureAlgorithm);
      return info.digest === null || ['sha256', 'sha384', 'sha512'].includes(info.digest) ? [] : [`digest ${info.digest} is too weak`];
    } catch {
      return [`unsupported signature algorithm ${t.signatureAlgorithm}`];
    }
  },
};
