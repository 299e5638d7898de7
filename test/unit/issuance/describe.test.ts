/**
 * What `inspect` (describeCertificate) says about certificates we issue and foreign ones: the
 * RFC 5280 fields we write, our four agent extensions decoded, and undecodable agent
 * extensions recorded as parse errors instead of throwing (docs/architecture.md).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCertificate } from '../../../src/asn1/certificate-describe.js';
import { AgentOids } from '../../../src/asn1/oids.js';
import { pemOrDer } from '../../../src/asn1/pem.js';
import { Authority, type IssuedAgentCertificate } from '../../../src/authority/authority.js';
import { FixedClock } from '../../../src/clock.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { openssl, tempDir } from '../../helpers/openssl.js';
import { spki } from '../lint/tbs-fixtures.js';

const digest = createHash('sha256').update('model weights v2').digest();
let dir: string;
let a: Authority;
let issued: IssuedAgentCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-ca-describe-'));
  a = new Authority({ dataDir: dir, store: await createMemoryStore(), clock: new FixedClock('2026-01-01T00:00:00Z') });
  await a.init({ keyType: 'p256', config: { organization: 'Describe CA', baseUrl: 'https://ca.example' } });
  issued = await a.issue({
    agentId: 'trading-bot-v2',
    organization: 'Example Operator',
    publicKey: spki('rsa2048'),
    uris: ['spiffe://agents.example/trading-bot-v2'],
    dnsNames: ['trading-bot-v2.agents.example'],
    scope: ['read:accounts', 'write:payments'],
    policy: {
      maxTransactionSize: { amount: '50000', currency: 'USD' },
      allowedMarkets: ['EUR_USD'],
      revocationTimeoutSeconds: 60,
    },
    modelHash: { algorithm: 'sha256', digest },
    tenant: 'acme-corp',
    environment: 'staging',
    instanceId: 'i-42',
    profile: 'agent-high-risk',
  });
});
afterAll(async () => {
  await a.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('describeCertificate', () => {
  it('an agent certificate: standard fields and all four agent extensions', () => {
    const d = describeCertificate(issued.der);
    expect(d).toMatchObject({
      serial: issued.serial,
      subject: 'O=Example Operator, CN=trading-bot-v2',
      subjectFields: { organization: 'Example Operator', commonName: 'trading-bot-v2' },
      issuer: 'O=Describe CA, CN=Describe CA Agent Issuing CA',
      notBefore: '2025-12-31T23:55:00.000Z',
      notAfter: '2026-01-07T23:54:59.000Z',
      signatureAlgorithm: 'ecdsaWithSHA256',
      keyType: 'rsa2048',
      fingerprintSha256: createHash('sha256').update(issued.der).digest('hex'),
      basicConstraints: { ca: false },
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['clientAuth'],
      subjectAltNames: { dns: ['trading-bot-v2.agents.example'], uri: ['spiffe://agents.example/trading-bot-v2'] },
      crlDistributionPoints: ['https://ca.example/crl/intermediate.crl'],
      freshestCrl: ['https://ca.example/crl/intermediate-delta.crl'],
      ocsp: ['https://ca.example/ocsp'],
      caIssuers: ['https://ca.example/ca/intermediate.cer'],
      otherExtensions: [],
    });
    expect(d.ocspNoCheck).toBeUndefined();
    expect(d.agent).toEqual({
      parseErrors: [],
      agentScope: ['read:accounts', 'write:payments'],
      agentPolicy: {
        maxTransactionSize: { amount: '50000', currency: 'USD' },
        allowedMarkets: ['EUR_USD'],
        revocationTimeoutSeconds: 60,
      },
      modelHash: { algorithm: 'sha256', digest: digest.toString('hex') },
      agentContext: { tenantId: 'acme-corp', environment: 'staging', agentInstanceId: 'i-42' },
    });
    // JSON-safe: what `inspect` prints parses back to the same object.
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });

  it('CA and responder certificates', () => {
    const root = describeCertificate(a.ca('root').certificate.der);
    expect(root).toMatchObject({
      subject: 'O=Describe CA, CN=Describe CA Root CA',
      issuer: 'O=Describe CA, CN=Describe CA Root CA',
      basicConstraints: { ca: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
      keyType: 'p256',
    });
    expect(root.crlDistributionPoints).toBeUndefined();
    const inter = describeCertificate(a.ca('intermediate').certificate.der);
    expect(inter.basicConstraints).toEqual({ ca: true, pathLen: 0 });
    expect(inter.crlDistributionPoints).toEqual(['https://ca.example/crl/root.crl']);
    const responder = describeCertificate(a.ca('intermediate').responder.certificate.der);
    expect(responder).toMatchObject({ extendedKeyUsage: ['ocspSigning'], ocspNoCheck: true, issuer: inter.subject });
    expect(responder.agent).toEqual({ parseErrors: [] });
  });

  it('under another OID arc our extensions are just other extensions', () => {
    const d = describeCertificate(issued.der, '1.3.6.1.4.1.99999.7');
    expect(d.agent).toEqual({ parseErrors: [] });
    expect(d.otherExtensions).toEqual(Object.values(AgentOids).map((oid) => ({ oid, critical: false })));
  });

  it('a foreign certificate with a broken agent extension: recorded, not thrown', () => {
    const t = tempDir('agent-ca-describe-foreign-');
    try {
      const cert = t.file('foreign.pem', '');
      const r = openssl([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(t.dir, 'k.pem'),
        '-subj',
        '/CN=foreign',
        '-days',
        '1',
        '-addext',
        `${AgentOids.agentScope}=DER:0500`,
        '-addext',
        'subjectAltName=DNS:foreign.example',
        '-out',
        cert,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const d = describeCertificate(pemOrDer(openssl(['x509', '-in', cert]).stdout, ['CERTIFICATE']));
      expect(d.subject).toBe('CN=foreign');
      expect(d.subjectAltNames).toEqual({ dns: ['foreign.example'], uri: [] });
      expect(d.agent.agentScope).toBeUndefined();
      expect(d.agent.parseErrors).toEqual([
        expect.objectContaining({ oid: AgentOids.agentScope, name: 'agentScope', code: 'ACA_ERR_ASN1_DECODE' }),
      ]);
    } finally {
      t.cleanup();
    }
  });
});
