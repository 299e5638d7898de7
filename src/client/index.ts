/**
 * `agent-ca/client`: the agent-side SDK. No fastify, no LevelDB, no store in its import graph.
 */
export { AgentCaClient, type AgentCaClientOptions } from './client.js';
export { AgentCaHttpError } from './http.js';
export { openAgentKey, type AgentKey } from './agent-key.js';
export type * from './types.js';
export { verifyAction } from '../actions/verify.js';
export type { ActionEnvelope, ActionVerdict, ActionAmount } from '../actions/types.js';
export { AgentCaError } from '../errors.js';
