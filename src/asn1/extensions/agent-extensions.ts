/**
 * All four agent extensions together: a codec set bound to an OID arc (ours by default, or an
 * operator's own, asn1/README.md), and `decodeAgentExtensions` for reading them out of any
 * certificate, including foreign ones, without ever throwing (docs/architecture.md: decoding a foreign
 * certificate records a parse error instead).
 */
import { AgentCaError, Asn1DecodeError, type ErrorCode } from '../../errors.js';
import {
  agentExtensionOids,
  AgentOids,
  readableAgentExtensionOids,
  type AgentExtensionName,
  type AgentExtensionOids,
} from '../oids.js';
import { agentContextCodec, type AgentContext } from './agent-context.js';
import { agentPolicyCodec, type AgentPolicy } from './agent-policy.js';
import { agentScopeCodec, type AgentScope } from './agent-scope.js';
import type { ExtensionCodec } from './codec.js';
import { modelHashCodec, type ModelHash } from './model-hash.js';

export type { AgentExtensionOids };

export interface AgentExtensionValues {
  agentPolicy: AgentPolicy;
  agentScope: AgentScope;
  modelHash: ModelHash;
  agentContext: AgentContext;
}

export type AgentExtensionCodecs = { readonly [K in AgentExtensionName]: ExtensionCodec<AgentExtensionValues[K]> };

export interface AgentExtensionParseError {
  oid: string;
  name: AgentExtensionName;
  code: ErrorCode;
  error: string;
}

export type AgentExtensions = Partial<AgentExtensionValues> & { parseErrors: AgentExtensionParseError[] };

export const AGENT_EXTENSION_NAMES: readonly AgentExtensionName[] = Object.freeze([
  'agentPolicy',
  'agentScope',
  'modelHash',
  'agentContext',
]);

/** The four codecs with the OIDs of `oids` (default: our arc). Pass `agentExtensionOids(arc)` for another arc. */
export function agentExtensionCodecs(oids: AgentExtensionOids = AgentOids): AgentExtensionCodecs {
  return Object.freeze({
    agentPolicy: Object.freeze({ ...agentPolicyCodec, oid: oids.agentPolicy }),
    agentScope: Object.freeze({ ...agentScopeCodec, oid: oids.agentScope }),
    modelHash: Object.freeze({ ...modelHashCodec, oid: oids.modelHash }),
    agentContext: Object.freeze({ ...agentContextCodec, oid: oids.agentContext }),
  });
}

/** Codecs for an operator arc, e.g. `agentExtensionCodecsForArc('1.3.6.1.4.1.99999.7')`. */
export function agentExtensionCodecsForArc(arc: string): AgentExtensionCodecs {
  return agentExtensionCodecs(agentExtensionOids(arc));
}

function toParseError(oid: string, name: AgentExtensionName, e: unknown): AgentExtensionParseError {
  if (e instanceof AgentCaError) return { oid, name, code: e.code, error: e.message };
  const wrapped = new Asn1DecodeError(name, e instanceof Error ? e.message : String(e));
  return { oid, name, code: wrapped.code, error: wrapped.message };
}

/**
 * Decode the agent extensions found among a certificate's extensions (RFC 5280 §4.1
 * Extension: extnID + the extnValue contents). Never throws: an undecodable value, or an
 * extension present more than once (RFC 5280 §4.2 forbids that), is recorded in parseErrors
 * and its field left out, so a relying party falls back to default deny for it. Extensions
 * with other OIDs are ignored. `oids` is one OID set or several (default: our arc and the
 * legacy 2.25 arc, `readableAgentExtensionOids`); the same extension under two arcs counts as
 * a duplicate.
 */
export function decodeAgentExtensions(
  extensions: readonly { oid: string; value: Uint8Array }[],
  oids: AgentExtensionOids | readonly AgentExtensionOids[] = readableAgentExtensionOids(),
): AgentExtensions {
  const out: AgentExtensions = { parseErrors: [] };
  const sets: readonly AgentExtensionOids[] = Array.isArray(oids) ? oids : [oids as AgentExtensionOids];
  const byOid = new Map<string | undefined, AgentExtensionName>(
    sets.flatMap((set) => AGENT_EXTENSION_NAMES.map((n): [string | undefined, AgentExtensionName] => [set?.[n], n])),
  );
  const firstOid = new Map<AgentExtensionName, string>();
  const codecs = agentExtensionCodecs(AgentOids); // decoding does not depend on the OID
  const seen = new Set<AgentExtensionName>();
  const duplicated = new Set<AgentExtensionName>();
  const list: typeof extensions = Array.isArray(extensions) ? extensions : [];
  for (const ext of list) {
    const oid = typeof ext?.oid === 'string' ? ext.oid : '';
    const name = byOid.get(oid);
    if (!name) continue;
    if (seen.has(name)) {
      duplicated.add(name);
      continue;
    }
    seen.add(name);
    firstOid.set(name, oid);
    try {
      // Each key gets the value type of its own codec; the cast only bridges the union.
      (out as Record<string, unknown>)[name] = codecs[name].decode(ext.value);
    } catch (e) {
      out.parseErrors.push(toParseError(oid, name, e));
    }
  }
  for (const name of duplicated) {
    delete out[name];
    const err = new Asn1DecodeError(name, 'extension appears more than once (RFC 5280 §4.2); all instances ignored');
    out.parseErrors.push({ oid: firstOid.get(name) ?? AgentOids[name], name, code: err.code, error: err.message });
  }
  return out;
}
