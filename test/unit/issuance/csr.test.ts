/**
 * PKCS#10 parsing and proof of possession (RFC 2986 §3) on CSRs made by `openssl req -new`:
 * good ones give back exactly openssl's public key; a tampered one is INPUT_CSR_SIGNATURE,
 * garbage is INPUT_CSR_INVALID; SHA-1 and RSA-PSS requests are refused; and the CA, not the
 * requester, decides what the certificate says.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCertificate } from '../../../src/asn1/certificate-describe.js';
import { decodeName } from '../../../src/asn1/name.js';
import { pemOrDer } from '../../../src/asn1/pem.js';
import { Authority } from '../../../src/authority/authority.js';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError } from '../../../src/errors.js';
import { parseAndVerifyCsr } from '../../../src/issuance/csr.js';
import { keyTypeOfSpki } from '../../../src/signer/public-key.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { openssl, tempDir, type TempDir } from '../../helpers/openssl.js';
import { NOW } from '../lint/tbs-fixtures.js';

let tmp: TempDir;

/** `openssl req -new` with a fresh key; returns the CSR (PEM) and openssl's SPKI (DER). */
function opensslCsr(name: string, newkey: string[], extra: string[] = []): { pem: string; spki: Buffer } {
  const key = join(tmp.dir, `${name}.key`);
  const csr = join(tmp.dir, `${name}.csr`);
  const r = openssl([
    'req',
    '-new',
    ...newkey,
    '-nodes',
    '-keyout',
    key,
    '-subj',
    `/O=Requester/CN=${name}`,
    ...extra,
    '-out',
    csr,
  ]);
  expect(r.status, r.stderr).toBe(0);
  const pub = openssl(['pkey', '-in', key, '-pubout']);
  expect(pub.status).toBe(0);
  return { pem: readFileSync(csr, 'utf8'), spki: pemOrDer(pub.stdout, ['PUBLIC KEY']) };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof AgentCaError) return e.code;
    throw e;
  }
  return undefined;
}

const csrs: Record<string, { pem: string; spki: Buffer }> = {};

beforeAll(() => {
  tmp = tempDir('agent-ca-csr-');
  csrs.p256 = opensslCsr('p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  csrs.p384 = opensslCsr('p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], ['-sha384']);
  csrs.rsa2048 = opensslCsr('rsa2048', ['-newkey', 'rsa:2048']);
  csrs.ed25519 = opensslCsr('ed25519', ['-newkey', 'ed25519']);
  csrs.p521 = opensslCsr('p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521']);
  csrs.sha1 = opensslCsr('sha1', ['-newkey', 'rsa:2048'], ['-sha1']);
  csrs.pss = opensslCsr('pss', ['-newkey', 'rsa:2048'], ['-sigopt', 'rsa_padding_mode:pss']);
  csrs.withSan = opensslCsr(
    'admin',
    ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    ['-addext', 'subjectAltName=DNS:bank.example', '-addext', 'basicConstraints=critical,CA:TRUE'],
  );
});
afterAll(() => tmp.cleanup());

describe('parseAndVerifyCsr on openssl-made requests', () => {
  it.each(['p256', 'p384', 'rsa2048', 'ed25519'])("%s: verifies and returns openssl's public key and subject", (kt) => {
    const c = csrs[kt]!;
    const parsed = parseAndVerifyCsr(c.pem);
    expect(parsed.publicKeyInfo.equals(c.spki)).toBe(true);
    expect(keyTypeOfSpki(parsed.publicKeyInfo)).toBe(kt);
    expect(decodeName(parsed.subject).text).toBe(`O=Requester, CN=${kt}`);
  });

  it('accepts DER as well as PEM', () => {
    const der = pemOrDer(csrs.p256!.pem, ['CERTIFICATE REQUEST']);
    expect(parseAndVerifyCsr(der).publicKeyInfo.equals(csrs.p256!.spki)).toBe(true);
    expect(parseAndVerifyCsr(new Uint8Array(der)).publicKeyInfo.equals(csrs.p256!.spki)).toBe(true);
  });

  it('a P-521 request verifies, but its key is no certified key type', () => {
    const parsed = parseAndVerifyCsr(csrs.p521!.pem);
    expect(codeOf(() => keyTypeOfSpki(parsed.publicKeyInfo))).toBe('ACA_ERR_INPUT_PUBLIC_KEY_INVALID');
  });
});

