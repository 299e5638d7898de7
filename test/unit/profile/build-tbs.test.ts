/**
 * buildTbs: times (backdating, inclusive period), the extension set per profile kind, and the
 * exact bytes encodeTbs produces (parsed back with our parser and openssl-independent checks).
 */
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '../../../src/asn1/certificate-parse.js';
import { AgentOids, Oids } from '../../../src/asn1/oids.js';
import { agentScopeCodec } from '../../../src/asn1/extensions/index.js';
import { FixedClock } from '../../../src/clock.js';
import { assembleSigned } from '../../../src/issuance/certificate.js';
import { buildTbs, DAY_MS, extensionEntry } from '../../../src/profile/build-tbs.js';
import { encodeTbs } from '../../../src/profile/tbs.js';
import { keyIdentifier } from '../../../src/signer/public-key.js';
import { agentRequest, agentTbs, caTbs, issuingCa, NOW, spki } from '../lint/tbs-fixtures.js';

describe('validity times', () => {
  it('backdates notBefore by the profile backdateSeconds, floored to the second', () => {
    const t = agentTbs({}, { clock: new FixedClock('2026-03-01T12:00:00.750Z') });
    expect(t.notBefore.toISOString()).toBe('2026-03-01T11:55:00.000Z');
    expect(t.profile.backdateSeconds).toBe(300);
  });

  it('uses the profile default and ends one second before notBefore + N days', () => {
    const t = agentTbs();
    expect(t.profile.defaultValidityDays).toBe(90);
    expect(t.notAfter.getTime()).toBe(t.notBefore.getTime() + 90 * DAY_MS - 1000);
    const one = agentTbs({ validityDays: 1 });
    expect(one.notAfter.getTime() - one.notBefore.getTime()).toBe(DAY_MS - 1000);
  });

  it('a zero backdate profile starts at the current second', () => {
    const p = { ...agentRequest().profile, backdateSeconds: 0 };
    const t = buildTbs(agentRequest({ profile: p }), issuingCa(), new FixedClock('2026-03-01T12:00:00.999Z'));
    expect(t.notBefore.toISOString()).toBe('2026-03-01T12:00:00.000Z');
  });
});

describe('extension set per kind', () => {
  const names = (t: ReturnType<typeof agentTbs>) => t.extensions.map((e) => e.name);

  it('agent: BC, KU critical; EKU, SKI, AKI, SAN, CRL DP, Freshest CRL, AIA; then agent extensions', () => {
    const scope = extensionEntry('agentScope', AgentOids.agentScope, false, agentScopeCodec.encode(['read:accounts']));
    const t = agentTbs({ agentExtensions: [scope] });
    expect(names(t)).toEqual([
      'basicConstraints',
      'keyUsage',
      'extKeyUsage',
      'subjectKeyIdentifier',
      'authorityKeyIdentifier',
      'subjectAltName',
      'crlDistributionPoints',
      'freshestCRL',
      'authorityInfoAccess',
      'agentScope',
    ]);
    expect(t.extensions.filter((e) => e.critical).map((e) => e.name)).toEqual(['basicConstraints', 'keyUsage']);
    expect(t.facts).toMatchObject({
      ca: false,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      ocspNoCheck: false,
      agentId: 'trading-bot',
    });
    expect(t.facts.crlDistributionPoints).toEqual(['http://127.0.0.1:8080/crl/intermediate.crl']);
    expect(t.facts.freshestCrl).toEqual(['http://127.0.0.1:8080/crl/intermediate-delta.crl']);
    expect(t.facts.ocspUrls).toEqual(['http://127.0.0.1:8080/ocsp']);
    expect(t.facts.caIssuersUrls).toEqual(['http://127.0.0.1:8080/ca/intermediate.cer']);
  });

  it('root: self-signed, AKI = SKI, no revocation pointers, no EKU', () => {
    const t = caTbs('root');
    expect(t.selfSigned).toBe(true);
    expect(t.issuer.der.equals(t.subject.der)).toBe(true);
    expect(names(t)).toEqual(['basicConstraints', 'keyUsage', 'subjectKeyIdentifier', 'authorityKeyIdentifier']);
    expect(t.issuerKeyId!.equals(keyIdentifier(t.publicKeyInfo))).toBe(true);
    expect(t.signatureAlgorithm).toBe('ecdsaWithSHA384');
  });

  it('intermediate: pathLen 0 and pointers to the root; responder: ocsp-nocheck and no pointers', () => {
    const i = caTbs('intermediate');
    expect(i.facts).toMatchObject({ ca: true, pathLen: 0, keyUsage: ['keyCertSign', 'cRLSign'] });
    expect(i.facts.crlDistributionPoints).toHaveLength(1);
    const r = caTbs('ocsp-responder');
    expect(names(r)).toEqual([
      'basicConstraints',
      'keyUsage',
      'extKeyUsage',
      'subjectKeyIdentifier',
      'authorityKeyIdentifier',
      'ocspNoCheck',
    ]);
    expect(r.facts.extKeyUsage).toEqual(['ocspSigning']);
  });
});

describe('encodeTbs', () => {
  it('writes a v3 TBS that parses back to the same facts', () => {
    const t = agentTbs();
    const der = assembleSigned(encodeTbs(t), t.signatureAlgorithm, Buffer.alloc(64, 1));
    const c = parseCertificate(der);
    expect(c.version).toBe(3);
    expect(c.serialMagnitude.equals(t.serial)).toBe(true);
    expect(c.issuer.equals(issuingCa().subject.der)).toBe(true);
    expect(c.subject.equals(t.subject.der)).toBe(true);
    expect(c.publicKeyInfo.equals(spki('ed25519'))).toBe(true);
    expect(c.notBefore.toISOString()).toBe(t.notBefore.toISOString());
    expect(c.notAfter.toISOString()).toBe(t.notAfter.toISOString());
    expect(c.signatureAlgorithmOid).toBe(Oids.ecdsaWithSHA256);
    expect(c.extensions.map((e) => e.oid)).toEqual(t.extensions.map((e) => e.oid));
    expect(c.tbs.equals(encodeTbs(t))).toBe(true);
  });

  it('is a pure function of the model: the same TBS encodes to the same bytes', () => {
    const t = agentTbs({}, { clock: new FixedClock(NOW) });
    expect(encodeTbs(t).equals(encodeTbs(t))).toBe(true);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.extensions)).toBe(true);
  });
});
