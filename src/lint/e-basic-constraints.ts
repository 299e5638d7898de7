import { Oids } from '../asn1/oids.js';
import { findExtension, type Lint } from './lint.js';

/** RFC 5280 §4.2.1.9: critical in CA certificates, cA TRUE; pathLen on the intermediate; cA FALSE elsewhere. */
export const eBasicConstraints: Lint = {
  name: 'e_basic_constraints',
  citation: 'RFC 5280 §4.2.1.9',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    const bc = findExtension(t, Oids.basicConstraints);
    const isCa = t.profile.kind === 'root' || t.profile.kind === 'intermediate';
    if (!bc) return isCa ? ['basicConstraints missing from a CA certificate'] : [];
    if (isCa && !bc.critical) out.push('basicConstraints must be critical in a CA certificate');
    if (t.facts.ca !== isCa) out.push(`cA is ${t.facts.ca} for a ${t.profile.kind} certificate`);
    if (t.profile.kind === 'intermediate' && t.facts.pathLen === undefined)
      out.push('the intermediate must carry pathLenConstraint');
    if (!isCa && t.facts.pathLen !== undefined) out.push('pathLenConstraint on a non-CA certificate');
    return out;
  },
};
