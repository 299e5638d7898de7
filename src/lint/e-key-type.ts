import type { Lint } from './lint.js';

/** RSA >= 2048 (NIST SP 800-57), P-256, P-384, Ed25519; and within the profile's list. */
export const eKeyType: Lint = {
  name: 'e_key_type_not_allowed',
  citation: 'NIST SP 800-57 Pt.1 §5.6; RFC 5480; RFC 8410; profile keyTypes',
  severity: 'error',
  check(t) {
    if (!t.keyType) return ['the subject public key is not an RSA, P-256, P-384 or Ed25519 key agent-ca supports'];
    return t.profile.keyTypes.includes(t.keyType)
      ? []
      : [`${t.keyType} keys are not allowed by profile ${t.profile.name} (allowed: ${t.profile.keyTypes.join(', ')})`];
  },
};
