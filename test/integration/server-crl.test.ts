/**
 * CRLs as served at the URLs the certificates name, checked by openssl: full CRL rejects a
 * revoked certificate; full + delta (with -extended_crl -use_deltas) rejects one revoked
 * after the full CRL and accepts a good one; hold/release; the root's CRL lists a revoked
 * intermediate. The server runs in the large-CRL regime (a change publishes only a delta);
 * crl-freshness.test.ts covers small CRLs, where a change also publishes a new full CRL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCertificate } from '../../src/asn1/certificate-describe.js';
import { pemOrDer } from '../../src/asn1/pem.js';
import { readFileSync } from 'node:fs';
import { opensslAsync } from '../helpers/openssl.js';
import { startTestCa, type TestCa } from '../helpers/ca-server.js';

let ca: TestCa;

async function fetchCrl(name: string): Promise<string> {
  const res = await fetch(`${ca.url}/crl/${name}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pkix-crl');
  const file = join(ca.dir, `${name}.${Date.now()}.${Math.random()}.der`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const pem = `${file}.pem`;
  await opensslAsync(['crl', '-inform', 'DER', '-in', file, '-out', pem]);
  return pem;
}

async function verifyWith(cert: string, crls: string[], extra: string[] = []) {
  return opensslAsync([
    'verify',
    '-crl_check',
    ...extra,
    '-CAfile',
    ca.rootPem,
    '-untrusted',
    ca.intermediatePem,
    ...crls.flatMap((c) => ['-CRLfile', c]),
    cert,
  ]);
}

/** Wait (bounded) until the served delta CRL's number moves past `after`. */
async function deltaAfter(after: bigint): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${ca.url}/crl/intermediate-delta.crl`);
    const n = BigInt(res.headers.get('etag')!.match(/-(\d+)"$/)![1]!);
    if (n > after) return fetchCrl('intermediate-delta.crl');
    if (Date.now() > deadline) throw new Error('no fresh delta CRL within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function etagNumber(h: Headers): bigint {
  return BigInt(h.get('etag')!.match(/-(\d+)"$/)![1]!);
}

beforeAll(async () => {
  ca = await startTestCa({ crl: { fullOnChangeMaxEntries: -1 } });
});
afterAll(async () => {
  await ca?.close();
});

describe('CRLs served over HTTP, checked by openssl', () => {
  it('serves the URLs the certificates name, and the full CRL verifies against the chain', async () => {
    const a = await ca.issueAgent('crl-names');
    const d = describeCertificate(pemOrDer(readFileSync(a.path), ['CERTIFICATE']));
    expect(d.crlDistributionPoints![0]).toMatch(/\/crl\/intermediate\.crl$/);
    expect(d.freshestCrl![0]).toMatch(/\/crl\/intermediate-delta\.crl$/);
    const full = await fetchCrl('intermediate.crl');
    const r = await opensslAsync(['crl', '-in', full, '-noout', '-verify', '-CAfile', ca.intermediatePem]);
    expect(r.stderr + r.stdout).toContain('verify OK');
    const text = await opensslAsync(['crl', '-in', full, '-noout', '-text']);
    expect(text.stdout).toContain('X509v3 CRL Number');
    expect(text.stdout).toContain('X509v3 Freshest CRL');
    const pem = await (await fetch(`${ca.url}/crl/intermediate.pem`)).text();
    expect(pem).toContain('-----BEGIN X509 CRL-----');
  });

  it('full + delta rejects a certificate revoked after the full CRL, accepts a good one; hold then release', async () => {
    const good = await ca.issueAgent('crl-good');
    const bad = await ca.issueAgent('crl-bad');
    const held = await ca.issueAgent('crl-held');
    const deltaBefore = etagNumber((await fetch(`${ca.url}/crl/intermediate-delta.crl`)).headers);
    const full = await fetchCrl('intermediate.crl');
    expect(
      (await ca.admin('POST', `/api/v1/certificates/${bad.serial}/revoke`, { reason: 'keyCompromise' })).status,
    ).toBe(200);
    expect((await ca.admin('POST', `/api/v1/certificates/${held.serial}/hold`, {})).status).toBe(200);
    const delta = await deltaAfter(deltaBefore);
    const deltaText = await opensslAsync(['crl', '-in', delta, '-noout', '-text']);
    expect(deltaText.stdout).toContain('Delta CRL Indicator');
    const ext = ['-extended_crl', '-use_deltas'];
    expect((await verifyWith(good.path, [full, delta], ext)).stdout).toContain(': OK');
    const rBad = await verifyWith(bad.path, [full, delta], ext);
    expect(rBad.stdout + rBad.stderr).toContain('certificate revoked');
    const rHeld = await verifyWith(held.path, [full, delta], ext);
    expect(rHeld.stdout + rHeld.stderr).toContain('certificate revoked');
    // the full CRL alone does not know yet: the delta is what makes revocation fast
    expect((await verifyWith(bad.path, [full])).stdout).toContain(': OK');

    const deltaMid = etagNumber((await fetch(`${ca.url}/crl/intermediate-delta.crl`)).headers);
    expect((await ca.admin('POST', `/api/v1/certificates/${held.serial}/release`, {})).status).toBe(200);
    const delta2 = await deltaAfter(deltaMid);
    // released since the base: no longer listed as held (removeFromCRL only if the base listed it)
    expect((await verifyWith(held.path, [full, delta2], ext)).stdout).toContain(': OK');
    expect((await verifyWith(bad.path, [full, delta2], ext)).stdout + '').not.toContain(': OK');
  });

  it("the root's CRL lists a revoked intermediate, and -crl_check_all then rejects agents under it", async () => {
    const a = await ca.issueAgent('under-revoked-int');
    const intSerial = ca.authority.ca('intermediate').certificate.serial;
    const rootFullBefore = etagNumber((await fetch(`${ca.url}/crl/root.crl`)).headers);
    const rootDeltaBefore = etagNumber((await fetch(`${ca.url}/crl/root-delta.crl`)).headers);
    expect(rootFullBefore).toBeGreaterThan(0n);
    expect(
      (await ca.admin('POST', `/api/v1/certificates/${intSerial}/revoke`, { reason: 'cACompromise' })).json,
    ).toMatchObject({ code: 'ACA_ERR_REVOKE_CA_REFUSED' });
    expect((await ca.admin('POST', '/api/v1/ca/intermediate/revoke', { reason: 'cACompromise' })).status).toBe(200);
    // the root's delta follows within seconds; then the chain check with every CRL
    const deadline = Date.now() + 15_000;
    while (etagNumber((await fetch(`${ca.url}/crl/root-delta.crl`)).headers) <= rootDeltaBefore) {
      if (Date.now() > deadline) throw new Error('no root delta');
      await new Promise((r) => setTimeout(r, 100));
    }
    const rootDelta = await fetchCrl('root-delta.crl');
    const text = await opensslAsync(['crl', '-in', rootDelta, '-noout', '-text']);
    expect(text.stdout.toLowerCase()).toContain(intSerial.toLowerCase().replace(/^0+/, '').slice(0, 8));
    expect(text.stdout).toContain('CA Compromise');
    const rootFull = await fetchCrl('root.crl');
    const intFull = await fetchCrl('intermediate.crl');
    const r = await verifyWith(
      a.path,
      [rootFull, rootDelta, intFull],
      ['-crl_check_all', '-extended_crl', '-use_deltas'],
    );
    expect(r.stdout + r.stderr).toContain('certificate revoked');
    // and every surface reads the agent as revoked through its CA
    expect((await ca.authority.show(a.serial)).status).toMatchObject({ state: 'revoked', inheritedFrom: intSerial });
  });
});
