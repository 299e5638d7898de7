import { DAY_MS } from '../profile/build-tbs.js';
import type { Lint } from './lint.js';

/** docs/architecture.md / MiCA Art. 70: agents at most 365 days, the profile (or config) may lower it. */
export const eValidityPeriod: Lint = {
  name: 'e_validity_exceeds_profile_maximum',
  citation: 'RFC 5280 §4.1.2.5 (inclusive period); MiCA Art. 70; profile maxValidityDays',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    const periodMs = t.notAfter.getTime() - t.notBefore.getTime() + 1000;
    if (t.notAfter.getTime() <= t.notBefore.getTime()) out.push('notAfter is not after notBefore');
    if (periodMs > t.profile.maxValidityDays * DAY_MS) {
      out.push(
        `validity ${(periodMs / DAY_MS).toFixed(2)} days exceeds the ${t.profile.name} maximum of ${t.profile.maxValidityDays}`,
      );
    }
    return out;
  },
};
