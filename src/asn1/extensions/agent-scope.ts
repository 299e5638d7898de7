/**
 * agentScope (<arc>.1.2): the actions an agent may perform; anything not listed is denied.
 * asn1/AgentCA-Extensions.asn:
 *
 *   AgentScope ::= SEQUENCE SIZE (1..ub-scope-entries) OF ActionPattern
 *   ActionPattern ::= UTF8String (SIZE (3..256))  -- grammar in src/asn1/scope-match.ts
 *
 * An empty scope is refused rather than encoded: a certificate that grants nothing should not
 * carry the extension, and refusing it keeps "absent" the only way to say "no actions".
 */
import { AgentOids } from '../oids.js';
import { sequence, utf8String } from '../der.js';
import { parseDer, readSequenceOf, readUtf8String, type StringConstraint } from '../decode.js';
import { actionPatternViolation, MAX_ACTION_LENGTH } from '../scope-match.js';
import { encodeError, requireString, UB_SCOPE_ENTRIES, type ExtensionCodec } from './codec.js';

export type AgentScope = string[];

const WHAT = 'AgentScope';

const ACTION_PATTERN: StringConstraint = {
  min: 3,
  max: MAX_ACTION_LENGTH,
  check: (s) => actionPatternViolation(s),
};

export function encodeAgentScope(value: AgentScope): Buffer {
  if (!Array.isArray(value)) throw encodeError(WHAT, 'must be an array of action patterns');
  if (value.length < 1 || value.length > UB_SCOPE_ENTRIES)
    throw encodeError(WHAT, `${value.length} entries, 1..${UB_SCOPE_ENTRIES} allowed`);
  return sequence(...value.map((p, i) => utf8String(requireString(p, `${WHAT}[${i}]`, ACTION_PATTERN))));
}

export function decodeAgentScope(der: Uint8Array): AgentScope {
  return readSequenceOf(parseDer(der, WHAT), WHAT, (el, i) => readUtf8String(el, `${WHAT}[${i}]`, ACTION_PATTERN), {
    min: 1,
    max: UB_SCOPE_ENTRIES,
  });
}

export const agentScopeCodec: ExtensionCodec<AgentScope> = Object.freeze({
  name: 'agentScope',
  oid: AgentOids.agentScope,
  critical: false,
  encode: encodeAgentScope,
  decode: decodeAgentScope,
});
