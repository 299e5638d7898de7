/**
 * An app that embeds agent-ca: its own fastify server, the CA's routes mounted beside its own
 * (OCSP, CRLs, CA certificates, verify, the admin and agent APIs, events, webhooks, reports,
 * the revocation stream, /openapi.json and /docs), and one route of its own that only a
 * signed agent action may call. docs/http-api.md explains each piece.
 *
 *   npx tsx --tsconfig examples/embed/tsconfig.json examples/embed/server.ts [DATA_DIR]
 *
 * Prints one JSON line once listening ({ url, adminToken, rootPem }) and stops cleanly on
 * SIGINT/SIGTERM: fastify's onClose stops the OCSP, CRL, webhook, risk and report services
 * the plugin started, then the authority is closed.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { agentCaPlugin, createAuthority, requireAgentAction } from 'agent-ca';

const dataDir = process.argv[2] ?? './agent-ca-embed-data';
const port = Number(process.env.PORT ?? 8090);
const baseUrl = `http://127.0.0.1:${port}`;

const ca = await createAuthority({ dataDir });
// The certificates name this server's URLs (CRL DP, AIA OCSP and caIssuers): give your public URL.
if (!ca.initialised) await ca.init({ keyType: 'p256', config: { organization: 'Example Operator', baseUrl } });

const app = Fastify({ logger: { level: 'warn' } });
const adminToken = process.env.AGENT_CA_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
// Every route the certificates and the README name; the services behind them run with the app.
await app.register(agentCaPlugin, { authority: ca, adminToken });

// The app's own route: only an agent whose certificate grants write:payments, checked against
// this CA's OCSP, may call it (the agent signs with createActionEnvelope / AgentCaClient).
const chain = ca.chain();
app.post(
  '/payments',
  {
    preHandler: requireAgentAction({
      scope: 'write:payments',
      trustAnchors: chain.root,
      intermediates: [chain.intermediate],
      status: 'ocsp',
    }),
  },
  async (request) => ({ accepted: true, agent: request.agentAction?.agentId ?? null }),
);

app.addHook('onClose', async () => {
  await ca.close();
});
const stop = () => {
  app.close().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const url = await app.listen({ host: '127.0.0.1', port });
console.log(JSON.stringify({ url, adminToken, rootPem: chain.root }));
