/**
 * Renewal: same agent, same key, same agent extensions and SANs, a new serial and
 * validity window, recorded as the renewal of the old certificate; revoked or held
 * certificates, and CA certificates, are not renewed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeCertificate } from '../../../src/asn1/certificate-describe.js';
import { parseCertificate } from '../../../src/asn1/certificate-parse.js';
import { expectAgentCaError, makeLifecycleFixture, START, type LifecycleFixture } from './fixture.js';

const DAY = 86_400_000;

let f: LifecycleFixture;
beforeEach(async () => {
  f = await makeLifecycleFixture();
});
afterEach(async () => {
  await f.close();
});

async function richAgent() {
  return f.issue({
    agentId: 'trading-bot-v2',
    organization: 'Example Operator',
    scope: ['read:accounts', 'write:payments', 'read:/data/raw/*'],
    policy: {
      maxTransactionSize: { amount: '50000', currency: 'USD' },
      allowedMarkets: ['EUR_USD', 'GBP_USD'],
      revocationTimeoutSeconds: 300,
    },
    modelHash: { algorithm: 'sha256', digest: Buffer.alloc(32, 0xab) },
    tenant: 'acme',
    environment: 'staging',
    instanceId: 'i-42',
    dnsNames: ['trading-bot-v2.agents.example'],
    uris: ['spiffe://agents.example/trading-bot-v2'],
    validityDays: 30,
  });
}

describe('renew', () => {
  it('keeps key, subject, SANs and agent extensions; new serial and window; renewalOf recorded', async () => {
    const old = await richAgent();
    f.clock.advance(20 * DAY);
    const renewed = await f.authority.renew(old.serial, { validityDays: 60 });

    expect(renewed.serial).not.toBe(old.serial);
    const a = describeCertificate(old.der);
    const b = describeCertificate(renewed.der);
    expect(b.agent).toEqual(a.agent);
    expect(b.agent.parseErrors).toEqual([]);
    expect(b.agent.agentScope).toEqual(['read:accounts', 'write:payments', 'read:/data/raw/*']);
    expect(b.agent.agentContext).toEqual({ tenantId: 'acme', environment: 'staging', agentInstanceId: 'i-42' });
    expect(b.subject).toBe(a.subject);
    expect(b.subjectAltNames).toEqual(a.subjectAltNames);
    expect(b.keyUsage).toEqual(a.keyUsage);
    expect(b.extendedKeyUsage).toEqual(a.extendedKeyUsage);
    expect(b.issuer).toBe(a.issuer);
    expect(parseCertificate(renewed.der).publicKeyInfo.equals(parseCertificate(old.der).publicKeyInfo)).toBe(true);
    expect(b.fingerprintSha256).not.toBe(a.fingerprintSha256);

    expect(renewed.notBefore.getTime()).toBeGreaterThanOrEqual(Date.parse(START) + 20 * DAY - 3_600_000);
    expect(renewed.notAfter.getTime() - renewed.notBefore.getTime()).toBeGreaterThan(59 * DAY);
    expect(renewed.notAfter.getTime() - renewed.notBefore.getTime()).toBeLessThanOrEqual(61 * DAY);

    const view = await f.authority.show(renewed.serial);
    expect(view.record).toMatchObject({
      renewalOf: old.serial,
      agentId: 'trading-bot-v2',
      tenant: 'acme',
      profile: 'agent',
      isCa: false,
    });
    expect(view.status.state).toBe('good');
    // the old certificate is left as it was: still good until it expires or is revoked
    expect((await f.authority.show(old.serial)).status.state).toBe('good');
    expect((await f.authority.list({ agentId: 'trading-bot-v2' })).map((v) => v.record.serial)).toEqual([
      old.serial,
      renewed.serial,
    ]);
  });

  it('renews a renewal (chains of renewals point one step back)', async () => {
    const first = await f.issue({ agentId: 'bot' });
    const second = await f.authority.renew(first.serial);
    const third = await f.authority.renew(second.serial);
    expect((await f.authority.show(third.serial)).record.renewalOf).toBe(second.serial);
    expect(parseCertificate(third.der).publicKeyInfo.equals(parseCertificate(first.der).publicKeyInfo)).toBe(true);
  });

  it.each(['revoked', 'held'] as const)(
    'refuses a %s certificate with REVOKE_INVALID_STATE and writes nothing',
    async (state) => {
      const { serial } = await f.issue();
      if (state === 'revoked') await f.authority.revoke(serial, { reason: 'superseded' });
      else await f.authority.hold(serial);
      const head = await f.headSeq();
      const count = await f.authority.store.certificates.count();
      const e = await expectAgentCaError(() => f.authority.renew(serial), 'ACA_ERR_REVOKE_INVALID_STATE');
      expect(e.message).toContain(state);
      expect(await f.headSeq()).toBe(head);
      expect(await f.authority.store.certificates.count()).toBe(count);
    },
  );

  it('refuses an agent whose intermediate is revoked (it reads as revoked)', async () => {
    const { serial } = await f.issue();
    await f.authority.revokeCa('intermediate', { reason: 'cACompromise' });
    await expectAgentCaError(() => f.authority.renew(serial), 'ACA_ERR_REVOKE_INVALID_STATE');
  });

  it('refuses CA certificates, unknown and malformed serials', async () => {
    await expectAgentCaError(
      () => f.authority.renew(f.authority.ca('root').certificate.serial),
      'ACA_ERR_REVOKE_INVALID_STATE',
    );
    await expectAgentCaError(() => f.authority.renew('0badc0ffee'), 'ACA_ERR_CERT_NOT_FOUND');
    await expectAgentCaError(() => f.authority.renew('xyz'), 'ACA_ERR_INPUT_SERIAL_MALFORMED');
  });
});
