/**
 * The adversarial pass's HTTP findings, each reproduced against the standalone server:
 * D1 (an unencodable invalidityDate accepted, then every CRL publication failing silently),
 * D2 (misspelt policy keys dropped, deep bodies accepted), D3 (a CA serial "revoked" through
 * the agent API), D4 (the latest checkpoint published), D7 (an OCSP GET over 16 KiB answered
 * 431 JSON), D9 (comma scopes, javascript: URIs).
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFromJson } from '../../src/audit/checkpoint.js';
import { errorResponse } from '../../src/ocsp/response.js';
import { opensslAsync } from '../helpers/openssl.js';
import { startTestCa, type TestCa } from '../helpers/ca-server.js';

let ca: TestCa;
let spkiPem: string;

beforeAll(async () => {
  ca = await startTestCa();
  const { generateKeyPairSync } = await import('node:crypto');
  spkiPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    format: 'pem',
    type: 'spki',
  }) as string;
}, 60_000);
afterAll(async () => {
  await ca?.close();
});

const MALFORMED = errorResponse('malformedRequest');

describe('D1: invalidityDate', () => {
  it('refuses year -1 and other non-RFC 3339 times with 400 naming the field; CRLs keep publishing and openssl reads them', async () => {
    const a = await ca.issueAgent('d1-bot');
    for (const invalidityDate of [
      '-000001-01-01T00:00:00Z',
      '1949-12-31T23:59:59Z',
      '2020-02-30T00:00:00Z',
      '2020-01-01',
      'yesterday',
      12,
    ]) {
      const r = await ca.admin('POST', `/api/v1/certificates/${a.serial}/revoke`, {
        reason: 'keyCompromise',
        invalidityDate,
      });
      expect(r.status, String(invalidityDate)).toBe(400);
      expect(r.json).toMatchObject({
        code: 'ACA_ERR_INPUT_INVALID',
        details: { fields: { invalidityDate: expect.any(String) } },
      });
    }
    expect((await ca.admin('GET', `/api/v1/certificates/${a.serial}`)).json.status).toBe('good');
    expect(
      (
        await ca.admin('POST', `/api/v1/certificates/${a.serial}/revoke`, {
          reason: 'keyCompromise',
          invalidityDate: '2024-05-01T10:00:00Z',
        })
      ).status,
    ).toBe(200);
    await ca.server.crls.scheduler.run('intermediate' as never, 'full');
    expect(ca.server.crls.publishProblems()).toEqual([]);
    const res = await fetch(`${ca.url}/crl/intermediate.crl`);
    const file = join(ca.dir, 'd1.crl');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const text = (await opensslAsync(['crl', '-inform', 'DER', '-in', file, '-noout', '-text'])).stdout;
    expect(text).toContain(`Serial Number: ${a.serial.toUpperCase()}`);
    expect(text).toMatch(/Invalidity Date:\s*\n\s*May {2}1 10:00:00 2024 GMT/);
  });

  it('a CRL that cannot be built is an alarm: /readyz 503 naming it, a metric, until a publication succeeds', async () => {
    const crls = ca.server.crls;
    const original = crls.publisher.publishDelta.bind(crls.publisher);
    crls.publisher.publishDelta = async () => {
      throw new Error('disk full');
    };
    try {
      await crls.scheduler.run('intermediate' as never, 'delta');
      const ready = await fetch(`${ca.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        code: 'ACA_ERR_CRL_PUBLISH_FAILED',
        details: { crls: [{ issuer: 'intermediate', kind: 'delta', error: 'disk full' }] },
      });
      const metrics = await (await fetch(`${ca.url}/metrics`)).text();
      expect(metrics).toMatch(/agent_ca_crl_publish_failing\{issuer="intermediate",kind="delta"\} 1/);
      expect(metrics).toMatch(/agent_ca_crl_publish_failures_total\{issuer="intermediate",kind="delta"\} [1-9]/);
    } finally {
      crls.publisher.publishDelta = original;
    }
    await crls.scheduler.run('intermediate' as never, 'delta');
    expect((await fetch(`${ca.url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${ca.url}/metrics`)).text()).not.toMatch(/agent_ca_crl_publish_failing\{[^}]*\} 1/);
  });
});

describe('D2: policy fields', () => {
  it('names an unknown or misspelt policy key (any depth) and issues nothing', async () => {
    const before = await ca.authority.store.certificates.count();
    const r = await ca.admin('POST', '/api/v1/certificates', {
      agentId: 'd2-bot',
      publicKey: spkiPem,
      policy: {
        maxTransactionsize: { amount: '10', currency: 'USD' },
        allowed_markets: ['EUR_USD'],
        maxTransactionSize: { amount: '10', currency: 'USD', cents: 5 },
      },
      modelHash: { algorithm: 'sha256', digest: 'ab'.repeat(32), note: 'x' },
    });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json.details.fields).sort()).toEqual([
      'modelHash.note',
      'policy.allowed_markets',
      'policy.maxTransactionSize.cents',
      'policy.maxTransactionsize',
    ]);
    expect(await ca.authority.store.certificates.count()).toBe(before);
  });

  it('refuses a 5,000-deep object with 400', async () => {
    const deep = `{"agentId":"d2-deep","publicKey":${JSON.stringify(spkiPem)},"policy":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const res = await fetch(`${ca.url}/api/v1/certificates`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
      detail: expect.stringMatching(/nests deeper than 16 levels/),
    });
  });
});

describe('D3: CA serials on the agent API', () => {
  it('refuses the root and the intermediate (409 ACA_ERR_REVOKE_CA_REFUSED) and changes nothing; the root cannot be revoked on the CA path either', async () => {
    for (const name of ['root', 'intermediate'] as const) {
      const serial = ca.authority.ca(name).certificate.serial;
      for (const action of ['revoke', 'hold']) {
        const r = await ca.admin('POST', `/api/v1/certificates/${serial}/${action}`, { reason: 'cACompromise' });
        expect(r.status).toBe(409);
        expect(r.json.code).toBe('ACA_ERR_REVOKE_CA_REFUSED');
      }
      expect((await ca.admin('GET', `/api/v1/certificates/${serial}`)).json.status).toBe('good');
    }
    const root = await ca.admin('POST', '/api/v1/ca/root/revoke', { reason: 'cACompromise' });
    expect(root).toMatchObject({ status: 409, json: { code: 'ACA_ERR_REVOKE_CA_REFUSED' } });
    expect((await ca.admin('POST', '/api/v1/ca/intermediate/revoke', {})).status).toBe(400);
    expect((await ca.admin('POST', '/api/v1/ca/intermediate/revoke', { reason: 'cACompromise' }, '')).status).toBe(401);
  });
});

describe('D4: the latest checkpoint, published', () => {
  it('GET /api/v1/audit/head gives the head and a signed checkpoint that verify --against accepts', async () => {
    expect((await ca.admin('GET', '/api/v1/audit/head', undefined, '')).status).toBe(401);
    await ca.authority.audit.checkpoint();
    const r = await ca.admin('GET', '/api/v1/audit/head');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      head: { seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      checkpointIntervalMs: 1000,
      checkpointKey: expect.any(String),
    });
    const kept = checkpointFromJson(r.json);
    expect(kept.seq).toBeLessThanOrEqual(r.json.head.seq);
    expect(await ca.authority.audit.verify({ against: kept })).toMatchObject({ ok: true });
  });
});

describe('D7: OCSP GET over 16 KiB', () => {
  it('answers malformedRequest as OCSP DER, whether the URL arrives in one read or many', async () => {
    const res = await fetch(`${ca.url}/ocsp/${'A'.repeat(20_000)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(MALFORMED);

    const { port } = new URL(ca.url);
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const writeSlowly = async (): Promise<void> => {
        const req = `GET /ocsp/${'B'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
        for (let i = 0; i < req.length && !s.destroyed; i += 1000) {
          s.write(req.slice(i, i + 1000));
          await new Promise((r) => setTimeout(r, 1));
        }
      };
      const s = connect(Number(port), '127.0.0.1', () => void writeSlowly().catch(reject));
      s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', (e) => (chunks.length ? resolve(Buffer.concat(chunks)) : reject(e)));
    });
    const sep = raw.indexOf('\r\n\r\n');
    expect(raw.subarray(0, sep).toString('latin1')).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Type: application\/ocsp-response/,
    );
    expect(raw.subarray(sep + 4)).toEqual(MALFORMED);
  });

  it('answers other over-long requests with 431 problem+json', async () => {
    const res = await fetch(`${ca.url}/api/v1/verify/${'A'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('D9: scopes and URI SANs', () => {
  it('refuses a scope with a comma and a javascript: URI SAN; accepts spiffe', async () => {
    const comma = await ca.admin('POST', '/api/v1/certificates', {
      agentId: 'd9-a',
      publicKey: spkiPem,
      scope: ['read:a,write:b'],
    });
    expect(comma.status).toBe(400);
    expect(comma.json.detail).toMatch(/comma separates scopes/);
    const js = await ca.admin('POST', '/api/v1/certificates', {
      agentId: 'd9-b',
      publicKey: spkiPem,
      uris: ['javascript:alert(1)'],
    });
    expect(js.status).toBe(422);
    expect(js.json).toMatchObject({
      code: 'ACA_ERR_LINT_FAILED',
      detail: expect.stringMatching(/URI scheme javascript is not allowed/),
    });
    expect(
      (
        await ca.admin('POST', '/api/v1/certificates', {
          agentId: 'd9-c',
          publicKey: spkiPem,
          uris: ['spiffe://agents.example/d9-c'],
        })
      ).status,
    ).toBe(201);
  });
});
