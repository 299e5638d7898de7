import { Oids } from '../asn1/oids.js';
import { CA_KINDS, findExtension, type Lint } from './lint.js';

/** RFC 5280 §4.2.1.3: critical; CAs keyCertSign + cRLSign; agents and responders digitalSignature. */
export const eKeyUsage: Lint = {
  name: 'e_key_usage',
  citation: 'RFC 5280 §4.2.1.3; RFC 6960 §4.2.2.2',
  severity: 'error',
  check(t) {
    const ku = findExtension(t, Oids.keyUsage);
    if (!ku) return ['keyUsage missing'];
    const out: string[] = [];
    if (!ku.critical) out.push('keyUsage must be critical');
    const has = (u: string) => t.facts.keyUsage.includes(u as never);
    // What the profile says the certificate is; whether the bytes say cA is e_basic_constraints' rule.
    if (CA_KINDS.includes(t.profile.kind)) {
      if (!has('keyCertSign') || !has('cRLSign')) out.push('a CA certificate needs keyCertSign and cRLSign');
    } else {
      if (!has('digitalSignature')) out.push('digitalSignature is required');
      if (has('keyCertSign') || has('cRLSign')) out.push('keyCertSign/cRLSign on a non-CA certificate');
    }
    return out;
  },
};
