import { AgentOids } from '../asn1/oids.js';
import type { Lint } from './lint.js';

const OURS = new Set<string>(Object.values(AgentOids));

/**
 * RFC 5280 §4.2: at most one instance of an extension. Our agent extensions are non-critical
 * so that stock verifiers accept the chain (docs/architecture.md), and appear only in agent certificates.
 */
export const eExtensions: Lint = {
  name: 'e_extensions',
  citation: 'RFC 5280 §4.2',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const e of t.extensions) {
      if (seen.has(e.oid)) out.push(`extension ${e.name} (${e.oid}) appears twice`);
      seen.add(e.oid);
      if (e.name.startsWith('agent') || e.name === 'modelHash' || OURS.has(e.oid)) {
        if (e.critical) out.push(`${e.name} must be non-critical`);
        if (t.profile.kind !== 'agent') out.push(`${e.name} in a ${t.profile.kind} certificate`);
      }
    }
    return out;
  },
};
