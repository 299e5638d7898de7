/**
 * agent-ca/http: the HTTP edge. Mount agentCaPlugin in your fastify app, or run startServer;
 * requireAgentAction guards your own routes with signed agent actions (docs/cli-and-package.md).
 */
export { agentCaPlugin, buildApp, type AgentCaPluginOptions } from './app.js';
export { startServer, type ServeOptions, type RunningServer } from './server.js';
export { requireAgentAction } from './plugins/require-agent-action.js';
