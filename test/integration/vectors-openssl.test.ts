/**
 * vectors/ against the openssl binary and the library: every valid certificate chains with
 * `openssl verify -x509_strict` for its purpose, `openssl x509 -text` lists our extensions,
 * `openssl asn1parse -strparse` of each agent extension yields exactly the DER our codecs
 * write for the manifest's values; every refused vector is still refused by the library with
 * the code and lint the manifest records; and the generator reproduces the manifest's shape.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeVectors,
  openVectorAuthority,
  refusal,
  requestFromStored,
  type StoredRequest,
  type VectorEntry,
  type VectorManifest,
} from '../../scripts/make-vectors.js';
import { parseCertificate } from '../../src/asn1/certificate-parse.js';
import { agentExtensionCodecs, decodeAgentExtensions } from '../../src/asn1/extensions/index.js';
import { pemOrDer, toPem } from '../../src/asn1/pem.js';
import type { Authority } from '../../src/authority/authority.js';
import type { KeyType } from '../../src/types.js';
import { mapLimit, openssl, opensslAsync, parseAsn1, tempDir, unixTime, type TempDir } from '../helpers/openssl.js';

const VECTORS = fileURLToPath(new URL('../../vectors/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as VectorManifest;
const path = (rel: string) => join(VECTORS, rel);
const AGENT_PROFILES = new Set(['agent', 'agent-high-risk']);

const certificates = manifest.vectors.filter((v) => v.kind === 'certificate');
const agents = certificates.filter((v) => AGENT_PROFILES.has(v.profile));
const refused = manifest.vectors.filter((v) => v.expect === 'refused');
const OIDS = manifest.extensionOids;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** `openssl verify` of several files at once; returns file -> that file's result line. */
async function verifyBatch(
  files: string[],
  chain: VectorEntry['chain'],
  purpose: string,
  at: string,
): Promise<{ status: number; lines: Map<string, string>; stdout: string; stderr: string }> {
  const r = await opensslAsync(
    [
      'verify',
      '-x509_strict',
      '-purpose',
      purpose,
      '-attime',
      String(unixTime(at)),
      '-CAfile',
      chain.root,
      '-untrusted',
      chain.intermediate,
      ...files,
    ],
    { cwd: VECTORS },
  );
  const lines = new Map<string, string>();
  for (const l of r.stdout.split('\n')) {
    const i = l.lastIndexOf(': ');
    if (i > 0) lines.set(l.slice(0, i), l.slice(i + 2));
  }
  return { status: r.status, lines, stdout: r.stdout, stderr: r.stderr };
}

describe('vectors/manifest.json', () => {
  it('covers every CA key type x agent profile x agent key type, plus refused cases', () => {
    const kts: KeyType[] = ['rsa2048', 'rsa3072', 'rsa4096', 'p256', 'p384', 'ed25519'];
    for (const ca of kts) {
      for (const f of ['root', 'intermediate', 'ocsp-root', 'ocsp-intermediate'])
        expect(certificates.some((v) => v.file === `ca-${ca}/${f}.pem`)).toBe(true);
      for (const profile of AGENT_PROFILES)
        for (const kt of kts)
          expect(
            agents.some((v) => v.file === `ca-${ca}/${profile}/${kt}.pem` && v.profile === profile && v.keyType === kt),
          ).toBe(true);
    }
    expect(refused.filter((v) => v.kind === 'csr-refused').length).toBeGreaterThanOrEqual(6);
    expect(refused.filter((v) => v.kind === 'request-refused').length).toBeGreaterThanOrEqual(10);
    for (const v of refused) {
      expect(v.errorCode).toMatch(/^ACA_ERR_[A-Z0-9_]+$/);
      // A lint is named exactly when a lint refused the request.
      expect(v.lint !== undefined).toBe(v.errorCode === 'ACA_ERR_LINT_FAILED');
    }
    for (const v of manifest.vectors) {
      expect(statSync(path(v.file)).isFile()).toBe(true);
      expect(Number.isNaN(new Date(v.verifyAt).getTime())).toBe(false);
    }
  });

  it('stays small and holds no private key', () => {
    const files = filesUnder(VECTORS);
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(total).toBeLessThan(2 * 1024 * 1024);
    for (const f of files) expect(readFileSync(f, 'latin1'), relative(VECTORS, f)).not.toMatch(/PRIVATE KEY/);
  });
});

