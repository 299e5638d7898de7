/**
 * Every artifact through parsers other than openssl, as the counterparties that refused the
 * 2.25 arc would read it:
 * - every vector certificate: GnuTLS `certtool --certificate-info`, pyca/cryptography
 *   (`load_*_x509_certificate`, `.extensions` lists our four OIDs), Go `crypto/x509`, and pkijs
 *   `Certificate.fromBER` in process, each giving the same fields as our own parser and the
 *   manifest; pkijs re-encodes every certificate to the identical bytes;
 * - a certificate from `agent-ca issue` with every agent extension;
 * - full and delta CRLs and OCSP responses (good, revoked) from the running server: certtool
 *   `--crl-info`, ocsptool `--response-info`, pyca `load_der_x509_crl` and
 *   `ocsp.load_der_ocsp_response`, Go `x509.ParseRevocationList`;
 * - a certificate under the legacy 2.25 arc, which Go, GnuTLS and pyca must refuse.
 * With CI=true a missing parser fails the run; locally it skips with a message.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate, type ParsedCertificate } from '../../src/asn1/certificate-parse.js';
import { decodeName } from '../../src/asn1/name.js';
import { agentExtensionOids, LEGACY_AGENT_CA_ARC } from '../../src/asn1/oids.js';
import { pemOrDer } from '../../src/asn1/pem.js';
import { runCli } from '../../src/cli/main.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { startTestCa, type TestCa } from '../helpers/ca-server.js';
import { issueUnderLegacyArc } from '../helpers/legacy-arc.js';
import {
  certtool,
  certtoolAvailability,
  goAvailability,
  goParse,
  pyca,
  pycaAvailability,
  requireParsers,
} from '../helpers/second-parsers.js';

const VECTORS = join(import.meta.dirname, '..', '..', 'vectors');
const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as {
  extensionOids: Record<string, string>;
  vectors: { file: string; kind: string; profile?: string; serial?: string; notBefore?: string; notAfter?: string }[];
};
const certVectors = manifest.vectors.filter((v) => v.kind === 'certificate');
const OUR_OIDS = Object.values(agentExtensionOids());
const isAgent = (profile?: string) => profile === 'agent' || profile === 'agent-high-risk';

const haveCerttool = requireParsers('the GnuTLS certtool checks', certtoolAvailability());
const havePyca = requireParsers('the pyca/cryptography checks', pycaAvailability());
const haveGo = requireParsers('the Go crypto/x509 checks', goAvailability());
const goCache = mkdtempSync(join(tmpdir(), 'agent-ca-gocache-'));
afterAll(() => rmSync(goCache, { recursive: true, force: true }));

function der(file: string): Buffer {
  return pemOrDer(readFileSync(file), ['CERTIFICATE']);
}

/** Our parser's view, in the shape the other parsers are compared with. */
function ours(p: ParsedCertificate) {
  return {
    serial: p.serial.replace(/^0+(?=.)/, ''),
    notBefore: p.notBefore.toISOString(),
    notAfter: p.notAfter.toISOString(),
    extensions: p.extensions.map((e) => ({ oid: e.oid, critical: e.critical })),
  };
}

