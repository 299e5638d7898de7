/**
 * agent-ca public API. Embed the CA in-process with createAuthority(); mount the HTTP edge in
 * your own fastify app with agentCaPlugin; everything else here is for callers that need the
 * pieces (signers, codecs, OCSP, CRL, audit) directly.
 */

// everything without the HTTP edge (agent-ca/core), then the edge itself (agent-ca/http)
export * from './core/index.js';
export * from './http/index.js';
