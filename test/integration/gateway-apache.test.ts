/**
 * The 60-second promise at a real Apache (Debian 2.4, mod_ssl), configured with the output of
 * `agent-ca gateway apache`: a good agent gets 200 and its verified serial upstream; revoked
 * through the admin API it is refused in the TLS handshake (mod_ssl sends the alert, there is
 * no HTTP exchange) with OCSP (asked on every handshake) and with a CRL file kept by `agent-ca
 * crl sync` (--exec: graceful restart). Seconds are printed.
 */
import { describe, expect, it } from 'vitest';
import { agentRequest, APACHE, gatewayAvailable, gatewayFixture, secondsUntilRefused } from '../helpers/gateways.js';

const available = gatewayAvailable(APACHE);
if (!available.run) process.stdout.write(`gateway-apache: skipped: ${available.why}\n`);
const fx = available.run ? gatewayFixture('apache', 60) : undefined;

/** mod_ssl refuses in the handshake: curl gets no HTTP status at all. */
const refusedInHandshake = (r: { status: number }) => r.status === 0;

describe.runIf(available.run)('Apache in front of agents', () => {
  it('OCSP: 200 with the verified serial upstream, then refused at the next handshake after a revocation', async () => {
    const gw = await fx!.start('ocsp');
    const ca = fx!.ca;
    try {
      const agent = await ca.issueAgent('apache-ocsp-bot');
      const ok = await agentRequest(gw.port, agent, { 'X-Agent-Serial': 'forged' });
      expect(ok.status, gw.log()).toBe(200);
      const seen = JSON.parse(ok.body) as Record<string, string>;
      expect(seen['x-agent-serial']!.toLowerCase()).toBe(agent.serial);
      expect(seen['x-agent-verify']).toBe('SUCCESS');
      const t0 = performance.now();
      expect(
        (await ca.admin('POST', `/api/v1/certificates/${agent.serial}/revoke`, { reason: 'keyCompromise' })).status,
      ).toBe(200);
      const { seconds } = await secondsUntilRefused(gw.port, agent, t0, refusedInHandshake, 10_000);
      process.stdout.write(
        `apache SSLOCSPEnable: revoked agent refused in the handshake ${seconds.toFixed(2)} s after the revoke call\n`,
      );
      expect(gw.log()).toMatch(/certificate revoked|revoked/i);
      const other = await ca.issueAgent('apache-ocsp-good');
      expect((await agentRequest(gw.port, other)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('CRL kept by agent-ca crl sync (--exec: graceful restart): refused within seconds of a revocation', async () => {
    const seconds = await fx!.crlRevocationSeconds('apache-crl-bot', refusedInHandshake);
    process.stdout.write(
      `apache SSLCARevocationFile + agent-ca crl sync --interval 1s: revoked agent refused ${seconds.toFixed(2)} s after the revoke call\n`,
    );
    expect(seconds).toBeLessThan(20);
  }, 60_000);
});
