/** Codecs for the agent-ca certificate extensions; the contract is asn1/AgentCA-Extensions.asn. */
export type { ExtensionCodec } from './codec.js';
export {
  encodeAgentPolicy,
  decodeAgentPolicy,
  agentPolicyCodec,
  type AgentPolicy,
  type MonetaryAmount,
} from './agent-policy.js';
export { encodeAgentScope, decodeAgentScope, agentScopeCodec, type AgentScope } from './agent-scope.js';
export {
  encodeModelHash,
  decodeModelHash,
  modelHashCodec,
  MODEL_HASH_DIGEST_LENGTH,
  type ModelHash,
  type ModelHashAlgorithm,
} from './model-hash.js';
export { encodeAgentContext, decodeAgentContext, agentContextCodec, type AgentContext } from './agent-context.js';
export {
  AGENT_EXTENSION_NAMES,
  agentExtensionCodecs,
  agentExtensionCodecsForArc,
  decodeAgentExtensions,
  type AgentExtensionCodecs,
  type AgentExtensionOids,
  type AgentExtensionParseError,
  type AgentExtensions,
  type AgentExtensionValues,
} from './agent-extensions.js';
