/**
 * Tenancy over HTTP against the real server (startServer on LevelDB, 127.0.0.1): every
 * protected route x every role (admin, operator, auditor, agent) x own / other tenant. An
 * object of another tenant answers exactly as a missing one (404, same code), never 403; a role
 * that may not use a route gets 403 whatever the object. Then: a tenant token never sees
 * another tenant's agent, certificate, event, notification, webhook or audit entry; tokens take
 * effect and die without a restart; only hashes are stored; the per-tenant event quota answers
 * 429 + Retry-After and stores nothing of the refused batch.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import type { RunningServer } from '../../src/http/server.js';
import { TOKENS_KEY } from '../../src/tenancy/tokens.js';
import { httpCall, type HttpAnswer } from '../helpers/http-client.js';
import { startTenancyServer, type TenancyServer } from '../helpers/tenancy-server.js';
import type { TmpDir } from '../helpers/tmp-dir.js';
import { opensslAsync } from '../helpers/openssl.js';

const ADMIN = 'tenancy-matrix-admin-token';
const ROLES = ['admin', 'operator', 'auditor', 'agent'] as const;
type Role = (typeof ROLES)[number];
type Side = 'own' | 'other';

let ts: TenancyServer;
let tmp: TmpDir;
let authority: Authority;
let server: RunningServer;
let url: string;
const tokens: Record<Role, string> = { admin: ADMIN, operator: '', auditor: '', agent: '' };
let operatorB = '';

const call = (method: string, path: string, token: string | null, body?: unknown): Promise<HttpAnswer> =>
  httpCall(url, method, path, { token, ...(body !== undefined ? { body } : {}) });
const pubPem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }) as string;
const SCOPE = ['read:accounts', 'write:payments', 'trade:equities'];

async function ok(r: Promise<HttpAnswer>, status = 200): Promise<any> {
  const a = await r;
  expect(a.status, a.text.slice(0, 400)).toBe(status);
  return a.json;
}

let seq = 0;
/** A fresh agent registered and certified in `tenant` (admin), its certificate's serial. */
async function agentIn(
  tenant: 'tenant-a' | 'tenant-b',
  id = `agent-${tenant.slice(-1)}-${++seq}`,
): Promise<{ id: string; serial: string }> {
  await ok(
    call('POST', '/api/v1/agents', ADMIN, { agentId: id, tenant, scope: SCOPE, organization: `Org ${tenant}` }),
    201,
  );
  const c = await ok(
    call('POST', `/api/v1/agents/${id}/certify`, ADMIN, { publicKey: pubPem(), validityDays: 30 }),
    201,
  );
  return { id, serial: c.serial };
}

let ownAgent: { id: string; serial: string }; // tenant-a, the agent token's own agent
let otherAgent: { id: string; serial: string }; // tenant-b

beforeAll(async () => {
  ts = await startTenancyServer(ADMIN, 'Matrix CA');
  ({ tmp, authority, server, url } = ts);
  await ok(call('POST', '/api/v1/tenants', ADMIN, { name: 'tenant-a' }), 201);
  await ok(call('POST', '/api/v1/tenants', ADMIN, { name: 'tenant-b' }), 201);
  // The agent token's agent has its key in KMS, so it can sign through the API.
  await ok(call('POST', '/api/v1/agents', ADMIN, { agentId: 'own-bot', tenant: 'tenant-a', scope: SCOPE }), 201);
  const own = await ok(
    call('POST', '/api/v1/agents/own-bot/certify', ADMIN, { createKeyIn: 'awskms', validityDays: 30 }),
    201,
  );
  ownAgent = { id: 'own-bot', serial: own.serial };
  otherAgent = await agentIn('tenant-b', 'other-bot');
  for (const role of ['operator', 'auditor', 'agent'] as const) {
    const t = await ok(
      call('POST', '/api/v1/tokens', ADMIN, {
        name: `${role}-a`,
        role,
        tenant: 'tenant-a',
        ...(role === 'agent' ? { agentId: 'own-bot' } : {}),
      }),
      201,
    );
    tokens[role] = t.token;
  }
  operatorB = (
    await ok(call('POST', '/api/v1/tokens', ADMIN, { name: 'operator-b', role: 'operator', tenant: 'tenant-b' }), 201)
  ).token;
}, 60_000);