describe('vector certificates', () => {
  it('there are vectors, and agent certificates carry all four of our OIDs', () => {
    expect(certVectors.length).toBeGreaterThan(90);
    expect(Object.values(manifest.extensionOids).sort()).toEqual([...OUR_OIDS].sort());
  });

  it.runIf(haveCerttool)('GnuTLS certtool reads every one', () => {
    for (const v of certVectors) {
      const r = certtool(['--certificate-info', '--infile', join(VECTORS, v.file)]);
      expect(r.status, `${v.file}: ${r.stderr}`).toBe(0);
      expect(r.stderr + r.stdout, v.file).not.toMatch(/error/i);
      const serial = ours(parseCertificate(der(join(VECTORS, v.file)))).serial;
      expect(r.stdout.replace(/[\s:]/g, '').toLowerCase(), v.file).toContain(serial);
      if (isAgent(v.profile))
        for (const o of OUR_OIDS) expect(r.stdout, `${v.file} ${o}`).toContain(`Unknown extension ${o} (not critical)`);
    }
  });

  it.runIf(havePyca)('pyca/cryptography reads every one with the same fields', () => {
    const got = pyca(certVectors.map((v) => ({ path: join(VECTORS, v.file), kind: 'certificate' as const })));
    certVectors.forEach((v, i) => {
      const g = got[i]!;
      expect(g.error, v.file).toBeUndefined();
      const o = ours(parseCertificate(der(join(VECTORS, v.file))));
      expect(
        {
          serial: g.serial,
          notBefore: g.notBefore.replace(/Z$/, '.000Z'),
          notAfter: g.notAfter.replace(/Z$/, '.000Z'),
          extensions: g.extensions,
        },
        v.file,
      ).toEqual(o);
      expect(g.version).toBe('v3');
      if (v.serial) expect(g.serial).toBe(v.serial.replace(/^0+(?=.)/, ''));
      if (v.notAfter) expect(g.notAfter.replace(/Z$/, '.000Z')).toBe(v.notAfter);
      if (isAgent(v.profile))
        expect(g.extensions.map((e: { oid: string }) => e.oid)).toEqual(expect.arrayContaining(OUR_OIDS));
      if (v.profile === 'intermediate') expect(g.basicConstraints).toEqual({ ca: true, pathLen: 0 });
    });
  });

  it.runIf(haveGo)(
    'Go crypto/x509 reads every one with the same fields',
    () => {
      const got = goParse(
        certVectors.map((v) => ({ path: join(VECTORS, v.file), kind: 'cert' as const })),
        goCache,
      );
      certVectors.forEach((v, i) => {
        const g = got[i]!;
        expect(g.error, v.file).toBeUndefined();
        const o = ours(parseCertificate(der(join(VECTORS, v.file))));
        expect(
          {
            serial: g.serial,
            notBefore: g.notBefore.replace(/Z$/, '.000Z'),
            notAfter: g.notAfter.replace(/Z$/, '.000Z'),
            extensions: g.extensions,
          },
          v.file,
        ).toEqual(o);
        expect(g.unhandledCritical, v.file).toBe(0);
        expect(g.isCA, v.file).toBe(v.profile === 'root' || v.profile === 'intermediate');
      });
    },
    240_000,
  );

  it('pkijs Certificate.fromBER reads every one with the same fields and re-encodes the same bytes', () => {
    for (const v of certVectors) {
      const bytes = der(join(VECTORS, v.file));
      const p = parseCertificate(bytes);
      const c = pkijs.Certificate.fromBER(bytes);
      const serial = Buffer.from(c.serialNumber.valueBlock.valueHexView)
        .toString('hex')
        .replace(/^0+(?=.)/, '');
      expect(
        {
          serial,
          notBefore: c.notBefore.value.toISOString(),
          notAfter: c.notAfter.value.toISOString(),
          extensions: (c.extensions ?? []).map((e) => ({ oid: e.extnID, critical: e.critical })),
        },
        v.file,
      ).toEqual(ours(p));
      expect(c.version).toBe(2);
      expect(c.signatureAlgorithm.algorithmId).toBe(p.signatureAlgorithmOid);
      for (const e of c.extensions ?? [])
        expect(
          Buffer.from(e.extnValue.valueBlock.valueHexView).equals(p.extensions.find((x) => x.oid === e.extnID)!.value),
          `${v.file} ${e.extnID}`,
        ).toBe(true);
      const subject = Object.fromEntries(
        c.subject.typesAndValues.map((t) => [t.type, String(t.value.valueBlock.value)]),
      );
      expect(subject['2.5.4.3']).toBe(decodeName(p.subject).spec.commonName);
      expect(subject['2.5.4.10']).toBe(decodeName(p.subject).spec.organization);
      expect(Buffer.from(c.toSchema(true).toBER()).equals(bytes), `${v.file} re-encoded by pkijs`).toBe(true);
    }
  });
});

