import { Oids } from '../asn1/oids.js';
import { DEFAULT_CONFIG, isDnsName } from '../profile/config.js';
import { findExtension, type Lint } from './lint.js';

/** Agents are named by a DNS name under a configured agent domain and/or a URI (RFC 5280 §4.2.1.6). */
export const eSubjectAltName: Lint = {
  name: 'e_agent_subject_alt_name',
  citation: 'RFC 5280 §4.2.1.6',
  severity: 'error',
  appliesTo: ['agent'],
  check(t, ctx) {
    const out: string[] = [];
    const sans = t.facts.subjectAltNames;
    if (t.profile.requireSan && sans.length === 0)
      return ['an agent certificate needs a subjectAltName (DNS name or URI)'];
    const ext = findExtension(t, Oids.subjectAltName);
    if (ext?.critical && t.subject.der.length > 2)
      out.push('subjectAltName must be non-critical when the subject is not empty');
    for (const n of sans) {
      if ('dns' in n) {
        if (!isDnsName(n.dns)) out.push(`"${n.dns}" is not a lowercase DNS name`);
        else if (!ctx.agentDomains.some((d) => n.dns.endsWith(`.${d}`)))
          out.push(`"${n.dns}" is not under an agent domain (${ctx.agentDomains.join(', ')})`);
      } else {
        let scheme: string | undefined;
        try {
          const u = new URL(n.uri);
          if (u.protocol.length > 1 && !/\s/.test(n.uri)) scheme = u.protocol.slice(0, -1);
        } catch {
          scheme = undefined;
        }
        const allowed = ctx.uriSanSchemes ?? DEFAULT_CONFIG.uriSanSchemes;
        if (scheme === undefined) out.push(`"${n.uri}" is not an absolute URI`);
        // RFC 5280 §4.2.1.6 allows any URI; an agent is named by what a relying party can act
        // on (https, spiffe, urn), never by javascript:, data: or file: (config uriSanSchemes).
        else if (!allowed.includes(scheme))
          out.push(`"${n.uri}": URI scheme ${scheme} is not allowed (allowed: ${allowed.join(', ')})`);
      }
    }
    return out;
  },
};