describe('openssl verify', () => {
  const chains = [...new Set(certificates.map((v) => v.caKeyType))];

  it.each(chains)('ca-%s: agents chain for sslclient, responders for ocsphelper, CAs for crlsign', async (ca) => {
    const mine = certificates.filter((v) => v.caKeyType === ca);
    const chain = mine[0]!.chain;
    const groups: [string, VectorEntry[]][] = [
      ['sslclient', mine.filter((v) => AGENT_PROFILES.has(v.profile))],
      ['ocsphelper', mine.filter((v) => v.profile === 'ocsp-responder')],
      ['crlsign', mine.filter((v) => v.profile === 'root' || v.profile === 'intermediate')],
    ];
    for (const [purpose, vs] of groups) {
      expect(vs.length).toBeGreaterThan(0);
      for (const at of new Set(vs.map((v) => v.verifyAt))) {
        const files = vs.filter((v) => v.verifyAt === at).map((v) => v.file);
        const r = await verifyBatch(files, chain, purpose, at);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        for (const f of files) expect(r.lines.get(f), `${f} (${purpose})`).toBe('OK');
      }
    }
  });

  it('an agent certificate is not accepted for a purpose it was not issued for', async () => {
    const v = agents.find((a) => a.caKeyType === 'p256' && a.keyType === 'p256')!;
    const r = await verifyBatch([v.file], v.chain, 'sslserver', v.verifyAt);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/unsuitable certificate purpose/);
  });

  it('the 365-day boundary certificate: exactly 365 days inclusive, openssl accepts it over that window', async () => {
    const v = agents.find((a) => a.file.endsWith('boundary/agent-365-days.pem'))!;
    const nb = new Date(v.notBefore!).getTime();
    const na = new Date(v.notAfter!).getTime();
    expect(na - nb + 1000).toBe(365 * 86_400_000);
    const at = (ms: number) => verifyBatch([v.file], v.chain, 'sslclient', new Date(ms).toISOString());
    expect((await at(nb)).lines.get(v.file)).toBe('OK');
    // OpenSSL 3.0's X509_cmp_time counts "equal" as "earlier", so it treats notAfter itself as
    // expired (RFC 5280 §4.1.2.5 makes it inclusive); one second before is the last OK instant.
    expect((await at(na - 1000)).lines.get(v.file)).toBe('OK');
    const after = await at(na + 1000);
    expect(after.status).not.toBe(0);
    expect(after.stdout + after.stderr).toMatch(/certificate has expired/);
    const before = await at(nb - 1000);
    expect(before.stdout + before.stderr).toMatch(/certificate is not yet valid/);
  });
});

describe('openssl x509 -text', () => {
  it('every certificate has the serial and dates of the manifest; agents list our four extension OIDs, others none', async () => {
    const ours = Object.values(OIDS);
    await mapLimit(certificates, 4, async (v) => {
      const r = await opensslAsync(['x509', '-noout', '-serial', '-dates', '-text', '-in', v.file], { cwd: VECTORS });
      expect(r.status, v.file).toBe(0);
      const out = r.stdout;
      const text = (oid: string) => new RegExp(`^\\s+${oid.replace(/\./g, '\\.')}: ?$`, 'm').test(out);
      if (AGENT_PROFILES.has(v.profile)) {
        for (const oid of ours) expect(text(oid), `${v.file} lists ${oid}`).toBe(true);
        expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\s*\n/);
        expect(out).toMatch(/X509v3 Extended Key Usage: ?\s+TLS Web Client Authentication\s*\n/);
        expect(out).toContain(`Subject: O = ${manifest.agentOperator}, CN = ${v.agentId}`);
        expect(out).toMatch(/X509v3 Subject Alternative Name: ?\s+DNS:[a-z0-9.-]+\.agents\.example/);
        expect(out).toContain('CA:FALSE');
        expect(out).toMatch(/X509v3 Freshest CRL/);
        expect(out).toMatch(/OCSP - URI:http/);
        expect(out.match(/^serial=([0-9A-F]+)$/m)?.[1]?.toLowerCase()).toBe(v.serial);
        expect(new Date(out.match(/^notAfter=(.+)$/m)![1]!).toISOString()).toBe(v.notAfter);
        expect(new Date(out.match(/^notBefore=(.+)$/m)![1]!).toISOString()).toBe(v.notBefore);
      } else {
        for (const oid of ours) expect(text(oid), `${v.file} must not carry ${oid}`).toBe(false);
        if (v.profile === 'ocsp-responder') {
          expect(out).toMatch(/Extended Key Usage: ?\s+OCSP Signing\s*\n/);
          expect(out).toContain('OCSP No Check');
        } else {
          expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
          expect(out).toMatch(/Certificate Sign, CRL Sign/);
        }
      }
    });
  });
});

