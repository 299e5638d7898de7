import { CA_KINDS, type Lint } from './lint.js';

/** Agents authenticate as TLS clients (RFC 5280 §4.2.1.12 id-kp-clientAuth); responders need id-kp-OCSPSigning (RFC 6960 §4.2.2.2). */
export const eExtendedKeyUsage: Lint = {
  name: 'e_extended_key_usage',
  citation: 'RFC 5280 §4.2.1.12; RFC 6960 §4.2.2.2',
  severity: 'error',
  appliesTo: ['agent', 'ocsp-responder', 'root', 'intermediate'],
  check(t) {
    const eku = t.facts.extKeyUsage;
    if (t.profile.kind === 'agent' && !eku.includes('clientAuth'))
      return ['agent certificates need extendedKeyUsage clientAuth'];
    if (t.profile.kind === 'ocsp-responder' && (eku.length !== 1 || eku[0] !== 'ocspSigning'))
      return ['an OCSP responder certificate carries exactly id-kp-OCSPSigning'];
    if (CA_KINDS.includes(t.profile.kind) && eku.length > 0) return ['CA certificates here carry no extendedKeyUsage'];
    return [];
  },
};
