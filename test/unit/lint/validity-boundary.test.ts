/**
 * The 365-day rule at its edge (docs/architecture.md, MiCA Art. 70). RFC 5280 §4.1.2.5 makes both
 * notBefore and notAfter part of the period, so 365 days end one second before notBefore +
 * 365 days; one more second is a 365-day-and-1-second certificate and must be refused.
 */
import { describe, expect, it } from 'vitest';
import { sequence, x509Time } from '../../../src/asn1/der.js';
import { DAY_MS } from '../../../src/profile/build-tbs.js';
import { withMaxValidity } from '../../../src/profile/profile.js';
import { agentTbs, errorLints, expectRefusedBy, profile, tweak } from './tbs-fixtures.js';

const periodMs = (t: { notBefore: Date; notAfter: Date }) => t.notAfter.getTime() - t.notBefore.getTime() + 1000;
const stretch = (t: ReturnType<typeof agentTbs>, ms: number) => {
  const notAfter = new Date(t.notAfter.getTime() + ms);
  return tweak(t, { notAfter, validityDer: sequence(x509Time(t.notBefore), x509Time(notAfter)) });
};

describe('agent validity boundary', () => {
  it('exactly 365 days passes', () => {
    const t = agentTbs({ validityDays: 365 });
    expect(periodMs(t)).toBe(365 * DAY_MS);
    expect(errorLints(t)).toEqual([]);
  });

  it('365 days + 1 second is refused', () => {
    const t = stretch(agentTbs({ validityDays: 365 }), 1000);
    expect(periodMs(t)).toBe(365 * DAY_MS + 1000);
    expect(expectRefusedBy(t, 'e_validity_exceeds_profile_maximum')[0]).toMatch(/exceeds the agent maximum of 365/);
  });

  it('agent-high-risk: exactly 30 days passes, 30 days + 1 s is refused', () => {
    const t = agentTbs({ profile: profile('agent-high-risk'), validityDays: 30 });
    expect(periodMs(t)).toBe(30 * DAY_MS);
    expect(errorLints(t)).toEqual([]);
    expectRefusedBy(stretch(t, 1000), 'e_validity_exceeds_profile_maximum');
  });

  it('a deployment maximum lowers the limit (withMaxValidity), never raises it', () => {
    const lowered = withMaxValidity(profile('agent'), 30);
    expect(lowered.maxValidityDays).toBe(30);
    expect(lowered.defaultValidityDays).toBe(30);
    expect(errorLints(agentTbs({ profile: lowered, validityDays: 30 }))).toEqual([]);
    expectRefusedBy(agentTbs({ profile: lowered, validityDays: 31 }), 'e_validity_exceeds_profile_maximum');
    expect(withMaxValidity(profile('agent-high-risk'), 60)).toBe(profile('agent-high-risk'));
    expect(withMaxValidity(profile('agent'), undefined)).toBe(profile('agent'));
  });
});