describe('openssl asn1parse -strparse of each agent extension', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('yields exactly the DER our codecs write for the manifest values, non-critical', async () => {
    const codecs = agentExtensionCodecs(OIDS);
    let n = 0;
    await mapLimit(agents, 4, async (v) => {
      const values = v.agent!;
      const expected = {
        agentPolicy: codecs.agentPolicy.encode(values.policy),
        agentScope: codecs.agentScope.encode(values.scope),
        modelHash: codecs.modelHash.encode({
          algorithm: values.modelHash.algorithm,
          digest: Buffer.from(values.modelHash.digest, 'hex'),
        }),
        agentContext: codecs.agentContext.encode(values.context),
      };
      const top = await opensslAsync(['asn1parse', '-in', v.file], { cwd: VECTORS });
      expect(top.status, v.file).toBe(0);
      const lines = parseAsn1(top.stdout);
      for (const [name, oid] of Object.entries(OIDS) as [keyof typeof OIDS, string][]) {
        const i = lines.findIndex((l) => l.type === 'OBJECT' && l.value === oid);
        expect(i, `${v.file} has ${name}`).toBeGreaterThan(0);
        // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }: no BOOLEAN = non-critical.
        const octets = lines[i + 1]!;
        expect(octets.type, `${v.file} ${name} is non-critical`).toMatch(/^OCTET STRING/);
        const out = join(tmp.dir, `ext-${++n}.der`);
        const inner = await opensslAsync(
          ['asn1parse', '-in', v.file, '-strparse', String(octets.offset), '-out', out],
          { cwd: VECTORS },
        );
        expect(inner.status, `${v.file} ${name}`).toBe(0);
        expect(readFileSync(out).equals(expected[name]), `${v.file} ${name} DER`).toBe(true);
        const parsed = parseAsn1(inner.stdout);
        const strings = (t: string) => parsed.filter((l) => l.type === t).map((l) => l.value);
        switch (name) {
          case 'agentScope':
            expect(strings('UTF8STRING')).toEqual(values.scope);
            break;
          case 'agentPolicy':
            expect(strings('PRINTABLESTRING')).toEqual([
              values.policy.maxTransactionSize!.amount,
              values.policy.maxTransactionSize!.currency,
            ]);
            expect(strings('UTF8STRING')).toEqual(values.policy.allowedMarkets);
            expect(parsed.map((l) => l.type)).toContain('cont [ 2 ]');
            break;
          case 'modelHash':
            expect(strings('OBJECT')).toEqual([values.modelHash.algorithm]);
            expect(parsed.find((l) => l.type.startsWith('OCTET STRING'))!.value.toLowerCase()).toBe(
              values.modelHash.digest,
            );
            break;
          case 'agentContext':
            expect(strings('UTF8STRING')).toEqual([
              values.context.tenantId,
              values.context.environment,
              values.context.agentInstanceId,
            ]);
            break;
        }
      }
      // And our own decoder reads back the same values from the certificate.
      const decoded = decodeAgentExtensions(
        parseCertificate(pemOrDer(readFileSync(path(v.file)), ['CERTIFICATE'])).extensions,
        OIDS,
      );
      expect(decoded.parseErrors).toEqual([]);
      expect(decoded.agentScope).toEqual(values.scope);
      expect(decoded.agentPolicy).toEqual(values.policy);
      expect(decoded.agentContext).toEqual(values.context);
      expect(Buffer.from(decoded.modelHash!.digest).toString('hex')).toBe(values.modelHash.digest);
    });
    expect(n).toBe(agents.length * 4);
  });
});

