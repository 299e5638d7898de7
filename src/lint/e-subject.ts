import type { Lint } from './lint.js';

/** Subject CN = agent name, O = operator (docs/architecture.md); CAs need a non-empty subject (RFC 5280 §4.1.2.6). */
export const eSubject: Lint = {
  name: 'e_subject',
  citation: 'RFC 5280 §4.1.2.6',
  severity: 'error',
  check(t) {
    const s = t.subjectSpec;
    const out: string[] = [];
    if (!s.commonName) out.push('subject CN is required');
    if (!s.organization) out.push('subject O (operator) is required');
    if (t.profile.kind === 'agent' && t.facts.agentId !== undefined && s.commonName !== t.facts.agentId)
      out.push(`CN "${s.commonName}" must be the agent id "${t.facts.agentId}"`);
    return out;
  },
};
