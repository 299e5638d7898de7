/**
 * Per-profile OCSP validity: an agent's answer is valid 60 s (agent-high-risk 30 s), signed on
 * the first request of each 30 s window and shared (one signature however many ask at once); a
 * revocation is served at once without a signature on the request path; CA statuses keep a
 * day. Every answer is checked by `openssl ocsp -respin`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/clock.js';
import { certIdFor, issuerHashes } from '../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import type { OcspHashAlgorithm } from '../../src/ocsp/types.js';
import { startTestCa, type TestCa } from '../helpers/ca-server.js';
import { opensslAsync } from '../helpers/openssl.js';

let ca: TestCa;
const clock = new FixedClock(Date.now());

beforeAll(async () => {
  ca = await startTestCa({ clock });
});
afterAll(async () => {
  await ca?.close();
});

function request(
  serial: string,
  hash: OcspHashAlgorithm = 'sha1',
  issuer: 'intermediate' | 'root' = 'intermediate',
): Buffer {
  const c = ca.authority.ca(issuer).certificate;
  return ocspRequestDer(
    certIdFor(
      issuerHashes({ subjectDer: c.subject, publicKeyInfo: c.publicKeyInfo }, hash),
      Buffer.from(serial, 'hex'),
      hash,
    ),
  );
}

async function ask(serial: string, hash: OcspHashAlgorithm = 'sha1', issuer: 'intermediate' | 'root' = 'intermediate') {
  const r = await ca.server.ocsp.responder.respond(request(serial, hash, issuer));
  expect(r.status).toBe('successful');
  const single = parseOcspResponse(r.der).basic!.responses[0]!;
  return { der: r.der, single, validitySeconds: (single.nextUpdate!.getTime() - single.thisUpdate.getTime()) / 1000 };
}

/** openssl checks signature, chain and status of a response we got through the responder. */
async function opensslStatus(
  der: Buffer,
  certPath: string,
  issuerPem = ca.intermediatePem,
  hash: OcspHashAlgorithm = 'sha1',
): Promise<string> {
  const resp = join(ca.dir, `resp-${Math.random().toString(16).slice(2)}.der`);
  writeFileSync(resp, der);
  const r = await opensslAsync(
    ['ocsp', '-respin', resp, '-issuer', issuerPem, `-${hash}`, '-cert', certPath, '-CAfile', ca.rootPem, '-no_nonce'],
    { timeoutMs: 10_000 },
  );
  expect(r.stderr).toContain('Response verify OK');
  return r.stdout;
}

describe('OCSP validity per profile, signed per window', () => {
  it('agent: nextUpdate - thisUpdate is 60 s; concurrent requests share one signature; re-signed after the window', async () => {
    const a = await ca.issueAgent('fresh-bot');
    const windows = ca.server.ocsp.windows;
    const before = windows.signatures;
    // Two encodings of the question (SHA-1 CertID) from many clients at once: one signature.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => ca.server.ocsp.precomputedOnly.respond(request(a.serial))),
    );
    expect(new Set(answers.map((x) => x.der.toString('hex'))).size).toBe(1);
    expect(windows.signatures - before).toBe(1);
    const first = await ask(a.serial);
    expect(first.validitySeconds).toBe(60);
    expect(await opensslStatus(first.der, a.path)).toContain(`${a.path}: good`);
    expect(windows.signatures - before).toBe(1);

    clock.advance(29_000); // inside the window: same bytes, no signature
    expect((await ask(a.serial)).der.equals(first.der)).toBe(true);
    expect(windows.signatures - before).toBe(1);

    clock.advance(2_000); // 31 s: past half the validity, re-signed
    const second = await ask(a.serial);
    expect(second.der.equals(first.der)).toBe(false);
    expect(second.single.thisUpdate.getTime()).toBe(clock.now().getTime() - (clock.now().getTime() % 1000));
    expect(windows.signatures - before).toBe(2);
  });

  it('revocation: served at once (signed before revoke() returned, no signature on the request path)', async () => {
    const a = await ca.issueAgent('doomed-bot');
    expect(await opensslStatus((await ask(a.serial)).der, a.path)).toContain('good');
    const res = await ca.admin('POST', `/api/v1/certificates/${a.serial}/revoke`, { reason: 'keyCompromise' });
    expect(res.status).toBe(200);
    const signaturesAfterRevoke = ca.server.ocsp.windows.signatures;
    for (const hash of ['sha1', 'sha256'] as const) {
      const r = await ask(a.serial, hash);
      expect(r.validitySeconds).toBe(60);
      const out = await opensslStatus(r.der, a.path, ca.intermediatePem, hash);
      expect(out).toContain(`${a.path}: revoked`);
      expect(out).toContain('Reason: keyCompromise');
    }
    expect(ca.server.ocsp.windows.signatures).toBe(signaturesAfterRevoke);
    // Hold then release through the same path: good again at once.
    const b = await ca.issueAgent('held-bot');
    await ca.admin('POST', `/api/v1/certificates/${b.serial}/hold`, {});
    expect(await opensslStatus((await ask(b.serial)).der, b.path)).toContain('Reason: certificateHold');
    await ca.admin('POST', `/api/v1/certificates/${b.serial}/release`, {});
    expect(await opensslStatus((await ask(b.serial)).der, b.path)).toContain(`${b.path}: good`);
  });

  it('agent-high-risk answers are valid 30 s; the intermediate (a CA status, pre-signed) a day', async () => {
    const h = await ca.issueAgent('risky-bot', { profile: 'agent-high-risk', validityDays: 7 });
    const r = await ask(h.serial, 'sha256');
    expect(r.validitySeconds).toBe(30);
    expect(await opensslStatus(r.der, h.path, ca.intermediatePem, 'sha256')).toContain(`${h.path}: good`);
    const intSerial = ca.authority.ca('intermediate').certificate.serial;
    const before = ca.server.ocsp.windows.signatures;
    const i = await ask(intSerial, 'sha1', 'root');
    expect(i.validitySeconds).toBe(86_400);
    expect(ca.server.ocsp.windows.signatures).toBe(before);
    expect(await opensslStatus(i.der, ca.intermediatePem, ca.rootPem)).toContain(': good');
  });

  it('nothing short-lived is pre-signed into the store, so the refresher has no agent work', async () => {
    const a = await ca.issueAgent('quiet-bot');
    expect(
      await ca.authority.store.ocspResponses.get('intermediate' as never, a.serial as never, 'sha1'),
    ).toBeUndefined();
    clock.advance(13 * 3_600_000);
    expect(await ca.server.ocsp.refreshDue()).toBeGreaterThan(0); // the CA statuses only
    expect(
      await ca.authority.store.ocspResponses.get('intermediate' as never, a.serial as never, 'sha1'),
    ).toBeUndefined();
  });
});
