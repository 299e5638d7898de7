/**
 * The 60-second promise at a real nginx (Debian 1.22), configured with the output of
 * `agent-ca gateway nginx`: a good agent gets 200 and its verified serial upstream; revoked
 * through the admin API it gets 403 (error_page 495 496 =403) with `ssl_ocsp_cache` on, and with
 * a CRL file kept by `agent-ca crl sync`; the risk engine's automatic revocation likewise. The
 * CA's agent profile answers OCSP with a 10 s validity here, so nginx's cache turns over within
 * the test; the bound it shows is the validity (60 s by default). Seconds are printed.
 */
import { describe, expect, it } from 'vitest';
import { agentRequest, gatewayAvailable, gatewayFixture, NGINX, secondsUntilRefused } from '../helpers/gateways.js';

const VALIDITY_S = 10;
const available = gatewayAvailable(NGINX);
if (!available.run) process.stdout.write(`gateway-nginx: skipped: ${available.why}\n`);
const fx = available.run ? gatewayFixture('nginx', VALIDITY_S) : undefined;

const refused403 = (r: { status: number }) => r.status === 403;

describe.runIf(available.run)('nginx in front of agents', () => {
  it('OCSP with ssl_ocsp_cache: 200 with the verified serial upstream, then 403 within the OCSP validity of a revocation', async () => {
    const gw = await fx!.start('ocsp');
    const ca = fx!.ca;
    try {
      const agent = await ca.issueAgent('nginx-ocsp-bot');
      const ok = await agentRequest(gw.port, agent, { 'X-Agent-Serial': 'forged' });
      expect(ok.status, gw.log()).toBe(200);
      const seen = JSON.parse(ok.body) as Record<string, string>;
      expect(seen['x-agent-serial']!.toLowerCase()).toBe(agent.serial);
      expect(seen['x-agent-verify']).toBe('SUCCESS');
      expect(seen['x-agent-subject']).toContain('CN=nginx-ocsp-bot');
      // A second request is answered from nginx's OCSP cache: still 200.
      expect((await agentRequest(gw.port, agent)).status).toBe(200);

      const t0 = performance.now();
      expect(
        (await ca.admin('POST', `/api/v1/certificates/${agent.serial}/revoke`, { reason: 'keyCompromise' })).status,
      ).toBe(200);
      const { seconds, last } = await secondsUntilRefused(gw.port, agent, t0, refused403);
      process.stdout.write(
        `nginx ssl_ocsp + ssl_ocsp_cache: revoked agent refused (403) ${seconds.toFixed(2)} s after the revoke call (OCSP validity ${VALIDITY_S} s)\n`,
      );
      expect(seconds).toBeLessThanOrEqual(VALIDITY_S + 2);
      expect(last.body).toContain('agent certificate refused');
      // An agent of another CA (unknown) and no certificate at all: 403 too.
      const other = await ca.issueAgent('nginx-ocsp-good');
      expect((await agentRequest(gw.port, other)).status).toBe(200);
      expect((await agentRequest(gw.port, { path: ca.serverCert, key: ca.serverKey })).status).toBe(403);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('CRL kept by agent-ca crl sync (--exec reloads nginx): 403 within seconds of a revocation', async () => {
    const seconds = await fx!.crlRevocationSeconds('nginx-crl-bot', refused403);
    process.stdout.write(
      `nginx ssl_crl + agent-ca crl sync --interval 1s: revoked agent refused (403) ${seconds.toFixed(2)} s after the revoke call\n`,
    );
    expect(seconds).toBeLessThan(20);
  }, 60_000);

  it('the risk engine: events push an agent over 0.85, the next requests are refused; seconds from the event POST printed', async () => {
    const gw = await fx!.start('ocsp');
    const ca = fx!.ca;
    try {
      const agent = await ca.issueAgent('nginx-risky-bot', { scope: ['read:accounts'], tenant: 'acme' });
      expect((await agentRequest(gw.port, agent)).status, gw.log()).toBe(200); // nginx caches "good"
      const time = () => new Date().toISOString();
      const behaved = Array.from({ length: 100 }, () => ({
        serial: agent.serial,
        type: 'api_call',
        action: 'read:accounts',
        outcome: 'success',
        time: time(),
      }));
      expect((await ca.admin('POST', '/api/v1/events', { events: behaved })).status).toBe(202);
      let t0 = 0;
      let band = '';
      for (let k = 0; k < 30 && band !== 'revoke'; k++) {
        const drift = Array.from({ length: 50 }, (_, i) => ({
          serial: agent.serial,
          type: 'api_call',
          action: i % 2 ? 'write:accounts' : 'read:accounts',
          outcome: i % 2 ? 'denied' : 'success',
          time: time(),
        }));
        t0 = performance.now();
        const r = await ca.admin('POST', '/api/v1/events', { events: drift });
        expect(r.status).toBe(202);
        band = (r.json.scores as { serial: string; band: string }[]).find((s) => s.serial === agent.serial)!.band;
      }
      expect(band).toBe('revoke');
      const { seconds } = await secondsUntilRefused(gw.port, agent, t0, refused403);
      process.stdout.write(
        `risk engine -> nginx (ssl_ocsp_cache on): refused ${seconds.toFixed(2)} s after the event POST that crossed 0.85 (OCSP validity ${VALIDITY_S} s)\n`,
      );
      expect(seconds).toBeLessThanOrEqual(VALIDITY_S + 2);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