/** The CRLNumber a CRL response carries in its ETag ("<issuer>-<number>"). */
function crlNumber(res: Response): bigint {
  return BigInt(res.headers.get('etag')!.match(/-(\d+)"$/)![1]!);
}

describe('what the CA serves', () => {
  let ca: TestCa;
  let tmp: string;
  let agentFile: string;
  const files: { path: string; kind: 'crl' | 'ocsp' }[] = [];
  let goodSerial = '';
  let revokedSerial = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'agent-ca-parsers-'));
    // `agent-ca issue` with every agent extension, through the CLI.
    const data = join(tmp, 'data');
    agentFile = join(tmp, 'full.pem');
    const io = { out: () => {}, err: () => {}, env: { AGENT_CA_DATA: data } };
    expect(await runCli(['init', '--org', 'Example Operator'], io)).toBe(0);
    const key = join(tmp, 'full.key');
    const args = [
      'issue',
      '--agent-id',
      'full-bot',
      '--scope',
      'read:accounts,write:payments,read:/data/raw/*',
      '--max-tx',
      '50000:USD',
      '--markets',
      'XNAS,EUR_USD',
      '--revocation-timeout',
      '60',
    ];
    args.push(
      '--model-hash',
      `sha256:${'ab'.repeat(32)}`,
      '--tenant',
      'acme',
      '--env',
      'staging',
      '--instance-id',
      'inst-42',
      '--generate-key',
      key,
      '--out',
      agentFile,
    );
    expect(await runCli(args, io)).toBe(0);

    ca = await startTestCa();
    const good = await ca.issueAgent('good-bot', { scope: ['read:accounts'] });
    const bad = await ca.issueAgent('bad-bot', { scope: ['read:accounts'] });
    goodSerial = good.serial;
    revokedSerial = bad.serial;
    const fetchCrl = async (url: string) => fetch(`${ca.url}${url}`, { signal: AbortSignal.timeout(10_000) });
    const save = async (name: string, res: Response) => {
      expect(res.status, name).toBe(200);
      writeFileSync(join(tmp, name), Buffer.from(await res.arrayBuffer()));
      files.push({ path: join(tmp, name), kind: 'crl' });
    };
    const fullBefore = crlNumber(await fetchCrl('/crl/intermediate.crl'));
    await ca.authority.revoke(bad.serial, { reason: 'keyCompromise' });
    // A change re-publishes the full CRL within seconds while it is small (debounced): wait,
    // bounded, for one newer than before the revocation; the delta then rests on it.
    const deadline = Date.now() + 15_000;
    let full = await fetchCrl('/crl/intermediate.crl');
    while (crlNumber(full) <= fullBefore) {
      if (Date.now() > deadline) throw new Error('no fresh full CRL within 15 s');
      await new Promise((r) => setTimeout(r, 100));
      full = await fetchCrl('/crl/intermediate.crl');
    }
    await save('full.crl', full);
    await save('delta.crl', await fetchCrl('/crl/intermediate-delta.crl'));
    await save('root.crl', await fetchCrl('/crl/root.crl'));
    const inter = parseCertificate(ca.authority.ca('intermediate').certificate.der);
    for (const [name, serial] of [
      ['good.ocsp', good.serial],
      ['revoked.ocsp', bad.serial],
    ] as const) {
      const body = ocspRequestDer(
        certIdFor(
          { subjectDer: inter.subject, publicKeyInfo: inter.publicKeyInfo },
          Buffer.from(serial, 'hex'),
          'sha256',
        ),
      );
      const res = await fetch(`${ca.url}/ocsp`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/ocsp-request' },
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status, name).toBe(200);
      writeFileSync(join(tmp, name), Buffer.from(await res.arrayBuffer()));
      files.push({ path: join(tmp, name), kind: 'ocsp' });
    }
  });
  afterAll(async () => {
    await ca?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it.runIf(haveCerttool)('GnuTLS ocsptool reads the OCSP responses', () => {
    for (const [f, status] of [
      [files[3]!, 'good'],
      [files[4]!, 'revoked'],
    ] as const) {
      const r = certtool(['--response-info', '--infile', f.path], 'ocsptool');
      expect(r.status, `${f.path}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/Response Status: Successful/);
      expect(r.stdout).toMatch(new RegExp(`Certificate Status: ${status}`));
      expect(r.stdout.replace(/\s/g, '').toLowerCase()).toContain(
        (status === 'good' ? goodSerial : revokedSerial).replace(/^0+/, ''),
      );
    }
  });

  it.runIf(haveCerttool)('certtool reads the `agent-ca issue` certificate with every extension, and the CRLs', () => {
    const r = certtool(['--certificate-info', '--infile', agentFile]);
    expect(r.status, r.stderr).toBe(0);
    for (const o of OUR_OIDS) expect(r.stdout).toContain(`Unknown extension ${o} (not critical)`);
    for (const f of files.filter((x) => x.kind === 'crl')) {
      const c = certtool(['--crl-info', '--inder', '--infile', f.path]);
      expect(c.status, `${f.path}: ${c.stderr}`).toBe(0);
      expect(c.stderr + c.stdout).not.toMatch(/error/i);
      if (f.path.endsWith('full.crl'))
        expect(c.stdout.replace(/[\s:]/g, '').toLowerCase(), f.path).toContain(revokedSerial.replace(/^0+/, ''));
    }
  });

  it.runIf(havePyca)('pyca/cryptography reads the certificate, both CRLs and the OCSP responses', () => {
    const [cert, full, delta, root, good, revoked] = pyca([{ path: agentFile, kind: 'certificate' }, ...files]);
    expect(cert!.error).toBeUndefined();
    expect(cert!.extensions.map((e: { oid: string }) => e.oid)).toEqual(expect.arrayContaining(OUR_OIDS));
    for (const c of [full, delta, root]) expect(c!.error).toBeUndefined();
    const rev = (c: Record<string, any>) =>
      c.revoked.find((r: { serial: string }) => r.serial === revokedSerial.replace(/^0+/, ''));
    expect(rev(full!)).toEqual({ serial: revokedSerial.replace(/^0+/, ''), reason: 'key_compromise' });
    expect(full!.extensions.map((e: { oid: string }) => e.oid)).toContain('2.5.29.20'); // cRLNumber
    expect(delta!.extensions.map((e: { oid: string }) => e.oid)).toContain('2.5.29.27'); // deltaCRLIndicator
    expect(good).toMatchObject({
      responseStatus: 'SUCCESSFUL',
      certificateStatus: 'GOOD',
      serial: goodSerial.replace(/^0+/, ''),
    });
    expect(revoked).toMatchObject({
      responseStatus: 'SUCCESSFUL',
      certificateStatus: 'REVOKED',
      revocationReason: 'key_compromise',
      serial: revokedSerial.replace(/^0+/, ''),
    });
  });

  it.runIf(haveGo)(
    'Go crypto/x509 reads the `agent-ca issue` certificate and the CRLs',
    () => {
      const crls = files.filter((f) => f.kind === 'crl');
      const [cert, ...lists] = goParse(
        [{ path: agentFile, kind: 'cert' }, ...crls.map((f) => ({ path: f.path, kind: 'crl' as const }))],
        goCache,
      );
      expect(cert!.error).toBeUndefined();
      expect(cert!.extensions.map((e: { oid: string }) => e.oid)).toEqual(expect.arrayContaining(OUR_OIDS));
      for (const l of lists) expect(l.error).toBeUndefined();
      expect(lists[0]!.revoked).toContain(revokedSerial.replace(/^0+/, ''));
    },
    240_000,
  );

  it('every parser that refused the legacy 2.25 arc still refuses it: the checks above would catch a regression', async () => {
    const legacy = await issueUnderLegacyArc(
      ca.authority,
      { agentId: 'legacy-bot', scope: ['read:accounts'] },
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey,
    );
    const file = join(tmp, 'legacy.pem');
    writeFileSync(file, legacy.pem);
    if (haveCerttool)
      expect(certtool(['--certificate-info', '--infile', file]).stderr).toMatch(/ASN1 parser: Error in DER parsing/);
    if (havePyca) expect(pyca([{ path: file, kind: 'certificate' }])[0]!.error).toMatch(/ParseError/);
    if (haveGo)
      expect(goParse([{ path: file, kind: 'cert' }], goCache)[0]!.error).toMatch(/malformed extension OID field/);
    // pkijs (asn1js) does not refuse it, but renders the 123-bit component as `{hex}` instead of
    // decimal, so no dotted-OID comparison matches: another reason for the 2^31 - 1 ceiling.
    const ids = pkijs.Certificate.fromBER(legacy.der).extensions!.map((e) => e.extnID);
    expect(ids).toHaveLength(parseCertificate(legacy.der).extensions.length);
    expect(ids).not.toContain(`${LEGACY_AGENT_CA_ARC}.1.2`);
  }, 240_000);

  it('pkijs reads the `agent-ca issue` certificate and re-encodes the same bytes', () => {
    const bytes = der(agentFile);
    const c = pkijs.Certificate.fromBER(bytes);
    expect((c.extensions ?? []).map((e) => e.extnID)).toEqual(expect.arrayContaining(OUR_OIDS));
    expect(Buffer.from(c.toSchema(true).toBER()).equals(bytes)).toBe(true);
  });
});
