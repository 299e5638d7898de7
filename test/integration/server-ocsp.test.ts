/**
 * The standalone server answered by the openssl binary: OCSP POST/GET, nonce, several CertIDs,
 * revocation through the admin API, the intermediate's status, responder rotation, errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslAsync } from '../helpers/openssl.js';
import { startTestCa, type TestCa } from '../helpers/ca-server.js';
import { OcspService } from '../../src/ocsp/service.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';

let ca: TestCa;

async function ocsp(certs: string[], extra: string[] = [], issuer?: string) {
  const args = [
    'ocsp',
    '-issuer',
    issuer ?? ca.intermediatePem,
    ...certs.flatMap((c) => ['-cert', c]),
    '-url',
    `${ca.url}/ocsp`,
    '-CAfile',
    ca.rootPem,
    ...extra,
  ];
  return opensslAsync(args, { timeoutMs: 10_000 });
}

beforeAll(async () => {
  ca = await startTestCa();
});
afterAll(async () => {
  await ca?.close();
});

describe('OCSP over HTTP, checked by openssl ocsp', () => {
  it('answers good, with a verified nonce, for a fresh certificate', async () => {
    const a = await ca.issueAgent('bot-good');
    const r = await ocsp([a.path]);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stderr).not.toMatch(/nonce/i);
    expect(r.stdout).toContain(`${a.path}: good`);
  });

  it('answers revoked with reason and time right after a revoke through the admin API', async () => {
    const a = await ca.issueAgent('bot-revoked');
    const res = await ca.admin('POST', `/api/v1/certificates/${a.serial}/revoke`, { reason: 'keyCompromise' });
    expect(res.status).toBe(200);
    const r = await ocsp([a.path], ['-no_nonce']);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${a.path}: revoked`);
    expect(r.stdout).toContain('Reason: keyCompromise');
    expect(r.stdout).toMatch(/Revocation Time: \w{3} +\d+ [\d:]+ \d{4} GMT/);
  });

  it('answers several CertIDs in one request (live-signed) and hold as certificateHold', async () => {
    const a = await ca.issueAgent('bot-multi-a');
    const b = await ca.issueAgent('bot-multi-b');
    await ca.admin('POST', `/api/v1/certificates/${b.serial}/hold`, {});
    const r = await ocsp([a.path, b.path]);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${a.path}: good`);
    expect(r.stdout).toContain(`${b.path}: revoked`);
    expect(r.stdout).toContain('Reason: certificateHold');
    await ca.admin('POST', `/api/v1/certificates/${b.serial}/release`, {});
    const again = await ocsp([b.path], ['-no_nonce']);
    expect(again.stdout).toContain(`${b.path}: good`);
  });

  it('serves the GET form with RFC 5019 cache headers, and 304 on a matching ETag', async () => {
    const a = await ca.issueAgent('bot-get');
    const req = join(ca.dir, 'get-req.der');
    await opensslAsync(['ocsp', '-issuer', ca.intermediatePem, '-cert', a.path, '-no_nonce', '-reqout', req]);
    const path = `${ca.url}/ocsp/${encodeURIComponent(readFileSync(req).toString('base64'))}`;
    const res = await fetch(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    const maxAge = Number(res.headers.get('cache-control')?.match(/max-age=(\d+)/)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(60);
    expect(res.headers.get('etag')).toMatch(/^".+"$/);
    expect(new Date(res.headers.get('expires')!).getTime()).toBeGreaterThan(Date.now());
    expect(res.headers.get('last-modified')).toBeTruthy();
    const respFile = join(ca.dir, 'get-resp.der');
    writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
    const v = await opensslAsync([
      'ocsp',
      '-respin',
      respFile,
      '-issuer',
      ca.intermediatePem,
      '-cert',
      a.path,
      '-CAfile',
      ca.rootPem,
    ]);
    expect(v.stderr).toContain('Response verify OK');
    expect(v.stdout).toContain(': good');
    const cached = await fetch(path, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(cached.status).toBe(304);
  });

  it("serves the intermediate's own status, signed by the root's responder", async () => {
    const r = await ocsp([ca.intermediatePem], [], ca.rootPem);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${ca.intermediatePem}: good`);
  });

  it('answers unknown for a serial the CA never issued, and unauthorized for another CA', async () => {
    const other = await startTestCa();
    try {
      const foreign = await other.issueAgent('foreign');
      // same issuer name+key hash as ours? no: another CA -> unauthorized
      const r = await ocsp([foreign.path], ['-no_nonce'], other.intermediatePem);
      expect(r.stdout + r.stderr).toMatch(/unauthorized/i);
      // our issuer, serial we never issued: build the request against our intermediate
      const fake = join(ca.dir, 'fake-serial-req.der');
      await opensslAsync([
        'ocsp',
        '-issuer',
        ca.intermediatePem,
        '-serial',
        '0x0123456789abcdef0123456789abcdef',
        '-no_nonce',
        '-reqout',
        fake,
      ]);
      const res = await fetch(`${ca.url}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: readFileSync(fake),
      });
      const parsed = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
      expect(parsed.status).toBe('successful');
      expect(parsed.basic?.responses[0]?.status.kind).toBe('unknown');
    } finally {
      await other.close();
    }
  });

  it('answers malformedRequest as DER for garbage, empty and oversize bodies, never HTML', async () => {
    for (const body of [Buffer.from('garbage'), Buffer.alloc(0), Buffer.alloc(100_000, 0x30)]) {
      const res = await fetch(`${ca.url}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/ocsp-response');
      expect(parseOcspResponse(Buffer.from(await res.arrayBuffer())).status).toBe('malformedRequest');
    }
    const bad = await fetch(`${ca.url}/ocsp/%%%not-base64`);
    expect(parseOcspResponse(Buffer.from(await bad.arrayBuffer())).status).toBe('malformedRequest');
  });

  it('keeps answering after a responder-certificate rotation, with the new responder embedded', async () => {
    const a = await ca.issueAgent('bot-rotate');
    const before = ca.authority.ca('intermediate').responder.certificate.serial;
    const service = new OcspService(ca.authority, { rotateResponderAheadMs: 10_000 * 86_400_000 });
    const rotated = await service.rotateRespondersIfDue();
    expect(rotated).toEqual(['root', 'intermediate']);
    const after = ca.authority.ca('intermediate').responder.certificate.serial;
    expect(after).not.toBe(before);
    // the running server's service must pick the new responder up: rebuild it the way serve does
    const r = await ocsp([a.path], ['-no_nonce', '-resp_text']);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${a.path}: good`);
  });
});

describe('admin API and public endpoints', () => {
  it('refuses admin calls without a valid token with 401 problem+json', async () => {
    for (const token of ['', 'wrong']) {
      const res = await ca.admin('GET', '/api/v1/certificates', undefined, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.json.code).toBe('ACA_ERR_HTTP_UNAUTHORIZED');
    }
  });

  it('issues from a public key through the API; the certificate verifies with openssl', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const res = await ca.admin('POST', '/api/v1/certificates', {
      agentId: 'api-bot',
      publicKey: pub,
      scope: ['read:accounts'],
      tenant: 'acme',
    });
    expect(res.status).toBe(201);
    const file = join(ca.dir, 'api-bot.pem');
    writeFileSync(file, res.json.certificate);
    const v = await opensslAsync([
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      '-CAfile',
      ca.rootPem,
      '-untrusted',
      ca.intermediatePem,
      file,
    ]);
    expect(v.stdout).toContain(': OK');
    const list = await ca.admin('GET', '/api/v1/certificates?agentId=api-bot');
    expect(list.json.certificates.map((c: { serial: string }) => c.serial)).toEqual([res.json.serial]);
  });

  it('lists every bad field of an issue request in one 400 problem+json, and stores nothing', async () => {
    const before = (await ca.admin('GET', '/api/v1/certificates')).json.certificates.length;
    const res = await ca.admin('POST', '/api/v1/certificates', { agentId: 7, validityDays: -1, nonsense: true });
    expect(res.status).toBe(400);
    expect(Object.keys(res.json.details.fields).sort()).toEqual(['agentId', 'csr', 'nonsense', 'validityDays']);
    expect((await ca.admin('GET', '/api/v1/certificates')).json.certificates.length).toBe(before);
  });

  it('answers GET /api/v1/verify/{serial} without an account; unknown serial is 404 problem+json', async () => {
    const a = await ca.issueAgent('verify-bot', {
      scope: ['read:accounts'],
      modelHash: { algorithm: 'sha256', digest: Buffer.alloc(32, 1) },
      tenant: 'acme',
      environment: 'staging',
    });
    const res = await fetch(`${ca.url}/api/v1/verify/${a.serial}`);
    const j = (await res.json()) as Record<string, any>;
    expect(j).toMatchObject({
      serial: a.serial,
      operator: 'Example Operator',
      agentId: 'verify-bot',
      scope: ['read:accounts'],
      tenant: 'acme',
      environment: 'staging',
      status: 'good',
    });
    expect(j.modelHash).toEqual({ algorithm: 'sha256', digest: '01'.repeat(32) });
    expect(j.issuerChain.map((c: { name: string }) => c.name)).toEqual(['intermediate', 'root']);
    const missing = await fetch(`${ca.url}/api/v1/verify/00ff`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('ACA_ERR_CERT_NOT_FOUND');
    const malformed = await fetch(`${ca.url}/api/v1/verify/not-a-serial`);
    expect(malformed.status).toBe(400);
  });

  it('serves the CA certificates named by AIA caIssuers (DER) and PEM beside them', async () => {
    const der = await fetch(`${ca.url}/ca/intermediate.cer`);
    expect(der.headers.get('content-type')).toBe('application/pkix-cert');
    const pem = await (await fetch(`${ca.url}/ca/root.pem`)).text();
    expect(pem).toBe(readFileSync(ca.rootPem, 'utf8'));
    expect((await fetch(`${ca.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${ca.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${ca.url}/metrics`)).text();
    expect(metrics).toContain('agent_ca_ocsp_responses_total{source="precomputed",status="successful"}');
    expect(metrics).toContain('agent_ca_revocation_to_ocsp_visibility_seconds_count');
    expect(metrics).toMatch(/agent_ca_signing_seconds_count\{kind="intermediate"\} [1-9]/);
    expect(metrics).toMatch(/agent_ca_signing_seconds_count\{kind="ocsp-intermediate"\} [1-9]/);
  });
});
