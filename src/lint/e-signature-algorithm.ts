import { Oids } from '../asn1/oids.js';
import { algorithmInfo } from '../signer/algorithms.js';
import type { Lint } from './lint.js';

const OID_NAMES = new Map<string, string>(Object.entries(Oids).map(([n, o]): [string, string] => [o, n]));

/**
 * Never SHA-1 (RFC 9155 deprecates it; CA/B BR §7.1.3.2); SHA-256 or stronger only. The
 * AlgorithmIdentifier must be the canonical encoding: NULL parameters for RSA (RFC 4055 §5),
 * absent for ECDSA (RFC 5758 §3.2) and Ed25519 (RFC 8410 §3).
 */
export const eSignatureAlgorithm: Lint = {
  name: 'e_signature_algorithm_weak',
  citation: 'RFC 9155; CA/B BR §7.1.3.2; RFC 4055 §5; RFC 5758 §3.2; RFC 8410 §3',
  severity: 'error',
  check(t) {
    if (!t.signatureAlgorithm)
      return [`unsupported signature algorithm ${OID_NAMES.get(t.signatureAlgorithmOid) ?? t.signatureAlgorithmOid}`];
    const info = algorithmInfo(t.signatureAlgorithm);
    const out: string[] = [];
    if (info.digest !== null && !['sha256', 'sha384', 'sha512'].includes(info.digest))
      out.push(`digest ${info.digest} is too weak`);
    if (!info.identifier.equals(t.signatureAlgorithmDer))
      out.push(`the ${t.signatureAlgorithm} AlgorithmIdentifier is not in its canonical encoding`);
    return out;
  },
};