afterAll(() => ts?.close());

/**
 * One row per route: how to call it on an object of the given side (a fresh object where the
 * call changes it), and the expected status for each role on each side.
 */
interface Row {
  route: string;
  call(side: Side, role: Role): Promise<HttpAnswer>;
  own: Record<Role, number>;
  other: Record<Role, number>;
}

const READ = {
  own: { admin: 200, operator: 200, auditor: 200, agent: 200 },
  other: { admin: 200, operator: 404, auditor: 404, agent: 404 },
};
const WRITE = {
  own: { admin: 200, operator: 200, auditor: 403, agent: 403 },
  other: { admin: 200, operator: 404, auditor: 403, agent: 403 },
};
const tenantOf = (side: Side): 'tenant-a' | 'tenant-b' => (side === 'own' ? 'tenant-a' : 'tenant-b');
/** The object a role reads on its side: for the agent token on the own side, its own agent. */
const readTarget = (side: Side) => (side === 'own' ? ownAgent : otherAgent);

const ROWS: Row[] = [
  {
    route: 'GET /api/v1/certificates/:serial',
    call: (s, r) => call('GET', `/api/v1/certificates/${readTarget(s).serial}`, tokens[r]),
    ...READ,
  },
  {
    route: 'POST /api/v1/certificates/:serial/hold',
    call: async (s, r) =>
      call('POST', `/api/v1/certificates/${(await agentIn(tenantOf(s))).serial}/hold`, tokens[r], {}),
    ...WRITE,
  },
  {
    route: 'POST /api/v1/certificates/:serial/release',
    call: async (s, r) => {
      const a = await agentIn(tenantOf(s));
      await ok(call('POST', `/api/v1/certificates/${a.serial}/hold`, ADMIN, {}));
      return call('POST', `/api/v1/certificates/${a.serial}/release`, tokens[r], {});
    },
    ...WRITE,
  },
  {
    route: 'POST /api/v1/certificates/:serial/revoke',
    call: async (s, r) =>
      call('POST', `/api/v1/certificates/${(await agentIn(tenantOf(s))).serial}/revoke`, tokens[r], {
        reason: 'superseded',
      }),
    ...WRITE,
  },
  {
    route: 'POST /api/v1/certificates',
    call: (s, r) =>
      call('POST', '/api/v1/certificates', tokens[r], {
        agentId: `direct-${++seq}`,
        publicKey: pubPem(),
        tenant: tenantOf(s),
      }),
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 403 },
  },
  {
    route: 'GET /api/v1/agents/:id',
    call: (s, r) => call('GET', `/api/v1/agents/${readTarget(s).id}`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/agents/:id/risk',
    call: (s, r) => call('GET', `/api/v1/agents/${readTarget(s).id}/risk`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/agents/:id/renewal-info',
    call: (s, r) => call('GET', `/api/v1/agents/${readTarget(s).id}/renewal-info`, tokens[r]),
    ...READ,
  },
  {
    route: 'PATCH /api/v1/agents/:id',
    call: async (s, r) =>
      call('PATCH', `/api/v1/agents/${(await agentIn(tenantOf(s))).id}`, tokens[r], { environment: 'staging' }),
    ...WRITE,
  },
  {
    route: 'DELETE /api/v1/agents/:id',
    call: async (s, r) => call('DELETE', `/api/v1/agents/${(await agentIn(tenantOf(s))).id}`, tokens[r]),
    ...WRITE,
  },
  {
    route: 'POST /api/v1/agents/:id/certify',
    call: async (s, r) =>
      call('POST', `/api/v1/agents/${(await agentIn(tenantOf(s))).id}/certify`, tokens[r], {
        publicKey: pubPem(),
        validityDays: 10,
      }),
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /api/v1/agents/:id/renew',
    call: async (s, r) => {
      const id = s === 'own' && r === 'agent' ? ownAgent.id : (await agentIn(tenantOf(s))).id;
      // The agent renews itself with a fresh key made in KMS, so it can still sign through the API.
      const res = await call(
        'POST',
        `/api/v1/agents/${id}/renew`,
        tokens[r],
        id === ownAgent.id ? { createKeyIn: 'awskms', validityDays: 10 } : { publicKey: pubPem(), validityDays: 10 },
      );
      if (id === ownAgent.id && res.status === 201) ownAgent = { id, serial: res.json.serial };
      return res;
    },
    own: { admin: 201, operator: 201, auditor: 403, agent: 201 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 404 },
  },
  {
    route: 'POST /api/v1/agents/:id/sign',
    call: (s, r) =>
      call('POST', `/api/v1/agents/${s === 'own' ? 'own-bot' : 'other-bot'}/sign`, tokens[r], {
        payload: '{"order":1}',
        action: 'trade:equities',
      }),
    own: { admin: 403, operator: 403, auditor: 403, agent: 200 },
    other: { admin: 403, operator: 403, auditor: 403, agent: 404 },
  },
  {
    route: 'POST /api/v1/agents',
    call: (s, r) => call('POST', '/api/v1/agents', tokens[r], { agentId: `reg-${++seq}`, tenant: tenantOf(s) }),
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /api/v1/events',
    call: (s, r) =>
      call('POST', '/api/v1/events', tokens[r], {
        events: [
          {
            serial: readTarget(s).serial,
            type: 'api_call',
            action: 'read:accounts',
            outcome: 'success',
            time: new Date().toISOString(),
          },
        ],
      }),
    // Another tenant's serial is refused exactly like an unknown one (400 naming the field).
    own: { admin: 202, operator: 202, auditor: 403, agent: 202 },
    other: { admin: 202, operator: 400, auditor: 403, agent: 400 },
  },
  // Lists and exports: the side is the tenant named in the query.
  {
    route: 'GET /api/v1/certificates?tenant=',
    call: (s, r) => call('GET', `/api/v1/certificates?tenant=${tenantOf(s)}`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/agents?tenant=',
    call: (s, r) => call('GET', `/api/v1/agents?tenant=${tenantOf(s)}`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/notifications?tenant=',
    call: (s, r) => call('GET', `/api/v1/notifications?tenant=${tenantOf(s)}`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/audit/export?agentId=',
    call: (s, r) => call('GET', `/api/v1/audit/export?agentId=${readTarget(s).id}`, tokens[r]),
    // filtered, never refused by tenant: the other tenant's entries are simply absent (checked below)
    own: { admin: 200, operator: 403, auditor: 200, agent: 403 },
    other: { admin: 200, operator: 403, auditor: 200, agent: 403 },
  },
  // Webhooks: an endpoint belongs to the tenant of the token that made it.
  {
    route: 'POST /api/v1/webhooks',
    call: (_s, r) => call('POST', '/api/v1/webhooks', tokens[r], { url: 'http://127.0.0.1:9/hooks/a' }),
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 201, auditor: 403, agent: 403 },
  },
  {
    route: 'GET /api/v1/webhooks',
    call: (_s, r) => call('GET', '/api/v1/webhooks', tokens[r]),
    own: { admin: 200, operator: 200, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 200, auditor: 403, agent: 403 },
  },
  {
    route: 'GET /api/v1/webhooks/deliveries',
    call: (_s, r) => call('GET', '/api/v1/webhooks/deliveries', tokens[r]),
    own: { admin: 200, operator: 200, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 200, auditor: 403, agent: 403 },
  },
  {
    route: 'DELETE /api/v1/webhooks/:id',
    call: async (s, r) => {
      const made = await ok(
        call('POST', '/api/v1/webhooks', s === 'own' ? tokens.operator : operatorB, {
          url: 'http://127.0.0.1:9/hooks/x',
        }),
        201,
      );
      return call('DELETE', `/api/v1/webhooks/${made.id}`, tokens[r]);
    },
    own: { admin: 204, operator: 204, auditor: 403, agent: 403 },
    other: { admin: 204, operator: 404, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /api/v1/webhooks/:id/rotate-secret',
    call: async (s, r) => {
      const made = await ok(
        call('POST', '/api/v1/webhooks', s === 'own' ? tokens.operator : operatorB, {
          url: 'http://127.0.0.1:9/hooks/y',
        }),
        201,
      );
      const res = await call('POST', `/api/v1/webhooks/${made.id}/rotate-secret`, tokens[r], {});
      await call('DELETE', `/api/v1/webhooks/${made.id}`, ADMIN);
      return res;
    },
    own: { admin: 200, operator: 200, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 404, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /api/v1/webhooks/deliveries/:id/redeliver',
    call: (_s, r) => call('POST', '/api/v1/webhooks/deliveries/dlv_none/redeliver', tokens[r], {}),
    own: { admin: 404, operator: 404, auditor: 403, agent: 403 },
    other: { admin: 404, operator: 404, auditor: 403, agent: 403 },
  },
  // Tenants and tokens: admin only; a tenant token sees its own tenant in the list.
  {
    route: 'GET /api/v1/tenants',
    call: (_s, r) => call('GET', '/api/v1/tenants', tokens[r]),
    own: { admin: 200, operator: 200, auditor: 200, agent: 200 },
    other: { admin: 200, operator: 200, auditor: 200, agent: 200 },
  },
  {
    route: 'PATCH /api/v1/tenants/:name',
    call: (s, r) => call('PATCH', `/api/v1/tenants/${tenantOf(s)}`, tokens[r], { eventsPerSecond: 1000 }),
    own: { admin: 200, operator: 403, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 403, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /api/v1/tokens',
    call: (s, r) =>
      call('POST', '/api/v1/tokens', tokens[r], { name: `t-${++seq}`, role: 'auditor', tenant: tenantOf(s) }),
    own: { admin: 201, operator: 403, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 403, auditor: 403, agent: 403 },
  },
  {
    route: 'GET /api/v1/tokens',
    call: (_s, r) => call('GET', '/api/v1/tokens', tokens[r]),
    own: { admin: 200, operator: 403, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 403, auditor: 403, agent: 403 },
  },
  {
    route: 'DELETE /api/v1/tokens/:id',
    call: async (s, r) => {
      const made = await ok(
        call('POST', '/api/v1/tokens', ADMIN, { name: `d-${++seq}`, role: 'auditor', tenant: tenantOf(s) }),
        201,
      );
      return call('DELETE', `/api/v1/tokens/${made.id}`, tokens[r]);
    },
    own: { admin: 200, operator: 403, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 403, auditor: 403, agent: 403 },
  },
  // CA-wide routes: admin only (the CA's hold is released at once so the other rows keep working).
  {
    route: 'POST /api/v1/ca/:name/hold + release',
    call: async (_s, r) => {
      const res = await call('POST', '/api/v1/ca/intermediate/hold', tokens[r], {});
      if (res.status === 200) await ok(call('POST', '/api/v1/ca/intermediate/release', ADMIN, {}));
      return res;
    },
    own: { admin: 200, operator: 403, auditor: 403, agent: 403 },
    other: { admin: 200, operator: 403, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /api/v1/ca/:name/revoke (refused before any lookup)',
    call: (_s, r) => call('POST', '/api/v1/ca/no-such-ca/revoke', tokens[r], { reason: 'cACompromise' }),
    own: { admin: 400, operator: 403, auditor: 403, agent: 403 },
    other: { admin: 400, operator: 403, auditor: 403, agent: 403 },
  },
  {
    route: 'GET /api/v1/audit/head',
    call: (_s, r) => call('GET', '/api/v1/audit/head', tokens[r]),
    own: { admin: 200, operator: 403, auditor: 200, agent: 403 },
    other: { admin: 200, operator: 403, auditor: 200, agent: 403 },
  },
  {
    route: 'GET /api/v1/revocations/stream',
    call: async (_s, r) => {
      const res = await fetch(`${url}/api/v1/revocations/stream`, {
        headers: { authorization: `Bearer ${tokens[r]}` },
        signal: AbortSignal.timeout(10_000),
      });
      const status = res.status;
      // an open event stream: take the status and hang up
      await res.body?.cancel();
      return {
        status,
        json: {},
        text: '',
        headers: new Headers(status >= 400 ? { 'content-type': 'application/problem+json' } : {}),
      };
    },
    // operators and auditors get their own tenant's changes only (filtered in the stream)
    own: { admin: 200, operator: 200, auditor: 200, agent: 403 },
    other: { admin: 200, operator: 200, auditor: 200, agent: 403 },
  },
  // The user's own shapes.
  {
    route: 'POST /api/v1/agents/certify (one call)',
    call: (s, r) =>
      call('POST', '/api/v1/agents/certify', tokens[r], {
        agent_id: `one-${++seq}`,
        organization: 'Acme',
        max_transaction_size_usd: 50000,
        allowed_markets: ['XNAS'],
        validity_days: 30,
        tenant: tenantOf(s),
      }),
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 403 },
  },
  {
    route: 'POST /v1/agents then /v1/agents/:id/certify',
    call: async (s, r) => {
      const name = `v1-${++seq}`;
      await ok(call('POST', '/v1/agents', ADMIN, { name, tenant: tenantOf(s) }), 201);
      return call('POST', `/v1/agents/${name}/certify`, tokens[r], { validity_days: 30 });
    },
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 403 },
  },
  // The operator console's API (docs/console.md).
  {
    route: 'GET /api/v1/certificates/:serial/certificate.pem',
    call: (s, r) => call('GET', `/api/v1/certificates/${readTarget(s).serial}/certificate.pem`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/certificates/:serial/chain.pem',
    call: (s, r) => call('GET', `/api/v1/certificates/${readTarget(s).serial}/chain.pem`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/certificates/:serial/ocsp',
    call: (s, r) => call('GET', `/api/v1/certificates/${readTarget(s).serial}/ocsp`, tokens[r]),
    ...READ,
  },
  {
    route: 'GET /api/v1/agents/:id/risk/history',
    call: (s, r) => call('GET', `/api/v1/agents/${readTarget(s).id}/risk/history`, tokens[r]),
    ...READ,
  },
  {
    route: 'POST /api/v1/notifications/:id/review',
    call: async (s, r) =>
      call('POST', `/api/v1/notifications/${await warningIn(tenantOf(s))}/review`, tokens[r], { comment: 'looked' }),
    own: { admin: 201, operator: 201, auditor: 403, agent: 403 },
    other: { admin: 201, operator: 404, auditor: 403, agent: 403 },
  },
];

const warnings = new Map<string, Promise<string>>();
/** A risk warning in `tenant` (9 out-of-scope calls: score 0.81, default bands), its notification id. */
function warningIn(tenant: 'tenant-a' | 'tenant-b'): Promise<string> {
  let w = warnings.get(tenant);
  if (!w) {
    w = (async () => {
      const a = await agentIn(tenant);
      const time = new Date().toISOString();
      const events = Array.from({ length: 9 }, () => ({
        serial: a.serial,
        type: 'api_call',
        action: 'delete:everything',
        outcome: 'denied',
        time,
      }));
      await ok(call('POST', '/api/v1/events', ADMIN, { events }), 202);
      for (let i = 0; i < 200; i++) {
        const n = await ok(call('GET', `/api/v1/notifications?serial=${a.serial}`, ADMIN));
        if (n.notifications.length) return n.notifications[0].id as string;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no warning for ${a.serial}`);
    })();
    warnings.set(tenant, w);
  }
  return w;
}

describe('tenant matrix: every route x role x own/other tenant', () => {
  for (const row of ROWS) {
    for (const side of ['own', 'other'] as const) {
      it(`${row.route} on the ${side} tenant`, async () => {
        const got: Record<string, number> = {};
        for (const role of ROLES) {
          const a = await row.call(side, role);
          got[role] = a.status;
          if (a.status >= 400) expect(a.headers.get('content-type')).toContain('application/problem+json');
        }
        expect(got).toEqual(row[side]);
      }, 60_000);
    }
  }

  it("another tenant's object reads exactly like a missing one (same status, same code)", async () => {
    const hidden = await call('GET', `/api/v1/certificates/${otherAgent.serial}`, tokens.operator);
    const missing = await call('GET', `/api/v1/certificates/${'7f'.repeat(16)}`, tokens.operator);
    expect([hidden.status, hidden.json.code]).toEqual([missing.status, missing.json.code]);
    const hiddenAgent = await call('GET', '/api/v1/agents/other-bot', tokens.auditor);
    const missingAgent = await call('GET', '/api/v1/agents/no-such-bot', tokens.auditor);
    expect([hiddenAgent.status, hiddenAgent.json.code]).toEqual([404, 'ACA_ERR_AGENT_NOT_FOUND']);
    expect([missingAgent.status, missingAgent.json.code]).toEqual([404, 'ACA_ERR_AGENT_NOT_FOUND']);
    const ev = await call('POST', '/api/v1/events', tokens.operator, {
      events: [{ serial: otherAgent.serial, type: 'api_call', outcome: 'success', time: new Date().toISOString() }],
    });
    expect(ev.json.details.errors[0].message).toBe(`no certificate with serial ${otherAgent.serial}`);
  });

  it("the user's shapes answer as written (snake_case)", async () => {
    const r = await ok(
      call('POST', '/api/v1/agents/certify', tokens.operator, {
        agent_id: 'shape-bot',
        organization: 'Acme Trading',
        max_transaction_size_usd: 50000,
        allowed_markets: ['XNAS', 'XNYS'],
        validity_days: 90,
      }),
      201,
    );
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining(['certificate_pem', 'kms_key_arn', 'serial_number', 'valid_until', 'agent_id']),
    );
    expect(r).toMatchObject({
      agent_id: 'shape-bot',
      tenant: 'tenant-a',
      kms_key_arn: expect.stringMatching(/^arn:aws:kms:/),
    });
    const shown = await ok(call('GET', '/api/v1/agents/shape-bot', tokens.operator));
    expect(shown.policy).toEqual({
      maxTransactionSize: { amount: '50000', currency: 'USD' },
      allowedMarkets: ['XNAS', 'XNYS'],
    });
    const bad = await call('POST', '/api/v1/agents/certify', tokens.operator, {
      agent_id: 'x',
      max_transaction_size_usd: -1,
      colour: 'red',
    });
    expect(Object.keys(bad.json.details.fields).sort()).toEqual(['colour', 'max_transaction_size_usd']);
    const v1 = await ok(call('POST', '/v1/agents', tokens.operator, { name: 'named-bot' }), 201);
    expect(v1).toMatchObject({ agent_id: 'named-bot', tenant: 'tenant-a' });
  });

  it('an agent token sees only itself, even inside its tenant', async () => {
    const sibling = await agentIn('tenant-a');
    expect((await call('GET', `/api/v1/agents/${sibling.id}`, tokens.agent)).status).toBe(404);
    expect((await call('GET', `/api/v1/certificates/${sibling.serial}`, tokens.agent)).status).toBe(404);
    const list = await ok(call('GET', '/api/v1/agents', tokens.agent));
    expect(list.agents.map((a: { agentId: string }) => a.agentId)).toEqual(['own-bot']);
  });

  it('admin-only routes (tokens, tenant changes) answer 403 to every other role', async () => {
    for (const role of ['operator', 'auditor', 'agent'] as const) {
      expect((await call('GET', '/api/v1/tokens', tokens[role])).status).toBe(403);
      expect((await call('POST', '/api/v1/tokens', tokens[role], { name: 'x', role: 'admin' })).status).toBe(403);
      expect((await call('POST', '/api/v1/tenants', tokens[role], { name: 'x' })).status).toBe(403);
      expect((await call('PATCH', '/api/v1/tenants/tenant-a', tokens[role], { eventsPerSecond: 5 })).status).toBe(403);
    }
    expect((await call('GET', '/api/v1/tokens', null)).status).toBe(401);
  });
});

describe("a tenant token never sees another tenant's data", () => {
  it('lists: agents, certificates, tenants, webhooks, notifications, audit entries', async () => {
    // tenant-b: a webhook, and an agent pushed over the revoke threshold (a notification).
    await ok(call('POST', '/api/v1/webhooks', operatorB, { url: 'http://127.0.0.1:9/hooks/b' }), 201);
    const victim = await agentIn('tenant-b');
    const now = new Date().toISOString();
    const bad = Array.from({ length: 40 }, () => ({
      serial: victim.serial,
      type: 'api_call',
      action: 'delete:accounts',
      outcome: 'denied',
      time: now,
    }));
    await ok(call('POST', '/api/v1/events', operatorB, { events: bad }), 202);
    await server.risk.engine.settle();
    const adminNotes = await ok(call('GET', '/api/v1/notifications', ADMIN));
    expect(adminNotes.notifications.some((n: { tenant: string }) => n.tenant === 'tenant-b')).toBe(true);

    for (const role of ['operator', 'auditor', 'agent'] as const) {
      const t = tokens[role];
      const agents = (await ok(call('GET', '/api/v1/agents', t))).agents as { tenant: string }[];
      expect(agents.every((a) => a.tenant === 'tenant-a')).toBe(true);
      const certs = (await ok(call('GET', '/api/v1/certificates', t))).certificates as { tenant: string }[];
      expect(certs.length).toBeGreaterThan(0);
      expect(certs.every((c) => c.tenant === 'tenant-a')).toBe(true);
      expect((await call('GET', '/api/v1/certificates?tenant=tenant-b', t)).status).toBe(404);
      expect((await ok(call('GET', '/api/v1/tenants', t))).tenants.map((x: { name: string }) => x.name)).toEqual([
        'tenant-a',
      ]);
      const notes = (await ok(call('GET', '/api/v1/notifications', t))).notifications as { tenant: string }[];
      expect(notes.every((n) => n.tenant === 'tenant-a')).toBe(true);
    }
    const hooks = (await ok(call('GET', '/api/v1/webhooks', tokens.operator))).webhooks as { url: string }[];
    expect(hooks.some((h) => h.url.includes('/hooks/b'))).toBe(false);
    const bHook = (await ok(call('GET', '/api/v1/webhooks', operatorB))).webhooks[0];
    expect((await call('DELETE', `/api/v1/webhooks/${bHook.id}`, tokens.operator)).status).toBe(404);
    expect((await call('POST', `/api/v1/webhooks/${bHook.id}/rotate-secret`, tokens.operator, {})).status).toBe(404);
    const deliveries = await ok(call('GET', '/api/v1/webhooks/deliveries', tokens.operator));
    expect(
      [...deliveries.pending, ...deliveries.dead].every((d: { endpointId: string }) => d.endpointId !== bHook.id),
    ).toBe(true);

    // Audit export: the auditor gets tenant-a's entries and none that name tenant-b's agents or serials.
    const bNames = new Set([otherAgent.id, otherAgent.serial, victim.id, victim.serial]);
    const lines = (await call('GET', '/api/v1/audit/export', tokens.auditor)).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(5);
    for (const e of lines) {
      const text = JSON.stringify(e);
      for (const n of bNames) expect(text.includes(n), `${e.action} names ${n}`).toBe(false);
      expect(text.includes('tenant-b')).toBe(false);
    }
    const adminLines = (await call('GET', '/api/v1/audit/export', ADMIN)).text;
    expect(adminLines).toContain(victim.serial);
    expect((await call('GET', '/api/v1/audit/export', tokens.operator)).status).toBe(403);
  }, 60_000);
});

describe('tokens', () => {
  it('take effect and die without a restart; only a hash is stored; expiry parsed', async () => {
    const made = await ok(
      call('POST', '/api/v1/tokens', ADMIN, {
        name: 'short-lived',
        role: 'auditor',
        tenant: 'tenant-a',
        expires: '90d',
      }),
      201,
    );
    expect(made.token).toMatch(/^aca_/);
    expect(Date.parse(made.expiresAt) - Date.now()).toBeGreaterThan(89 * 86_400_000);
    expect((await call('GET', '/api/v1/agents', made.token)).status).toBe(200);
    const stored = JSON.stringify(await authority.store.meta.get(TOKENS_KEY));
    expect(stored.includes(made.token)).toBe(false);
    expect(stored.includes(made.token.slice(4, 20))).toBe(false);
    const listed = (await ok(call('GET', '/api/v1/tokens', ADMIN))).tokens as Record<string, unknown>[];
    expect(listed.every((t) => t.sha256 === undefined && t.token === undefined)).toBe(true);
    const revoked = await ok(call('DELETE', `/api/v1/tokens/${made.id}`, ADMIN));
    expect(revoked.state).toBe('revoked');
    expect((await call('GET', '/api/v1/agents', made.token)).status).toBe(401);
    // Bad inputs: typed 400s naming the field.
    const bad = await call('POST', '/api/v1/tokens', ADMIN, { name: 'x', role: 'operator' });
    expect([bad.status, bad.json.details.fields.tenant]).toEqual([400, 'is required for a operator token']);
    expect(
      (
        await call('POST', '/api/v1/tokens', ADMIN, {
          name: 'x',
          role: 'agent',
          tenant: 'tenant-a',
          agentId: 'other-bot',
        })
      ).json.code,
    ).toBe('ACA_ERR_AGENT_NOT_FOUND');
    expect(
      (await call('POST', '/api/v1/tokens', ADMIN, { name: 'x', role: 'operator', tenant: 'nope' })).json.code,
    ).toBe('ACA_ERR_TENANT_NOT_FOUND');
  });

  it('the action signed through the API verifies with openssl-checked chain material', async () => {
    const r = await ok(
      call('POST', '/api/v1/agents/own-bot/sign', tokens.agent, { payload: 'order-1', action: 'trade:equities' }),
    );
    const header = JSON.parse(Buffer.from(r.envelope.protected, 'base64url').toString());
    const leaf = `-----BEGIN CERTIFICATE-----\n${header.x5c[0]}\n-----END CERTIFICATE-----\n`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${tmp.dir}/signer.pem`, leaf);
    const v = await opensslAsync([
      'verify',
      '-CAfile',
      `${tmp.dir}/data/ca/root.pem`,
      '-untrusted',
      `${tmp.dir}/data/ca/intermediate.pem`,
      `${tmp.dir}/signer.pem`,
    ]);
    expect(v.stdout).toContain('OK');
  });
});

describe('per-tenant event quota', () => {
  it('over the quota: 429 with Retry-After and nothing of the refused batch stored', async () => {
    await ok(call('POST', '/api/v1/tenants', ADMIN, { name: 'tenant-q', eventsPerSecond: 5 }), 201);
    await ok(call('POST', '/api/v1/agents', ADMIN, { agentId: 'quota-bot', tenant: 'tenant-q', scope: SCOPE }), 201);
    const c = await ok(call('POST', '/api/v1/agents/quota-bot/certify', ADMIN, { publicKey: pubPem() }), 201);
    const op = (
      await ok(call('POST', '/api/v1/tokens', ADMIN, { name: 'op-q', role: 'operator', tenant: 'tenant-q' }), 201)
    ).token;
    const ev = (n: number, action = 'read:accounts') =>
      Array.from({ length: n }, () => ({
        serial: c.serial,
        type: 'api_call',
        action,
        outcome: 'success',
        time: new Date().toISOString(),
      }));
    const countBatches = async () => {
      let n = 0;
      for await (const e of authority.store.audit.iterate())
        if (e.action === 'events.ingested' && e.subject === c.serial) n++;
      return n;
    };
    await ok(call('POST', '/api/v1/events', op, { events: ev(5) }), 202);
    const before = await countBatches();
    const refused = await call('POST', '/api/v1/events', op, { events: ev(5, 'delete:accounts') });
    expect(refused.status).toBe(429);
    expect(refused.json.code).toBe('ACA_ERR_QUOTA_EXCEEDED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await countBatches()).toBe(before);
    // The refused out-of-scope events were not counted: the score shows no scope feature.
    const risk = await ok(call('GET', '/api/v1/agents/quota-bot/risk', op));
    expect(risk.features.scope).toBe(0);
    // A batch above one second's worth could never fit: 400, not 429.
    expect((await call('POST', '/api/v1/events', op, { events: ev(6) })).status).toBe(400);
  });
});
