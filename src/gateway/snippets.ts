/**
 * `agent-ca gateway nginx|apache|haproxy|envoy`: a working mTLS configuration for a gateway in
 * front of agents. The gateway trusts our chain, checks revocation (OCSP, a CRL file kept
 * current by `agent-ca crl sync`, or both), refuses revoked, unknown and absent client
 * certificates, and passes the verified agent's serial and subject upstream in headers it
 * overwrites (a client cannot forge them). Trade-offs: docs/revocation-freshness.md.
 */
import { AgentCaError } from '../errors.js';

export const GATEWAYS = ['nginx', 'apache', 'haproxy', 'envoy'] as const;
export type GatewayKind = (typeof GATEWAYS)[number];
export type RevocationMode = 'ocsp' | 'crl' | 'both';

export interface GatewayOptions {
  /** The agent-ca server's base URL (OCSP at /ocsp, CRLs at /crl/...). */
  caUrl: string;
  mode: RevocationMode;
  /** Where the gateway listens. */
  listen: number | string;
  serverCert: string;
  serverKey: string;
  /** Root + intermediate PEM (`agent-ca chain`, concatenated). */
  chainFile: string;
  /** The CRL file `agent-ca crl sync` keeps current (intermediate + root CRLs). */
  crlFile: string;
  /** Where verified requests go. */
  upstream: string;
}

/** Header names the upstream reads; the gateway sets them, replacing anything the client sent. */
export const AGENT_HEADERS = Object.freeze({
  serial: 'X-Agent-Serial',
  subject: 'X-Agent-Subject',
  verify: 'X-Agent-Verify',
});

function syncCommand(o: GatewayOptions, reload: string): string {
  return `agent-ca crl sync --url ${o.caUrl}/crl/intermediate.crl --root-crl --ca ${o.chainFile} --out ${o.crlFile} --interval 10s --exec "${reload}"`;
}

function nginx(o: GatewayOptions): string {
  const ocsp = o.mode !== 'crl';
  const crl = o.mode !== 'ocsp';
  return `# agent-ca gateway nginx (${o.mode}): mTLS for agents; nginx >= 1.19 for ssl_ocsp.
${crl ? `# Keep the CRL file current (full CRLs change within seconds of a revocation):\n#   ${syncCommand(o, 'nginx -s reload')}\n` : ''}server {
    listen ${o.listen} ssl;
    ssl_certificate         ${o.serverCert};
    ssl_certificate_key     ${o.serverKey};

    # Agents must present a certificate that chains to our root through our intermediate.
    ssl_client_certificate  ${o.chainFile};
    ssl_verify_client       on;
    ssl_verify_depth        2;
${
  ocsp
    ? `
    # OCSP for the agent and the intermediate. Agents' answers are valid 60 s (nextUpdate), so
    # this cache cannot keep a "good" answer past the revocation promise.
    ssl_ocsp                on;
    ssl_ocsp_responder      ${o.caUrl}/ocsp;
    ssl_ocsp_cache          shared:agent_ca_ocsp:10m;
    # resolver 127.0.0.53;  # needed when the responder URL names a host
`
    : ''
}${
    crl
      ? `
    # Every CA in the chain needs its CRL in the file (nginx checks the whole chain).
    ssl_crl                 ${o.crlFile};
`
      : ''
  }
    # Revoked, unknown or missing client certificate: 403, not nginx's 400.
    error_page 495 496 =403 @agent_refused;
    location @agent_refused {
        default_type text/plain;
        return 403 "agent certificate refused: $ssl_client_verify\\n";
    }

    location / {
        proxy_pass ${o.upstream};
        # Set here, so whatever a client sends under these names is dropped.
        proxy_set_header ${AGENT_HEADERS.serial} $ssl_client_serial;
        proxy_set_header ${AGENT_HEADERS.subject} $ssl_client_s_dn;
        proxy_set_header ${AGENT_HEADERS.verify} $ssl_client_verify;
    }
}
`;
}

function apache(o: GatewayOptions): string {
  const ocsp = o.mode !== 'crl';
  const crl = o.mode !== 'ocsp';
  return `# agent-ca gateway apache (${o.mode}): mTLS for agents; needs mod_ssl, mod_headers, mod_proxy, mod_proxy_http.
# Apache refuses a revoked or unknown agent in the TLS handshake (alert "certificate revoked" /
# "unknown CA"), before any HTTP exchange: there is no 403 to send.
${crl ? `# Keep the CRL file current (full CRLs change within seconds of a revocation):\n#   ${syncCommand(o, 'apachectl -k graceful')}\n` : ''}Listen ${o.listen}
<VirtualHost *:${o.listen}>
    SSLEngine on
    SSLCertificateFile      ${o.serverCert}
    SSLCertificateKeyFile   ${o.serverKey}

    SSLCACertificateFile    ${o.chainFile}
    SSLVerifyClient         require
    SSLVerifyDepth          2
