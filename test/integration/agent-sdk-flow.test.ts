/**
 * The user's flow with the SDK only (agent-ca/client) against a live server on 127.0.0.1:
 * certify (one call, key created in the KMS emulator) -> the agent signs a trade with its own
 * KMS key -> a counterparty verifies (verifyAction + OCSP, openssl) -> the agent's events push
 * its score over 0.85 -> the automatic revocation makes the next verification deny. Then the
 * public verify's cache headers and signed (JWS) answer, renewal-info / autoRenew / drift, and
 * `agent-ca sign-action --cert` without a data directory (KMS key URI and PEM key).
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCaClient, AgentCaHttpError, verifyAction } from '../../src/client/index.js';
import type { Authority } from '../../src/authority/authority.js';
import { jwsVerify } from '../../src/actions/jws.js';
import { runCli } from '../../src/cli/main.js';
import { httpCall } from '../helpers/http-client.js';
import type { TestKmsEmulator } from '../helpers/kms-emulator.js';
import { opensslAsync } from '../helpers/openssl.js';
import { startTenancyServer, type TenancyServer } from '../helpers/tenancy-server.js';
import { createSoftHsmToken, softHsmAvailability } from '../helpers/softhsm.js';
import { openPkcs11Signer } from '../../src/signer/pkcs11.js';
import { pkcs11KeyManager } from '../../src/signer/pkcs11-key-manager.js';
import type { TmpDir } from '../helpers/tmp-dir.js';

const ADMIN = 'sdk-flow-admin';
const SCOPE = ['read:accounts', 'trade:equities'];
let ts: TenancyServer;
let tmp: TmpDir;
let kms: TestKmsEmulator;
let authority: Authority;
let url: string;
let operatorToken: string;
let rootPem: string;
let intermediatePem: string;

async function adminPost(path: string, body: unknown): Promise<any> {
  const r = await httpCall(url, 'POST', path, { token: ADMIN, body });
  expect(r.status, r.text).toBe(201);
  return r.json;
}

async function agentToken(agentId: string): Promise<string> {
  return (await adminPost('/api/v1/tokens', { name: `${agentId}-token`, role: 'agent', tenant: 'acme', agentId }))
    .token;
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pemPath(name: string, pem: string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, pem);
  return p;
}

beforeAll(async () => {
  ts = await startTenancyServer(ADMIN, 'SDK Flow CA');
  ({ tmp, kms, authority, url } = ts);
  rootPem = authority.chain().root;
  intermediatePem = authority.chain().intermediate;
  await adminPost('/api/v1/tenants', { name: 'acme' });
  operatorToken = (await adminPost('/api/v1/tokens', { name: 'acme-ops', role: 'operator', tenant: 'acme' })).token;
}, 60_000);

afterAll(() => ts?.close());

describe('the user flow, SDK only', () => {
  it('certify -> sign a trade -> counterparty verifies -> events push the score over 0.85 -> the next verify denies', async () => {
    // The operator certifies in one call; the key is created in KMS.
    const operator = new AgentCaClient({ url, token: operatorToken });
    const cert = await operator.certify({
      agentId: 'trading-bot-v2',
      organization: 'Acme Trading',
      maxTransactionSizeUsd: 50000,
      allowedMarkets: ['XNAS', 'XNYS'],
      validityDays: 90,
      scope: SCOPE,
    });
    expect(cert.kmsKeyArn).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\//);
    expect(Date.parse(cert.validUntil) - Date.now()).toBeGreaterThan(89 * 86_400_000);
    const leaf = pemPath('bot.pem', cert.certificatePem);
    const v = await opensslAsync([
      'verify',
      '-CAfile',
      pemPath('root.pem', rootPem),
      '-untrusted',
      pemPath('int.pem', intermediatePem),
      leaf,
    ]);
    expect(v.stdout.trim()).toBe(`${leaf}: OK`);

    // The agent process: its own KMS key, its certificate, an agent token for events.
    const botToken = await agentToken('trading-bot-v2');
    const agent = new AgentCaClient({
      url,
      token: botToken,
      agentId: 'trading-bot-v2',
      certificate: cert.chainPem,
      key: { uri: `awskms:key-id=${cert.kmsKeyArn}` },
      signerContext: { env: kms.env },
    });
    const order = JSON.stringify({ side: 'buy', symbol: 'ACME', qty: 100, price: '125.50' });
    const envelope = await agent.sign({
      payload: order,
      action: 'trade:equities',
      amount: '12550:USD',
      market: 'XNAS',
    });

    // The counterparty: the root it trusts, OCSP to the certificate's AIA.
    const counterparty = new AgentCaClient({ url });
    const verdict = await verifyAction(envelope, {
      action: 'trade:equities',
      amount: { value: '12550', currency: 'USD' },
      market: 'XNAS',
      payload: order,
      trustAnchors: [rootPem],
      status: { ocsp: { url: `${url}/ocsp` } },
    });
    expect(verdict).toMatchObject({
      allow: true,
      agentId: 'trading-bot-v2',
      operator: 'Acme Trading',
      payloadChecked: true,
    });
    expect((await counterparty.verify(cert.serialNumber)).status).toBe('good');
    // An agent process without KMS credentials signs through the server with its CA-held key.
    const viaServer = await new AgentCaClient({ url, token: botToken }).sign({
      agentId: 'trading-bot-v2',
      payload: order,
      action: 'trade:equities',
      amount: '12550:USD',
      market: 'XNAS',
    });
    expect(
      await verifyAction(viaServer, {
        action: 'trade:equities',
        amount: { value: '12550', currency: 'USD' },
        market: 'XNAS',
        payload: order,
        trustAnchors: [rootPem],
        status: { ocsp: { url: `${url}/ocsp` } },
      }),
    ).toMatchObject({ allow: true, serial: cert.serialNumber });
    const overLimit = await verifyAction(
      await agent.sign({ payload: order, action: 'trade:equities', amount: '60000:USD', market: 'XNAS' }),
      {
        action: 'trade:equities',
        amount: { value: '60000', currency: 'USD' },
        market: 'XNAS',
        trustAnchors: [rootPem],
        status: { ocsp: { url: `${url}/ocsp` } },
      },
    );
    expect(overLimit).toMatchObject({ allow: false, reason: 'policy' });

    // The agent misbehaves: out-of-scope calls, denied; the SDK batches them.
    const now = new Date().toISOString();
    for (let i = 0; i < 40; i++)
      await agent.recordEvent({
        agent_id: 'trading-bot-v2',
        action_type: 'api_call',
        metadata: { action: 'write:payments', outcome: 'denied' },
        time: now,
      });
    await agent.flushEvents();
    expect(agent.eventStats).toMatchObject({ queued: 0, sent: 40, dropped: 0 });
    const risk = await operator.risk('trading-bot-v2');
    expect(risk.score).toBeGreaterThan(0.85);
    expect(risk.band).toBe('revoke');
    expect(risk.contributions[0]!.feature).toBe('scope');

    // No human step: the engine revokes; the next verification denies.
    await eventually('revocation', async () => (await counterparty.verify(cert.serialNumber)).status === 'revoked');
    // The same signed trade, verified again, is now refused.
    const denied = await verifyAction(envelope, {
      action: 'trade:equities',
      amount: { value: '12550', currency: 'USD' },
      market: 'XNAS',
      payload: order,
      trustAnchors: [rootPem],
      status: { ocsp: { url: `${url}/ocsp` } },
    });
    expect(denied, JSON.stringify(denied)).toMatchObject({ allow: false, reason: 'revoked' });
    // And the agent cannot sign anew: revocation scheduled its KMS key for deletion.
    await expect(
      agent.sign({ payload: order, action: 'trade:equities', amount: '100:USD', market: 'XNAS' }),
    ).rejects.toMatchObject({ code: 'ACA_ERR_SIGNER_KEY_PENDING_DELETION' });
    const o = await opensslAsync([
      'ocsp',
      '-issuer',
      pemPath('int.pem', intermediatePem),
      '-cert',
      leaf,
      '-url',
      `${url}/ocsp`,
      '-CAfile',
      pemPath('root.pem', rootPem),
    ]);
    expect(o.stdout).toContain(`${leaf}: revoked`);
    await agent.close();

    // The regulator's copy, through the SDK: PDF plus the signed evidence package.
    const day = (offset: number): string => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const report = await new AgentCaClient({ url, token: ADMIN }).complianceReport({
      agent_id: 'trading-bot-v2',
      start_date: day(-1),
      end_date: day(1),
      include: ['trades', 'risk_events', 'revocations'],
    });
    expect(report.pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const zip = join(tmp.dir, 'sdk-report.zip');
    writeFileSync(zip, report.evidenceZip);
    const out: string[] = [];
    const err: string[] = [];
    expect(
      await runCli(['report', 'verify', zip, '--ca', pemPath('root-report.pem', rootPem)], {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        env: {},
      }),
      err.join('\n'),
    ).toBe(0);
  }, 90_000);
});

describe('public verify: cacheable, and signed on request', () => {
  it('Cache-Control public max-age <= 60, ETag + 304; Accept: application/jose gives a JWS the root verifies offline', async () => {
    const c = await new AgentCaClient({ url, token: operatorToken }).certify({
      agentId: 'verify-bot',
      scope: SCOPE,
      publicKeyPem: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'pem',
        type: 'spki',
      }) as string,
    });
    const r = await httpCall(url, 'GET', `/api/v1/verify/${c.serialNumber}`);
    expect(r.headers.get('cache-control')).toMatch(/^public, max-age=(\d+)$/);
    expect(Number(r.headers.get('cache-control')!.split('=')[1])).toBeLessThanOrEqual(60);
    const etag = r.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(
      (await httpCall(url, 'GET', `/api/v1/verify/${c.serialNumber}`, { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);

    const jws = await new AgentCaClient({ url }).verifyJws(c.serialNumber);
    const [h, p, s] = jws.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'ES256', typ: 'agent-ca-verify+jws' });
    const responder = pemPath(
      'responder.pem',
      `-----BEGIN CERTIFICATE-----\n${header.x5c[0]}\n-----END CERTIFICATE-----\n`,
    );
    const chain = await opensslAsync([
      'verify',
      '-CAfile',
      pemPath('root.pem', rootPem),
      '-untrusted',
      pemPath('int.pem', intermediatePem),
      '-purpose',
      'ocsphelper',
      responder,
    ]);
    expect(chain.stdout.trim()).toBe(`${responder}: OK`);
    const key = createPublicKey(readFileSync(responder));
    expect(await jwsVerify({ protected: h!, payload: p!, signature: s! }, 'ES256', key)).toEqual({ ok: true });
    const signed = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const { checkedAt: _a, ...plain } = r.json;
    const { checkedAt: _b, ...fromJws } = signed;
    expect(fromJws).toEqual(plain);
    // Revocation changes the ETag: a conditional request never keeps a stale "good".
    await httpCall(url, 'POST', `/api/v1/certificates/${c.serialNumber}/revoke`, {
      token: operatorToken,
      body: { reason: 'superseded' },
    });
    const after = await httpCall(url, 'GET', `/api/v1/verify/${c.serialNumber}`, {
      headers: { 'if-none-match': etag },
    });
    expect([after.status, after.json.status]).toEqual([200, 'revoked']);
  });
});

describe('renewal', () => {
  it('renewal-info gives the window; autoRenew swaps certificate and key without a gap; drift is refused by name until re-registered', async () => {
    const operator = new AgentCaClient({ url, token: operatorToken });
    const first = await operator.certify({
      agentId: 'renew-bot',
      scope: SCOPE,
      modelHash: `sha256:${'11'.repeat(32)}`,
      validityDays: 90,
      publicKeyPem: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'pem',
        type: 'spki',
      }) as string,
    });
    const agent = new AgentCaClient({ url, token: await agentToken('renew-bot'), agentId: 'renew-bot' });
    const info = await agent.renewalInfo();
    expect(info.explanation, JSON.stringify(info)).toBeUndefined();
    expect(Date.parse(info.suggestedWindow.start)).toBeGreaterThan(Date.now() + 59 * 86_400_000);
    expect(Date.parse(info.suggestedWindow.end)).toBeLessThan(Date.parse(first.validUntil));
    // Not yet inside the window: nothing happens.
    await expect(agent.autoRenew()).resolves.toMatchObject({ renewed: false });

    // Forced renewal with a fresh local key: the old certificate stays good (no gap).
    const pemAgent = new AgentCaClient({
      url,
      token: await agentToken('renew-bot'),
      agentId: 'renew-bot',
      certificate: first.chainPem,
      key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
    });
    const renewed = await pemAgent.autoRenew({
      force: true,
      observed: { modelHash: { algorithm: 'sha256', digest: '11'.repeat(32) }, scope: SCOPE },
    });
    expect(renewed.renewed).toBe(true);
    expect(renewed.serial).not.toBe(first.serialNumber);
    expect((await operator.verify(first.serialNumber)).status).toBe('good');
    const env = await pemAgent.sign({ payload: 'x', action: 'read:accounts' });
    expect(
      await verifyAction(env, {
        action: 'read:accounts',
        trustAnchors: [rootPem],
        status: { ocsp: { url: `${url}/ocsp` } },
      }),
    ).toMatchObject({ allow: true, serial: renewed.serial });
    const shown = await httpCall(url, 'GET', '/api/v1/agents/renew-bot', { token: operatorToken });
    expect(shown.json.certificates.find((c: { serial: string }) => c.serial === renewed.serial)).toMatchObject({
      renewalOf: first.serialNumber,
      current: true,
    });

    // Drift: the agent now runs another model; the renewal is refused naming it.
    const drifted = await pemAgent
      .autoRenew({ force: true, observed: { modelHash: { algorithm: 'sha256', digest: '22'.repeat(32) } } })
      .catch((e: unknown) => e);
    expect(drifted).toBeInstanceOf(AgentCaHttpError);
    expect((drifted as AgentCaHttpError).code).toBe('ACA_ERR_AGENT_DRIFTED');
    expect((drifted as AgentCaHttpError).details.drift).toEqual([
      { field: 'modelHash', registered: `sha256:${'11'.repeat(32)}`, observed: `sha256:${'22'.repeat(32)}` },
    ]);
    // The operator re-registers (audited): the current certificate is superseded, the window opens now.
    const patched = await httpCall(url, 'PATCH', '/api/v1/agents/renew-bot', {
      token: operatorToken,
      body: { modelHash: { algorithm: 'sha256', digest: '22'.repeat(32) } },
    });
    expect(patched.json.superseded.serial).toBe(renewed.serial);
    const now = await pemAgent.renewalInfo();
    expect(now.explanation).toMatch(/superseded/);
    const again = await pemAgent.autoRenew({
      observed: { modelHash: { algorithm: 'sha256', digest: '22'.repeat(32) } },
    });
    expect(again.renewed).toBe(true);
    const d = await opensslAsync(['x509', '-noout', '-text', '-in', pemPath('renewed.pem', pemAgent.certificatePem!)]);
    expect(d.stdout).toContain('Digital Signature');
    const audit = (await httpCall(url, 'GET', '/api/v1/audit/export?agentId=renew-bot', { token: ADMIN })).text;
    expect(audit).toContain('"action":"agent.renew.refused"');
    expect(audit).toContain('"action":"agent.update"');
  });
});

describe('agent-ca sign-action without a data directory', () => {
  async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: { ...kms.env } });
    return { code, out, err };
  }

  it('signs with --key-uri awskms:key-id=ARN and with --key PEM; the counterparty verifies both', async () => {
    const kmsCert = await new AgentCaClient({ url, token: operatorToken }).certify({
      agentId: 'cli-kms-bot',
      scope: SCOPE,
    });
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pemCert = await new AgentCaClient({ url, token: operatorToken }).certify({
      agentId: 'cli-pem-bot',
      scope: SCOPE,
      publicKeyPem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
    });
    const payload = pemPath('payload.json', '{"read":"accounts"}');
    const keyFile = pemPath('agent.key', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const runs = [
      ['--cert', pemPath('kms-chain.pem', kmsCert.chainPem), '--key-uri', `awskms:key-id=${kmsCert.kmsKeyArn}`],
      [
        '--cert',
        pemPath('pem-leaf.pem', pemCert.certificatePem),
        '--intermediate',
        pemPath('int.pem', intermediatePem),
        '--key',
        keyFile,
      ],
    ];
    for (const [i, extra] of runs.entries()) {
      const out = join(tmp.dir, `env-${i}.json`);
      const r = await cli('sign-action', ...extra, '--payload', payload, '--action', 'read:accounts', '--out', out);
      expect(r.code, r.err.join('\n')).toBe(0);
      const verdict = await verifyAction(readFileSync(out), {
        action: 'read:accounts',
        payload: readFileSync(payload),
        trustAnchors: [rootPem],
        status: { ocsp: { url: `${url}/ocsp` } },
      });
      expect(verdict.allow, JSON.stringify(verdict)).toBe(true);
    }
    // The wrong key for the certificate: a typed error, no envelope.
    const wrong = await cli(
      'sign-action',
      '--cert',
      pemPath('pem-leaf.pem', pemCert.certificatePem),
      '--key-uri',
      `awskms:key-id=${kmsCert.kmsKeyArn}`,
      '--payload',
      payload,
      '--action',
      'read:accounts',
      '--out',
      join(tmp.dir, 'never.json'),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err[0]).toMatch(
      /^agent-ca sign-action: ACA_ERR_INPUT_INVALID: the signing key .* is not the key of certificate/,
    );
    const usage = await cli(
      'sign-action',
      '--cert',
      pemPath('pem-leaf.pem', pemCert.certificatePem),
      '--payload',
      payload,
      '--action',
      'read:accounts',
      '--out',
      '-',
    );
    expect(usage.code).toBe(2);
  });
});

const hsm = softHsmAvailability();

it.runIf(!hsm.available)('SoftHSM2 is installed (required when CI=true)', () => {
  const reason = hsm.available ? '' : hsm.reason;
  if (process.env.CI === 'true') throw new Error(`the SDK's PKCS#11 test needs SoftHSM2 in CI: ${reason}`);
  console.warn(`skipping the SDK PKCS#11 test: ${reason}`);
});

describe.runIf(hsm.available)('the SDK signs with a pkcs11: key (SoftHSM2)', () => {
  it('certify the HSM key, sign with the pkcs11: URI (SDK and sign-action --key-uri), the counterparty allows', async () => {
    const token = createSoftHsmToken();
    try {
      const ctx = { env: token.env };
      const uri = await pkcs11KeyManager(ctx).createKey({ keyType: 'p256', label: 'sdk-agent' });
      const signer = await openPkcs11Signer(uri, ctx);
      const publicKeyPem = createPublicKey({ key: signer.publicKeyInfo, format: 'der', type: 'spki' }).export({
        format: 'pem',
        type: 'spki',
      }) as string;
      await signer.close?.();
      const c = await new AgentCaClient({ url, token: operatorToken }).certify({
        agentId: 'hsm-bot',
        scope: SCOPE,
        publicKeyPem,
      });
      expect(c.kmsKeyArn).toBeNull();
      const agent = new AgentCaClient({
        url,
        agentId: 'hsm-bot',
        certificate: c.chainPem,
        key: { uri },
        signerContext: ctx,
      });
      const env = await agent.sign({ payload: 'p', action: 'read:accounts' });
      expect(
        await verifyAction(env, {
          action: 'read:accounts',
          payload: 'p',
          trustAnchors: [rootPem],
          status: { ocsp: { url: `${url}/ocsp` } },
        }),
      ).toMatchObject({ allow: true, agentId: 'hsm-bot' });
      const out = join(tmp.dir, 'hsm-env.json');
      const r = await runCli(
        [
          'sign-action',
          '--cert',
          pemPath('hsm-chain.pem', c.chainPem),
          '--key-uri',
          uri,
          '--payload',
          pemPath('p.txt', 'p'),
          '--action',
          'read:accounts',
          '--out',
          out,
        ],
        { out: () => undefined, err: () => undefined, env: token.env },
      );
      expect(r).toBe(0);
      expect(
        await verifyAction(readFileSync(out), {
          action: 'read:accounts',
          trustAnchors: [rootPem],
          status: { ocsp: { url: `${url}/ocsp` } },
        }),
      ).toMatchObject({ allow: true });
    } finally {
      token.cleanup();
    }
  });
});
