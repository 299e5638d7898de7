/**
 * The 60-second promise at a real Apache (Debian 2.4, mod_ssl), configured with the output of
 * `agent-ca gateway apache`: a good agent gets 200 and its verified serial upstream; revoked
 * through the admin API it is refused in the TLS handshake (mod_ssl sends the alert, there is
 * no HTTP exchange) with OCSP (asked on every handshake) and with a CRL file kept by `agent-ca
 * crl sync` (--exec: graceful restart). Seconds are printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfig, type RevocationMode } from '../../src/gateway/snippets.js';
import { agentRequest, APACHE, freePort, gatewayAvailable, secondsUntilRefused, spawnCrlSync, startApache, startEchoUpstream, startGatewayCa, type Gateway, type GatewayCa } from '../helpers/gateways.js';

const available = gatewayAvailable(APACHE);
if (!available.run) process.stdout.write(`gateway-apache: skipped: ${available.why}\n`);

let dir: string;
let ca: GatewayCa;
let upstream: { url: string; stop(): Promise<void> };

beforeAll(async () => {
  if (!available.run) return;
  dir = mkdtempSync(join(tmpdir(), 'agent-ca-apache-'));
  ca = await startGatewayCa(dir, 60);
  upstream = await startEchoUpstream();
});
afterAll(async () => {
  await upstream?.stop();
  await ca?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function apacheFor(mode: RevocationMode): Promise<Gateway> {
  const port = await freePort();
  const vhost = gatewayConfig('apache', { caUrl: ca.url, mode, listen: port, serverCert: ca.serverCert, serverKey: ca.serverKey, chainFile: ca.chainFile, crlFile: join(dir, 'agents.crl'), upstream: upstream.url });
  return startApache(join(dir, `apache-${mode}`), port, vhost);
}

/** mod_ssl refuses in the handshake: curl gets no HTTP status at all. */
const refusedInHandshake = (r: { status: number }) => r.status === 0;

describe.runIf(available.run)('Apache in front of agents', () => {
  it('OCSP: 200 with the verified serial upstream, then refused at the next handshake after a revocation', async () => {
    const gw = await apacheFor('ocsp');
    try {
      const agent = await ca.issueAgent('apache-ocsp-bot');
      const ok = await agentRequest(gw.port, agent, { 'X-Agent-Serial': 'forged' });
      expect(ok.status, gw.log()).toBe(200);
      const seen = JSON.parse(ok.body) as Record<string, string>;
      expect(seen['x-agent-serial']!.toLowerCase()).toBe(agent.serial);
      expect(seen['x-agent-verify']).toBe('SUCCESS');
      const t0 = performance.now();
      expect((await ca.admin('POST', `/api/v1/certificates/${agent.serial}/revoke`, { reason: 'keyCompromise' })).status).toBe(200);
      const { seconds } = await secondsUntilRefused(gw.port, agent, t0, refusedInHandshake, 10_000);
      process.stdout.write(`apache SSLOCSPEnable: revoked agent refused in the handshake ${seconds.toFixed(2)} s after the revoke call\n`);
      expect(gw.log()).toMatch(/certificate revoked|revoked/i);
      const other = await ca.issueAgent('apache-ocsp-good');
      expect((await agentRequest(gw.port, other)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('CRL kept by agent-ca crl sync (--exec: graceful restart): refused within seconds of a revocation', async () => {
    const agent = await ca.issueAgent('apache-crl-bot');
    const sync = spawnCrlSync(dir, ['--url', `${ca.url}/crl/intermediate.crl`, '--root-crl', '--ca', ca.chainFile, '--out', join(dir, 'agents.crl'), '--interval', '1s']);
    let gw: Gateway | undefined;
    try {
      await sync.firstWrite;
      gw = await apacheFor('crl');
      sync.setExec(gw.reloadCommand);
      expect((await agentRequest(gw.port, agent)).status, gw.log()).toBe(200);
      const t0 = performance.now();
      expect((await ca.admin('POST', `/api/v1/certificates/${agent.serial}/revoke`, { reason: 'superseded' })).status).toBe(200);
      const { seconds } = await secondsUntilRefused(gw.port, agent, t0, refusedInHandshake, 30_000);
      process.stdout.write(`apache SSLCARevocationFile + agent-ca crl sync --interval 1s: revoked agent refused ${seconds.toFixed(2)} s after the revoke call\n`);
      expect(seconds).toBeLessThan(20);
    } finally {
      await gw?.stop();
      await sync.stop();
    }
  }, 60_000);
});