describe('tampered requests: INPUT_CSR_SIGNATURE', () => {
  const der = () => Buffer.from(pemOrDer(csrs.rsa2048!.pem, ['CERTIFICATE REQUEST']));

  it('a flipped bit in the signature', () => {
    const d = der();
    d[d.length - 1]! ^= 0x01;
    expect(codeOf(() => parseAndVerifyCsr(d))).toBe('ACA_ERR_INPUT_CSR_SIGNATURE');
  });

  it('a changed subject (CN rsa2048 -> rsa2049)', () => {
    const d = der();
    const at = d.indexOf(Buffer.from('rsa2048'));
    expect(at).toBeGreaterThan(0);
    d[at + 6] = '9'.charCodeAt(0);
    expect(codeOf(() => parseAndVerifyCsr(d))).toBe('ACA_ERR_INPUT_CSR_SIGNATURE');
    // openssl agrees that this request no longer verifies.
    const f = tmp.file('tampered.der', d);
    const r = openssl(['req', '-inform', 'DER', '-in', f, '-verify', '-noout']);
    expect(r.stdout + r.stderr).toMatch(/verify failure/);
  });

  it('SHA-1 and RSA-PSS signatures are refused even though they verify', () => {
    for (const name of ['sha1', 'pss']) {
      const f = tmp.file(`${name}.csr`, csrs[name]!.pem);
      const r = openssl(['req', '-in', f, '-verify', '-noout']);
      expect(r.stdout + r.stderr).toMatch(/verify OK/);
      let err: unknown;
      try {
        parseAndVerifyCsr(csrs[name]!.pem);
      } catch (e) {
        err = e;
      }
      expect((err as AgentCaError).code).toBe('ACA_ERR_INPUT_CSR_SIGNATURE');
      expect((err as AgentCaError).message).toMatch(/unsupported algorithm 1\.2\.840\.113549\.1\.1\.(5|10)/);
    }
  });
});

describe('not a request: INPUT_CSR_INVALID', () => {
  const der = () => Buffer.from(pemOrDer(csrs.p256!.pem, ['CERTIFICATE REQUEST']));
  it.each([
    ['garbage bytes', () => Buffer.from('garbage, not DER at all')],
    ['an empty buffer', () => Buffer.alloc(0)],
    ['truncated DER', () => der().subarray(0, 60)],
    ['trailing bytes', () => Buffer.concat([der(), Buffer.from([0])])],
    ['a PEM block with another label', () => csrs.p256!.pem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE')],
    ['a string that is not PEM', () => 'MIIBxyz not pem'],
    [
      'a PEM block that is not base64',
      () => '-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n',
    ],
    [
      'a certificate request with version 2',
      () => {
        const d = der();
        // CertificationRequestInfo's INTEGER 0 is the first INTEGER in the request.
        const at = d.indexOf(Buffer.from([0x02, 0x01, 0x00]));
        d[at + 2] = 1;
        return d;
      },
    ],
  ])('%s', (_what, input) => {
    expect(codeOf(() => parseAndVerifyCsr(input()))).toBe('ACA_ERR_INPUT_CSR_INVALID');
  });
});

describe('the CA decides what the certificate says', () => {
  it('ignores the requested subject, SAN and CA flag; keeps only the verified key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-ca-csr-ca-'));
    const a = new Authority({ dataDir: dir, store: await createMemoryStore(), clock: new FixedClock(NOW) });
    try {
      await a.init({ keyType: 'p256' });
      const issued = await a.issue({ agentId: 'csr-bot', organization: 'Example Operator', csr: csrs.withSan!.pem });
      const d = describeCertificate(issued.der);
      expect(d.subject).toBe('O=Example Operator, CN=csr-bot');
      expect(d.subjectAltNames).toEqual({ dns: ['csr-bot.agents.example'], uri: [] });
      expect(d.basicConstraints).toEqual({ ca: false });
      expect(d.keyType).toBe('p256');
      const certKey = openssl(['x509', '-pubkey', '-noout'], { input: issued.pem }).stdout;
      const csrKey = openssl(['req', '-pubkey', '-noout'], { input: csrs.withSan!.pem }).stdout;
      expect(certKey).toBe(csrKey);
    } finally {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
