import { Oids } from '../asn1/oids.js';
import { findExtension, type Lint } from './lint.js';

/** RFC 5280 §4.2.1.2 (SKI MUST in CA certificates, SHOULD elsewhere) and §4.2.1.1 (AKI MUST unless self-signed). */
export const eKeyIdentifiers: Lint = {
  name: 'e_key_identifiers',
  citation: 'RFC 5280 §4.2.1.1, §4.2.1.2',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    const ski = findExtension(t, Oids.subjectKeyIdentifier);
    const aki = findExtension(t, Oids.authorityKeyIdentifier);
    if (!ski) out.push('subjectKeyIdentifier missing');
    else if (ski.critical) out.push('subjectKeyIdentifier must be non-critical');
    if (!aki && !t.selfSigned) out.push('authorityKeyIdentifier missing');
    else if (aki?.critical) out.push('authorityKeyIdentifier must be non-critical');
    return out;
  },
};
