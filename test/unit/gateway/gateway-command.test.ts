/**
 * `agent-ca gateway`: each gateway's configuration carries the chain, the revocation check of
 * its mode, the refusal and the verified-agent headers; modes a gateway cannot do are usage
 * errors. (nginx and Apache run these configurations for real in test/integration/gateway-*.)
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';

async function gateway(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['gateway', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('agent-ca gateway', () => {
  it('nginx: OCSP with the cache by default, CRL and both on request, 403 and overwritten agent headers', async () => {
    const ocsp = await gateway(['nginx', '--ca-url', 'http://ca.example:8080/', '--upstream', 'http://10.0.0.5:9000']);
    expect(ocsp.code).toBe(0);
    expect(ocsp.out).toContain('ssl_ocsp_responder      http://ca.example:8080/ocsp;');
    expect(ocsp.out).toContain('ssl_ocsp_cache');
    expect(ocsp.out).not.toContain('ssl_crl ');
    expect(ocsp.out).toContain('error_page 495 496 =403 @agent_refused;');
    expect(ocsp.out).toContain('proxy_set_header X-Agent-Serial $ssl_client_serial;');
    expect(ocsp.out).toContain('proxy_pass http://10.0.0.5:9000;');
    const both = await gateway(['nginx', '--mode', 'both']);
    expect(both.out).toContain('ssl_ocsp                on;');
    expect(both.out).toContain('ssl_crl                 /etc/nginx/agent-ca/agents.crl;');
    expect(both.out).toContain('agent-ca crl sync --url http://127.0.0.1:8080/crl/intermediate.crl --root-crl');
  });

  it('apache, haproxy, envoy', async () => {
    const apache = await gateway(['apache', '--mode', 'crl', '--listen', '8443']);
    expect(apache.out).toContain('Listen 8443');
    expect(apache.out).toContain('SSLCARevocationCheck    chain');
    expect(apache.out).not.toContain('SSLOCSPEnable');
    expect(apache.out).toContain('RequestHeader set X-Agent-Serial "%{SSL_CLIENT_M_SERIAL}s"');
    const haproxy = await gateway(['haproxy']);
    expect(haproxy.code).toBe(0);
    expect(haproxy.out).toContain('crl-file /etc/haproxy/agent-ca/agents.crl verify optional');
    expect(haproxy.out).toContain('http-request deny deny_status 403 unless { ssl_c_used } { ssl_c_verify 0 }');
    const envoy = await gateway(['envoy', '--upstream', 'http://backend:7000']);
    expect(envoy.out).toContain('require_client_certificate: true');
    expect(envoy.out).toContain('crl: { filename: /etc/envoy/agent-ca/agents.crl }');
    expect(envoy.out).toContain('port_value: 7000');
  });

  it('usage errors exit 2: no gateway, an unknown one, OCSP for HAProxy or Envoy, a bad port or URL', async () => {
    for (const args of [
      [],
      ['traefik'],
      ['haproxy', '--mode', 'ocsp'],
      ['envoy', '--mode', 'both'],
      ['nginx', '--listen', 'http'],
      ['nginx', '--ca-url', 'ftp://x'],
      ['nginx', '--mode', 'maybe'],
    ]) {
      const r = await gateway(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain('usage: agent-ca gateway');
    }
  });
});
