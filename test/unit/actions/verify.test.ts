/**
 * signAction -> verifyAction with soft P-256, RSA-2048 and Ed25519 agent keys: allowed, and
 * refused for every reason (signature, claims, chain, expired, revoked, scope, policy, malformed,
 * status, replay). Status comes from a callback over the authority here; OCSP and CRL over
 * HTTP are in test/integration/actions.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionEnvelope, signAction } from '../../../src/actions/sign.js';
import { verifyAction, type VerifyActionOptions } from '../../../src/actions/verify.js';
import { MemoryReplayCache } from '../../../src/actions/replay-cache.js';
import { b64u, fromB64u } from '../../../src/actions/jws.js';
import type { ActionEnvelope, ActionVerdict, StatusCallback } from '../../../src/actions/types.js';
import { AgentCaError } from '../../../src/errors.js';
import { pemOrDer } from '../../../src/asn1/pem.js';
import { signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { KeyUri } from '../../../src/types.js';
import { makeActionsFixture, type ActionsFixture, type Agent } from './fixture.js';

const DAY = 86_400_000;
const PAYLOAD = JSON.stringify({ to: 'DE89370400440532013000', amount: '1250.50', currency: 'USD' });

let f: ActionsFixture;
let other: ActionsFixture;
let agents: Record<'p256' | 'rsa2048' | 'ed25519', Agent>;
let status: StatusCallback;

beforeAll(async () => {
  f = await makeActionsFixture();
  other = await makeActionsFixture();
  agents = { p256: await f.issue('p256'), rsa2048: await f.issue('rsa2048'), ed25519: await f.issue('ed25519') };
  status = async (serial) => (await f.authority.show(serial)).status;
});
afterAll(async () => {
  await f.close();
  await other.close();
});

function opts(over: Partial<VerifyActionOptions> = {}): VerifyActionOptions {
  return { action: 'write:payments', trustAnchors: f.rootPem, status, now: f.clock.now(), payload: PAYLOAD, ...over };
}

async function sign(
  agent: Agent,
  over: { action?: string; amount?: { value: string; currency: string }; market?: string; payload?: string } = {},
): Promise<ActionEnvelope> {
  return signAction(f.authority, {
    serial: agent.serial,
    payload: over.payload ?? PAYLOAD,
    action: over.action ?? 'write:payments',
    amount: over.amount ?? { value: '1250.50', currency: 'USD' },
    market: over.market ?? 'EUR_USD',
    key: agent.privateKey,
  });
}

function expectDeny(v: ActionVerdict, reason: string, detail?: RegExp): void {
  expect(v.allow, JSON.stringify(v)).toBe(false);
  if (!v.allow) {
    expect(v.reason).toBe(reason);
    if (detail) expect(v.detail).toMatch(detail);
  }
}

describe('allow', () => {
  it.each(['p256', 'rsa2048', 'ed25519'] as const)(
    '%s: a signed in-scope action within policy is allowed',
    async (kt) => {
      const env = await sign(agents[kt]);
      const header = JSON.parse(fromB64u(env.protected)!.toString());
      expect(header.alg).toBe({ p256: 'ES256', rsa2048: 'RS256', ed25519: 'EdDSA' }[kt]);
      expect(header.x5c).toHaveLength(2);
      const v = await verifyAction(env, opts({ amount: { value: '1250.5', currency: 'USD' }, market: 'EUR_USD' }));
      expect(v).toMatchObject({
        allow: true,
        serial: agents[kt].serial,
        agentId: expect.stringMatching(/^trader-/),
        action: 'write:payments',
        amount: { value: '1250.5', currency: 'USD' },
        market: 'EUR_USD',
        payloadChecked: true,
        statusSource: 'callback',
      });
    },
  );

  it('accepts the compact form and base64url JSON, and a chain completed from `intermediates`', async () => {
    const env = await sign(agents.p256);
    expect((await verifyAction(`${env.protected}.${env.payload}.${env.signature}`, opts())).allow).toBe(true);
    expect((await verifyAction(b64u(JSON.stringify(env)), opts())).allow).toBe(true);
    const signer = signerFromPrivateKey(agents.p256.privateKey, 'softkey:test' as KeyUri);
    const leafOnly = await createActionEnvelope({
      signer,
      chain: [pemOrDer(agents.p256.pem, ['CERTIFICATE'])],
      clock: f.clock,
      payload: PAYLOAD,
      action: 'write:payments',
    });
    expectDeny(await verifyAction(leafOnly, opts()), 'chain');
    expect((await verifyAction(leafOnly, opts({ intermediates: f.intermediatePem }))).allow).toBe(true);
  });

  it('path scopes: read:/data/raw/* permits a file below it, not a sibling', async () => {
    const env = await sign(agents.ed25519, { action: 'read:/data/raw/2030/ticks.csv' });
    expect((await verifyAction(env, opts({ action: 'read:/data/raw/2030/ticks.csv' }))).allow).toBe(true);
    const env2 = await sign(agents.ed25519, { action: 'read:/data/secret/keys' });
    expectDeny(await verifyAction(env2, opts({ action: 'read:/data/secret/keys' })), 'scope');
  });
});

describe('deny', () => {
  it('signature: tampered payload, tampered claims; claims: another action, amount or market than signed', async () => {
    const env = await sign(agents.p256);
    expectDeny(
      await verifyAction(env, opts({ payload: PAYLOAD.replace('1250.50', '9250.50') })),
      'signature',
      /payload/,
    );
    const claims = JSON.parse(fromB64u(env.payload)!.toString());
    claims.amount.value = '1.00';
    expectDeny(
      await verifyAction({ ...env, payload: b64u(JSON.stringify(claims)) }, opts()),
      'signature',
      /does not verify/,
    );
    expectDeny(
      await verifyAction(env, opts({ action: 'write:orders' })),
      'claims',
      /signs write:payments, not write:orders/,
    );
    expectDeny(
      await verifyAction(env, opts({ amount: { value: '1250.51', currency: 'USD' } })),
      'claims',
      /amount 1250.5 USD, not 1250.51 USD/,
    );
    expectDeny(await verifyAction(env, opts({ market: 'GBP_USD' })), 'claims', /market EUR_USD, not GBP_USD/);
    // decimal-equal is the same amount (no floats, no formatting games)
    expect((await verifyAction(env, opts({ amount: { value: '1250.500', currency: 'USD' } }))).allow).toBe(true);
    // every difference is named at once
    const all = await verifyAction(
      env,
      opts({ action: 'write:orders', amount: { value: '9', currency: 'EUR' }, market: 'GBP_USD' }),
    );
    expectDeny(all, 'claims', /write:orders; .*amount 1250.5 USD, not 9 EUR; .*market EUR_USD, not GBP_USD/);
    // a payload that is not the signed one stays a signature failure, even when the claims differ too
    expectDeny(await verifyAction(env, opts({ action: 'write:orders', payload: 'other' })), 'signature', /payload/);
  });

  it('signature: an RSA signature presented as ES256 is refused (alg must fit the key)', async () => {
    const env = await sign(agents.rsa2048);
    const h = JSON.parse(fromB64u(env.protected)!.toString());
    h.alg = 'ES256';
    expectDeny(await verifyAction({ ...env, protected: b64u(JSON.stringify(h)) }, opts()), 'signature', /does not fit/);
  });

  it('chain: a certificate from another CA', async () => {
    const stranger = await other.issue('p256');
    const env = await signAction(other.authority, {
      serial: stranger.serial,
      payload: PAYLOAD,
      action: 'write:payments',
      key: stranger.privateKey,
    });
    expectDeny(await verifyAction(env, opts()), 'chain', /trust anchor/);
    // ...and our root is no anchor for it even when its own intermediate is offered
    expectDeny(await verifyAction(env, opts({ intermediates: other.intermediatePem })), 'chain');
    expect(
      (await verifyAction(env, opts({ trustAnchors: other.rootPem, status: async () => ({ state: 'good' }) }))).allow,
    ).toBe(true);
  });

  it('chain: a CA key cannot sign actions', async () => {
    const ca = f.authority.ca('intermediate');
    const env = await createActionEnvelope({
      signer: ca.signer,
      chain: [ca.certificate.der],
      clock: f.clock,
      payload: PAYLOAD,
      action: 'write:payments',
    });
    expectDeny(await verifyAction(env, opts()), 'chain', /CA certificate/);
  });

  it('expired: verifying past notAfter, and an envelope older than maxAgeSeconds', async () => {
    const short = await f.issue('p256', { days: 1 });
    const env = await sign(short);
    expectDeny(
      await verifyAction(env, opts({ now: new Date(f.clock.now().getTime() + 2 * DAY), maxAgeSeconds: 3 * 86_400 })),
      'expired',
      /expired at/,
    );
    expectDeny(
      await verifyAction(env, opts({ now: new Date(f.clock.now().getTime() + 301_000) })),
      'expired',
      /more than 300 s/,
    );
    expect((await verifyAction(env, opts({ now: new Date(f.clock.now().getTime() + 299_000) }))).allow).toBe(true);
  });

  it('revoked: revoked and on-hold certificates; the signer side refuses too', async () => {
    const a = await f.issue('p256');
    const env = await sign(a);
    expect((await verifyAction(env, opts())).allow).toBe(true);
    await f.authority.hold(a.serial);
    expectDeny(await verifyAction(env, opts()), 'revoked', /on hold/);
    await f.authority.release(a.serial);
    await f.authority.revoke(a.serial, { reason: 'keyCompromise' });
    expectDeny(await verifyAction(env, opts()), 'revoked', /revoked.*keyCompromise/);
    await expect(sign(a)).rejects.toMatchObject({ code: 'ACA_ERR_REVOKE_INVALID_STATE' });
  });

  it('scope: valid key, but the scope does not include the action', async () => {
    const reader = await f.issue('ed25519', { scope: ['read:accounts'] });
    const env = await sign(reader);
    expectDeny(
      await verifyAction(env, opts()),
      'scope',
      /valid key, but .*read:accounts.* does not include write:payments/,
    );
  });

  it('policy: amount over the limit (decimal, no floats), another currency, a market not allowed', async () => {
    const a = await f.issue('p256', { maxTx: { amount: '50000', currency: 'USD' }, markets: ['EUR_USD'] });
    const at = async (amount: { value: string; currency: string }, market = 'EUR_USD') =>
      verifyAction(await sign(a, { amount, market }), opts({ amount, market }));
    expect((await at({ value: '50000.000000', currency: 'USD' })).allow).toBe(true);
    expectDeny(await at({ value: '50000.000001', currency: 'USD' }), 'policy', /exceeds maxTransactionSize 50000 USD/);
    expectDeny(await at({ value: '100', currency: 'EUR' }), 'policy', /limits transactions in USD/);
    expectDeny(await at({ value: '100', currency: 'USD' }, 'GBP_USD'), 'policy', /GBP_USD is not in allowedMarkets/);
    // every breach, not only the first
    const both = await at({ value: '60000', currency: 'USD' }, 'GBP_USD');
    expectDeny(both, 'policy', /exceeds maxTransactionSize 50000 USD; market GBP_USD is not in allowedMarkets/);
    expect(!both.allow && both.breaches?.map((b) => b.reason)).toEqual(['policy', 'policy']);
  });

  it('scope and policy breached together: reason scope, both listed', async () => {
    const a = await f.issue('p256', {
      scope: ['read:accounts'],
      maxTx: { amount: '10', currency: 'USD' },
      markets: ['EUR_USD'],
    });
    const v = await verifyAction(await sign(a, { market: 'GBP_USD' }), opts({ market: 'GBP_USD' }));
    expectDeny(
      v,
      'scope',
      /does not include write:payments; amount 1250.5 USD exceeds maxTransactionSize 10 USD; market GBP_USD/,
    );
    expect(!v.allow && v.breaches?.map((b) => b.reason)).toEqual(['scope', 'policy', 'policy']);
  });

  it('status: a failing callback or an unknown certificate is not "good"', async () => {
    const env = await sign(agents.p256);
    expectDeny(
      await verifyAction(env, opts({ status: () => Promise.reject(new Error('db down')) })),
      'status',
      /db down/,
    );
    expectDeny(await verifyAction(env, opts({ status: () => ({ state: 'unknown' }) })), 'status');
  });

  it('replay: the same envelope is accepted once per replay cache', async () => {
    const env = await sign(agents.p256);
    const replay = new MemoryReplayCache();
    expect((await verifyAction(env, opts({ replay }))).allow).toBe(true);
    expectDeny(await verifyAction(env, opts({ replay })), 'replay');
    expect((await verifyAction(await sign(agents.p256), opts({ replay }))).allow).toBe(true);
  });

  it('malformed: garbage, unknown header parameters, unprotected headers, serial mismatch, future iat', async () => {
    const env = await sign(agents.p256);
    expectDeny(await verifyAction('not a jws', opts()), 'malformed');
    const h = JSON.parse(fromB64u(env.protected)!.toString());
    expectDeny(
      await verifyAction({ ...env, protected: b64u(JSON.stringify({ ...h, crit: ['b64'], b64: false })) }, opts()),
      'malformed',
      /not accepted/,
    );
    expectDeny(
      await verifyAction(JSON.stringify({ ...env, header: { alg: 'none' } }), opts()),
      'malformed',
      /unprotected/,
    );
    expectDeny(
      await verifyAction({ ...env, protected: b64u(JSON.stringify({ ...h, alg: 'none' })) }, opts()),
      'malformed',
      /alg/,
    );
    expectDeny(
      await verifyAction({ ...env, protected: b64u(JSON.stringify({ ...h, x5c: ['AAAA'] })) }, opts()),
      'malformed',
      /x5c\[0\]/,
    );
    const other = await sign(agents.rsa2048);
    expectDeny(await verifyAction({ ...env, protected: other.protected }, opts()), 'malformed', /serial/);
    expectDeny(
      await verifyAction(env, opts({ now: new Date(f.clock.now().getTime() - 120_000) })),
      'malformed',
      /future/,
    );
  });
});

describe('signAction', () => {
  it('refuses a key that is not the certificate key, and a certificate without a recorded key', async () => {
    await expect(
      signAction(f.authority, {
        serial: agents.p256.serial,
        payload: 'x',
        action: 'write:payments',
        key: agents.ed25519.privateKey,
      }),
    ).rejects.toMatchObject({ code: 'ACA_ERR_INPUT_INVALID' });
    await expect(
      signAction(f.authority, { serial: agents.p256.serial, payload: 'x', action: 'write:payments' }),
    ).rejects.toMatchObject({ code: 'ACA_ERR_SIGNER_KEY_NOT_FOUND' });
  });

  it('refuses actions, amounts and markets outside the grammar', async () => {
    const base = { serial: agents.p256.serial, payload: 'x', key: agents.p256.privateKey };
    for (const bad of [
      { ...base, action: 'read:/data/raw/../secret' },
      { ...base, action: 'write:payments', amount: { value: '-5', currency: 'USD' } },
      { ...base, action: 'write:payments', amount: { value: '1e3', currency: 'USD' } },
      { ...base, action: 'write:payments', amount: { value: '5', currency: 'usd' } },
      { ...base, action: 'write:payments', market: 'EUR USD' },
    ]) {
      const e = await signAction(f.authority, bad).catch((x: unknown) => x);
      expect(e, JSON.stringify(bad)).toBeInstanceOf(AgentCaError);
      expect((e as AgentCaError).code).toBe('ACA_ERR_INPUT_INVALID');
    }
  });

  it('verifyAction refuses to run without trust anchors (a caller mistake, not a verdict)', async () => {
    const env = await sign(agents.p256);
    await expect(verifyAction(env, opts({ trustAnchors: [] }))).rejects.toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
    });
  });
});
