/**
 * A small status server on 127.0.0.1 for the action tests: POST /ocsp answered by the project's
 * OcspResponder (live source, no cache: every answer reflects the store now) and
 * GET /crl/intermediate.crl built by CrlPublisher on each request. Started before the CA so
 * that the CA's baseUrl (and so every AIA / CRL DP URL) points at it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Authority } from '../../../src/authority/authority.js';
import { isAgentCaError } from '../../../src/errors.js';
import { crlIssuerFromCa, CrlPublisher } from '../../../src/crl/publisher.js';
import { issuerIndexFromCertificates } from '../../../src/ocsp/issuer-index.js';
import { createLiveSource } from '../../../src/ocsp/live-source.js';
import { OcspResponder } from '../../../src/ocsp/responder.js';
import { responderIdentity } from '../../../src/ocsp/responder-identity.js';
import { certStatusFrom } from '../../../src/ocsp/status-map.js';
import type { IssuerId } from '../../../src/types.js';

export interface StatusServer {
  baseUrl: string;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  attach(authority: Authority): void;
  close(): Promise<void>;
}

export async function startStatusServer(): Promise<StatusServer> {
  let responder: OcspResponder | undefined;
  let publisher: CrlPublisher | undefined;
  const hits = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      void (async () => {
        if (req.method === 'POST' && path === '/ocsp' && responder) {
          const r = await responder.respond(Buffer.concat(chunks));
          res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(r.der);
        } else if (req.method === 'GET' && path === '/crl/intermediate.crl' && publisher) {
          const crl = await publisher.publishFull('intermediate' as IssuerId);
          res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(crl.der);
        } else res.writeHead(404).end();
      })().catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    hits,
    attach(a) {
      const ids = { root: 'root' as IssuerId, intermediate: 'intermediate' as IssuerId };
      const identities = {
        root: responderIdentity(a.ca('root').responder.signer, a.ca('root').responder.certificate.der),
        intermediate: responderIdentity(
          a.ca('intermediate').responder.signer,
          a.ca('intermediate').responder.certificate.der,
        ),
      };
      responder = new OcspResponder({
        issuers: issuerIndexFromCertificates([
          { id: ids.root, certificate: a.ca('root').certificate },
          { id: ids.intermediate, certificate: a.ca('intermediate').certificate },
        ]),
        clock: a.clock,
        cache: false,
        sources: [
          createLiveSource({
            responderFor: (id) =>
              id === ids.root ? identities.root : id === ids.intermediate ? identities.intermediate : undefined,
            status: async (_id, serial) => {
              try {
                return certStatusFrom((await a.show(serial)).status);
              } catch (e) {
                if (isAgentCaError(e) && e.is('CERT_NOT_FOUND')) return { kind: 'unknown' };
                throw e;
              }
            },
            validityMs: 3_600_000,
          }),
        ],
      });
      publisher = new CrlPublisher({
        store: a.store,
        clock: a.clock,
        issuers: { intermediate: crlIssuerFromCa(a.ca('intermediate')) },
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
