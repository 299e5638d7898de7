/**
 * Certificates issued under the legacy 2.25 arc stay readable everywhere agent-ca reads agent
 * extensions: inspect, GET /api/v1/verify, verifyAction, the fastify guard, the risk engine's
 * certificate context, and renewal (which re-issues the same values under the current arc).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactOf } from '../../../src/actions/jws.js';
import { signAction } from '../../../src/actions/sign.js';
import { verifyAction } from '../../../src/actions/verify.js';
import type { StatusCallback } from '../../../src/actions/types.js';
import { parseCertificate } from '../../../src/asn1/certificate-parse.js';
import { AGENT_CA_ARC, AgentOids, agentExtensionOids, LEGACY_AGENT_CA_ARC } from '../../../src/asn1/oids.js';
import { CA_STATE_KEY, type CaState } from '../../../src/authority/ca-state.js';
import { inspectCommand } from '../../../src/cli/commands/inspect.js';
import { requireAgentAction } from '../../../src/http/plugins/require-agent-action.js';
import { verifyRoutes } from '../../../src/http/routes/verify.js';
import { CertificateContexts } from '../../../src/risk/context.js';
import { issueUnderLegacyArc } from '../../helpers/legacy-arc.js';
import { keyPair, makeActionsFixture, type ActionsFixture } from '../actions/fixture.js';

const LEGACY = agentExtensionOids(LEGACY_AGENT_CA_ARC);
const SCOPE = ['write:payments', 'read:accounts'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['EUR_USD'] };
const PAYLOAD = '{"to":"x"}';

let f: ActionsFixture;
let legacy: { serial: string; der: Buffer; pem: string };
const keys = keyPair('p256');
let status: StatusCallback;

beforeAll(async () => {
  f = await makeActionsFixture();
  legacy = await issueUnderLegacyArc(
    f.authority,
    { agentId: 'legacy-bot', scope: SCOPE, policy: POLICY, tenant: 'acme', environment: 'staging' },
    keys.publicKey,
  );
  status = async (serial) => (await f.authority.show(serial)).status;
});
afterAll(async () => {
  await f.close();
});

const sign = (action: string) =>
  signAction(f.authority, {
    serial: legacy.serial,
    payload: PAYLOAD,
    action,
    amount: { value: '100', currency: 'USD' },
    market: 'EUR_USD',
    key: keys.privateKey,
  });

describe('a certificate under the legacy 2.25 arc', () => {
  it('really carries the 2.25 OIDs and none of the current arc', () => {
    const oids = parseCertificate(legacy.der).extensions.map((e) => e.oid);
    expect(oids).toEqual(expect.arrayContaining([LEGACY.agentPolicy, LEGACY.agentScope, LEGACY.agentContext]));
    for (const o of Object.values(AgentOids)) expect(oids).not.toContain(o);
  });

  it('inspect decodes its extensions and does not list them as unknown', async () => {
    const file = join(f.tmp.dir, 'legacy.pem');
    writeFileSync(file, legacy.pem);
    const out: string[] = [];
    expect(await inspectCommand([file], { out: (l) => out.push(l), err: () => {}, env: {} })).toBe(0);
    const d = JSON.parse(out.join('\n'));
    expect(d.agent).toMatchObject({
      agentScope: SCOPE,
      agentPolicy: POLICY,
      agentContext: { tenantId: 'acme', environment: 'staging' },
      parseErrors: [],
    });
    expect(d.otherExtensions).toEqual([]);
  });

  it('GET /api/v1/verify/{serial} reports its scope, policy and tenant', async () => {
    const app = Fastify();
    await app.register(verifyRoutes, { authority: f.authority });
    try {
      const res = await app.inject({ method: 'GET', url: `/api/v1/verify/${legacy.serial}` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        serial: legacy.serial,
        scope: SCOPE,
        policy: POLICY,
        tenant: 'acme',
        environment: 'staging',
        extensionParseErrors: [],
        status: 'good',
      });
    } finally {
      await app.close();
    }
  });

  it('verifyAction allows an in-scope action and refuses one outside the scope or the policy', async () => {
    const opts = { trustAnchors: f.rootPem, status, now: f.clock.now(), payload: PAYLOAD };
    expect(await verifyAction(await sign('write:payments'), { ...opts, action: 'write:payments' })).toMatchObject({
      allow: true,
      serial: legacy.serial,
    });
    expect(await verifyAction(await sign('delete:accounts'), { ...opts, action: 'delete:accounts' })).toMatchObject({
      allow: false,
      reason: 'scope',
    });
    const big = await signAction(f.authority, {
      serial: legacy.serial,
      payload: PAYLOAD,
      action: 'write:payments',
      amount: { value: '60000', currency: 'USD' },
      key: keys.privateKey,
    });
    expect(await verifyAction(big, { ...opts, action: 'write:payments' })).toMatchObject({
      allow: false,
      reason: 'policy',
    });
  });

  it('the fastify guard lets it through for its scope and refuses another', async () => {
    const app = Fastify();
    const guard = (scope: string) =>
      requireAgentAction({ scope, trustAnchors: f.rootPem, status, clock: f.clock, payloadFrom: () => PAYLOAD });
    app.post('/pay', { preHandler: guard('write:payments') }, async (request) => ({
      by: request.agentAction?.agentId,
    }));
    app.post('/delete', { preHandler: guard('delete:accounts') }, async () => ({ deleted: true }));
    try {
      const ok = await app.inject({
        method: 'POST',
        url: '/pay',
        headers: { 'agentca-action': compactOf(await sign('write:payments')) },
        payload: {},
      });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toEqual({ by: 'legacy-bot' });
      const no = await app.inject({
        method: 'POST',
        url: '/delete',
        headers: { 'agentca-action': compactOf(await sign('delete:accounts')) },
        payload: {},
      });
      expect(no.statusCode).toBe(403);
      expect(no.json()).toMatchObject({ code: 'ACA_ERR_ACTION_DENIED', reason: 'scope' });
    } finally {
      await app.close();
    }
  });

  it('the risk engine reads its scope, policy and tenant', async () => {
    const ctx = await new CertificateContexts(f.authority).bySerial(legacy.serial as never);
    expect(typeof ctx).toBe('object');
    if (typeof ctx === 'string') return;
    expect(ctx.scope).toEqual(SCOPE);
    expect(ctx.policy).toEqual(POLICY);
    expect(ctx.tenant).toBe('acme');
    expect(ctx.permits('write:payments')).toBe(true);
    expect(ctx.permits('delete:accounts')).toBe(false);
  });

  it('renewal re-issues the same values under the current arc', async () => {
    const renewed = await f.authority.renew(legacy.serial);
    const exts = parseCertificate(renewed.der).extensions;
    const old = parseCertificate(legacy.der).extensions;
    for (const name of ['agentPolicy', 'agentScope', 'agentContext'] as const) {
      const now = exts.find((e) => e.oid === AgentOids[name]);
      expect(now, name).toBeDefined();
      expect(Buffer.from(now!.value).equals(Buffer.from(old.find((e) => e.oid === LEGACY[name])!.value))).toBe(true);
    }
    expect(exts.map((e) => e.oid).filter((o) => o.startsWith(`${LEGACY_AGENT_CA_ARC}.`))).toEqual([]);
  });
});

describe('a CA initialised before the arc moved', () => {
  it('loads its stored config with the old default arc, issues under the new one and reads both', async () => {
    const g = await makeActionsFixture();
    try {
      const state = await g.authority.store.meta.get<CaState>(CA_STATE_KEY);
      await g.authority.store.commit([
        {
          op: 'putMeta',
          key: CA_STATE_KEY,
          value: { ...state!, config: { ...state!.config, oidArc: LEGACY_AGENT_CA_ARC } },
        },
      ]);
      await g.authority.load();
      expect(g.authority.config.oidArc).toBe(AGENT_CA_ARC);
      const fresh = await g.issue('p256');
      expect(
        parseCertificate(Buffer.from(fresh.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')).extensions.map(
          (e) => e.oid,
        ),
      ).toContain(AgentOids.agentScope);
      const old = await issueUnderLegacyArc(
        g.authority,
        { agentId: 'old-bot', scope: ['read:x'] },
        keyPair('p256').publicKey,
      );
      expect(
        (await new CertificateContexts(g.authority).bySerial(old.serial as never)) as { scope?: string[] },
      ).toMatchObject({ scope: ['read:x'] });
    } finally {
      await g.close();
    }
  });
});
