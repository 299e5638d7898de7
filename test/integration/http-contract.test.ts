/**
 * The HTTP contract (docs/http-api.md): GET /openapi.json is a valid OpenAPI 3.1 document that
 * lists every route fastify registered, each with its authentication (bearer roles) and its
 * problem+json errors; requests refused by a schema answer in our problem format; the token is
 * checked before the body is parsed; /docs serves Swagger UI from this server only.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority } from '../../src/authority/create-authority.js';
import type { Authority } from '../../src/authority/authority.js';
import { agentCaPlugin } from '../../src/http/app.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const TOKEN = 'contract-admin-token';
let tmp: TmpDir;
let authority: Authority;
let app: FastifyInstance;
const registered: Array<{ method: string; url: string; hide: boolean }> = [];

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-contract-');
  authority = await createAuthority({ dataDir: join(tmp.dir, 'data'), env: {} });
  await authority.init({ keyType: 'p256', config: { organization: 'Example Operator' } });
  app = Fastify({ logger: false });
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat())
      registered.push({
        method: m,
        url: r.url,
        hide: Boolean(r.schema?.hide),
      });
  });
  await app.register(agentCaPlugin, { authority, adminToken: TOKEN });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await authority?.close();
  await tmp?.cleanup();
});

/** `/a/:id/*` and OpenAPI's `/a/{id}/{*}` both read `/a/{}/{}`. */
const shape = (url: string) =>
  url
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/:[A-Za-z0-9_]+/g, '{}')
    .replace(/\*/g, '{}');

describe('GET /openapi.json', () => {
  it('validates as OpenAPI 3.1 and lists every registered route with its auth and errors', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const verdict = await validator.validate(doc);
    expect(verdict.errors ?? []).toEqual([]);
    expect(verdict.valid).toBe(true);

    const routes = registered.filter((r) => !r.hide && r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(45);
    const missing: string[] = [];
    for (const r of routes) {
      const path = Object.keys(doc.paths).find((p) => shape(p) === shape(r.url));
      const op = path ? doc.paths[path][r.method.toLowerCase()] : undefined;
      if (!op) {
        missing.push(`${r.method} ${r.url}`);
        continue;
      }
      // Auth: public routes say so (security: []); the others name bearerAuth and its roles.
      expect(Array.isArray(op.security), `${r.method} ${r.url} security`).toBe(true);
      if (op.security.length > 0) {
        expect(op.security[0].bearerAuth.length, `${r.method} ${r.url} roles`).toBeGreaterThan(0);
        expect(op.responses['401'], `${r.method} ${r.url} 401`).toBeDefined();
      }
      // OCSP answers its errors as OCSP DER with status 200 (RFC 6960 §2.3), and says so.
      if (path?.startsWith('/ocsp')) {
        expect(Object.keys(op.responses)).toEqual(['200', '304']);
        expect(Object.keys(op.responses['200'].content)).toEqual(['application/ocsp-response']);
        expect(op.description).toMatch(/malformedRequest/);
        continue;
      }
      // Errors: at least 500, each a problem+json body.
      const errors = Object.keys(op.responses).filter((s) => Number(s) >= 400);
      expect(errors, `${r.method} ${r.url} errors`).toContain('500');
      for (const s of errors)
        expect(Object.keys(op.responses[s].content ?? {}), `${r.method} ${r.url} ${s}`).toEqual([
          'application/problem+json',
        ]);
    }
    expect(missing).toEqual([]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});

describe('problem+json and validation', () => {
  it('checks the token before the body: a form POST without a token is 401, not 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/certificates',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'agentId=x',
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'ACA_ERR_HTTP_UNAUTHORIZED', title: 'Authentication is required.' });
    // With a token, the same request reaches the parser: 415, still problem+json with our code.
    const typed = await app.inject({
      method: 'POST',
      url: '/api/v1/certificates',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${TOKEN}` },
      payload: 'agentId=x',
    });
    expect(typed.statusCode).toBe(415);
    expect(typed.json()).toMatchObject({ code: 'ACA_ERR_INPUT_INVALID', status: 415 });
  });

  it('titles are human sentences; the code stays in code', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/certificates/00ff',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode).toBe(404);
    const p = res.json();
    expect(p).toMatchObject({ code: 'ACA_ERR_CERT_NOT_FOUND', type: 'urn:agent-ca:error:ACA_ERR_CERT_NOT_FOUND' });
    expect(p.title).toBe('The certificate was not found.');
    expect(p.title).not.toMatch(/ACA_ERR/);
  });

  it('a body refused by its schema names every bad field at any depth, with the route’s own checks', async () => {
    const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const before = await authority.store.certificates.count();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/certificates',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: {
        agentId: 'schema-bot',
        publicKey: spki,
        csr: 'also',
        scope: 'read:x',
        policy: { maxTransactionSize: { amount: '1', currency: 'USD', cents: 1 }, markets: [] },
        extra: true,
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const p = res.json();
    expect(p.code).toBe('ACA_ERR_INPUT_INVALID');
    expect(Object.keys(p.details.fields).sort()).toEqual([
      'csr', // the route's own check: exactly one of csr, publicKey, createKeyIn
      'extra',
      'policy.markets',
      'policy.maxTransactionSize.cents',
      'scope',
    ]);
    expect(p.details.fields.extra).toBe('unknown field');
    expect(p.details.fields.scope).toBe('must be an array of strings');
    expect(await authority.store.certificates.count()).toBe(before);
    // Querystrings are checked too, in the same format.
    const q = await app.inject({ method: 'GET', url: '/api/v1/verify/zz', headers: {} });
    expect(q.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI from this server only (no CDN)', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const html = page.body;
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(r, r).not.toMatch(/^(https?:)?\/\//);
    const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    // No URL to another host in the page's configuration (a comment may cite one).
    expect(init.body).not.toMatch(/["'`]https?:\/\//);
    expect(init.body).toMatch(/validatorUrl: null/);
    const bundle = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
  });
});