${
  ocsp
    ? `
    # Asked on every handshake (mod_ssl keeps no client OCSP cache); no nonce, so the
    # responder serves the answer it signed for this window instead of signing per request.
    SSLOCSPEnable            on
    SSLOCSPDefaultResponder  ${o.caUrl}/ocsp
    SSLOCSPOverrideResponder on
    SSLOCSPUseRequestNonce   off
    SSLOCSPResponderTimeout  5
`
    : ''
}${
    crl
      ? `
    SSLCARevocationFile     ${o.crlFile}
    SSLCARevocationCheck    chain
`
      : ''
  }
    # Set here, so whatever a client sends under these names is replaced.
    RequestHeader set ${AGENT_HEADERS.serial} "%{SSL_CLIENT_M_SERIAL}s"
    RequestHeader set ${AGENT_HEADERS.subject} "%{SSL_CLIENT_S_DN}s"
    RequestHeader set ${AGENT_HEADERS.verify} "%{SSL_CLIENT_VERIFY}s"
    ProxyPass        / ${o.upstream.replace(/\/?$/, '/')}
    ProxyPassReverse / ${o.upstream.replace(/\/?$/, '/')}
</VirtualHost>
`;
}

function haproxy(o: GatewayOptions): string {
  if (o.mode !== 'crl')
    throw new AgentCaError(
      'INPUT_INVALID',
      'haproxy checks client certificates against CRLs only (no client OCSP): use --mode crl',
    );
  return `# agent-ca gateway haproxy (crl): mTLS for agents; HAProxy has no OCSP check for client
# certificates, so revocation comes from the CRL file, kept current by:
#   ${syncCommand(o, 'systemctl reload haproxy')}
# verify optional + *-ignore-err let the request through to answer 403 instead of a TLS alert;
# the deny below refuses anything that did not verify.
frontend agents
    mode http
    bind :${o.listen} ssl crt ${o.serverCert} ca-file ${o.chainFile} crl-file ${o.crlFile} verify optional ca-ignore-err all crt-ignore-err all
    http-request deny deny_status 403 unless { ssl_c_used } { ssl_c_verify 0 }
    http-request set-header ${AGENT_HEADERS.serial} %[ssl_c_serial,hex]
    http-request set-header ${AGENT_HEADERS.subject} %[ssl_c_s_dn]
    http-request set-header ${AGENT_HEADERS.verify} %[ssl_c_verify]
    default_backend agent_upstream

backend agent_upstream
    mode http
    server upstream ${o.upstream.replace(/^https?:\/\//, '').replace(/\/.*$/, '')}
# ${o.serverCert} must hold the server certificate and its key (HAProxy reads both from crt).
`;
}

function envoy(o: GatewayOptions): string {
  if (o.mode !== 'crl')
    throw new AgentCaError(
      'INPUT_INVALID',
      'envoy checks client certificates against CRLs only (no client OCSP): use --mode crl',
    );
  const u = new URL(o.upstream);
  return `# agent-ca gateway envoy (crl): mTLS for agents. Envoy has no OCSP check for client
# certificates; the CRL file is kept current by:
#   ${syncCommand(o, 'kill -HUP $(pidof envoy)  # or a hot restart; SDS with watched_directory reloads it without one')}
# A revoked or unknown agent is refused in the TLS handshake. The verified certificate reaches
# the upstream in x-forwarded-client-cert (Hash, Subject, URI), set by Envoy, never the client's.
static_resources:
  listeners:
  - name: agents
    address: { socket_address: { address: 0.0.0.0, port_value: ${Number(o.listen)} } }
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: { filename: ${o.serverCert} }
              private_key: { filename: ${o.serverKey} }
            validation_context:
              trusted_ca: { filename: ${o.chainFile} }
              crl: { filename: ${o.crlFile} }
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: agents
          forward_client_cert_details: SANITIZE_SET
          set_current_client_cert_details: { subject: true, uri: true }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
          route_config:
            virtual_hosts:
            - name: upstream
              domains: ["*"]
              routes: [{ match: { prefix: "/" }, route: { cluster: agent_upstream } }]
  clusters:
  - name: agent_upstream
    type: STRICT_DNS
    load_assignment:
      cluster_name: agent_upstream
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ${u.hostname}, port_value: ${Number(u.port || (u.protocol === 'https:' ? 443 : 80))} } } } }] }]
`;
}

export function gatewayConfig(kind: GatewayKind, o: GatewayOptions): string {
  switch (kind) {
    case 'nginx':
      return nginx(o);
    case 'apache':
      return apache(o);
    case 'haproxy':
      return haproxy(o);
    case 'envoy':
      return envoy(o);
  }
}