describe('CSRs', () => {
  it('openssl agrees with each CSR vector about its self-signature', async () => {
    const csrFiles = [...new Set(manifest.vectors.flatMap((v) => (v.csr ? [v.csr] : [])))];
    expect(csrFiles.length).toBeGreaterThan(6);
    await mapLimit(csrFiles, 4, async (f) => {
      const entry = refused.find((v) => v.file === f);
      const want = entry?.csrSignature ?? 'verifies';
      const r = await opensslAsync(['req', '-verify', '-noout', '-in', f], { cwd: VECTORS });
      const said = `${r.stdout}${r.stderr}`;
      if (want === 'verifies') expect(said, f).toMatch(/verify OK/);
      if (want === 'fails') expect(said, f).toMatch(/verify failure/);
      if (want === 'unparseable') expect(r.status, f).not.toBe(0);
      if (want !== 'verifies') expect(said, f).not.toMatch(/verify OK/);
    });
  });

  it('a certificate issued from a CSR certifies the CSR public key openssl reads from it', async () => {
    const fromCsr = agents.filter((v) => v.csr);
    expect(fromCsr.length).toBeGreaterThan(0);
    const keys = new Map<string, string>();
    for (const f of new Set(fromCsr.map((v) => v.csr!))) {
      const r = openssl(['req', '-pubkey', '-noout', '-in', f], { cwd: VECTORS });
      expect(r.status).toBe(0);
      keys.set(f, r.stdout);
    }
    for (const v of fromCsr) {
      const spki = parseCertificate(pemOrDer(readFileSync(path(v.file)), ['CERTIFICATE'])).publicKeyInfo;
      expect(toPem(spki, 'PUBLIC KEY'), v.file).toBe(keys.get(v.csr!));
    }
  });
});

describe('refused vectors', () => {
  let tmp: TempDir;
  let authority: Authority;
  beforeAll(async () => {
    tmp = tempDir('agent-ca-vectors-refused-');
    authority = await openVectorAuthority(tmp.dir, 'p256');
  });
  afterAll(async () => {
    await authority.close();
    tmp.cleanup();
  });

  it.each(refused.map((v) => [v.file, v] as const))('%s is refused with the manifest code and lint', async (_f, v) => {
    const stored: StoredRequest =
      v.kind === 'request-refused'
        ? (JSON.parse(readFileSync(path(v.file), 'utf8')) as StoredRequest)
        : { agentId: v.agentId!, organization: manifest.agentOperator, csrFile: v.file };
    const got = await refusal(
      authority,
      requestFromStored(stored, (rel) => readFileSync(path(rel))),
    );
    expect(got.code).toBe(v.errorCode);
    expect(got.lints).toEqual(v.lint ? [v.lint] : []);
  });
});

describe('regeneration', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir('agent-ca-vectors-regen-');
  });
  afterAll(() => tmp.cleanup());

  /** What must not change between runs: everything but the random serials. */
  const shape = (v: VectorEntry) => {
    const { serial, ...rest } = v;
    expect(serial === undefined || /^[0-9a-f]{32,34}$/.test(serial)).toBe(true);
    return rest;
  };

  it('makeVectors reproduces the committed manifest for a subset of key types, and openssl accepts the new files', async () => {
    const subset: KeyType[] = ['p256', 'ed25519'];
    const fresh = await makeVectors({ outDir: tmp.dir, caKeyTypes: subset, agentKeyTypes: subset });
    const inSubset = (v: VectorEntry) =>
      subset.includes(v.caKeyType) &&
      (v.kind !== 'certificate' || !AGENT_PROFILES.has(v.profile) || subset.includes(v.keyType as KeyType));
    expect(fresh.vectors.map(shape)).toEqual(manifest.vectors.filter(inSubset).map(shape));
    const { vectors: _v, ...head } = manifest;
    const { vectors: _f, ...freshHead } = fresh;
    expect(freshHead).toEqual(head);
    expect(JSON.parse(readFileSync(join(tmp.dir, 'manifest.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(fresh)));

    const freshAgents = fresh.vectors.filter(
      (v) => v.kind === 'certificate' && AGENT_PROFILES.has(v.profile) && v.caKeyType === 'ed25519',
    );
    const r = await opensslAsync(
      [
        'verify',
        '-x509_strict',
        '-purpose',
        'sslclient',
        '-attime',
        String(unixTime(freshAgents[0]!.verifyAt)),
        '-CAfile',
        'ca-ed25519/root.pem',
        '-untrusted',
        'ca-ed25519/intermediate.pem',
        ...freshAgents.map((v) => v.file),
      ],
      { cwd: tmp.dir },
    );
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(freshAgents.map((v) => `${v.file}: OK`));
    // Fresh keys and serials: the bytes differ from the committed ones.
    const committed = manifest.vectors.find((v) => v.file === freshAgents[0]!.file)!;
    expect(freshAgents[0]!.serial).not.toBe(committed.serial);
    expect(filesUnder(tmp.dir).some((f) => readFileSync(f, 'latin1').includes('PRIVATE KEY'))).toBe(false);
  });
});
