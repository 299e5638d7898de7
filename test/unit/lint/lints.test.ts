/**
 * Every lint's failure path: a clean TBS from buildTbs, one field broken in its encoding, and
 * the LintError must name exactly the rule about that field (and nothing else fires by
 * accident). The lints read the encoded TBS parsed back, never the builder's model.
 */
import { describe, expect, it } from 'vitest';
import { encodeName } from '../../../src/asn1/name.js';
import { AgentOids, LEGACY_AGENT_CA_ARC, Oids } from '../../../src/asn1/oids.js';
import { agentScopeCodec } from '../../../src/asn1/extensions/index.js';
import {
  boolean,
  generalizedTime,
  oid,
  sequence,
  setOf,
  unsignedInteger,
  utcTime,
  utf8String,
} from '../../../src/asn1/der.js';
import { FixedClock } from '../../../src/clock.js';
import { LINTS } from '../../../src/lint/index.js';
import { childrenOf, readWhole, slice } from '../../../src/asn1/der-reader.js';
import { encodeTbs } from '../../../src/profile/tbs.js';
import { extensionEntry } from '../../../src/profile/build-tbs.js';
import { parseProfile } from '../../../src/profile/profile.js';
import {
  agentTbs,
  caTbs,
  errorLints,
  expectRefusedBy,
  issuingCa,
  lintFindings,
  messages,
  NOW,
  profile,
  tweak,
  withoutExtension,
} from './tbs-fixtures.js';

const scopeExt = (critical = false) =>
  extensionEntry('agentScope', AgentOids.agentScope, critical, agentScopeCodec.encode(['read:accounts']));
/** The encoded TBS of `t` with top-level field `index` (0 = version) replaced by `der`. */
function withTbsField(t: ReturnType<typeof agentTbs>, index: number, der: Buffer) {
  const bytes = encodeTbs(t);
  const fields = childrenOf(bytes, readWhole(bytes, 0x30, 'tbs')).map((f) => slice(bytes, f));
  fields[index] = der;
  return { der: sequence(...fields), tbs: t };
}
const replaceExt = (t: ReturnType<typeof agentTbs>, name: string, critical: boolean) =>
  tweak(t, {
    extensions: t.extensions.map((e) => (e.name === name ? extensionEntry(e.name, e.oid, critical, e.value) : e)),
  });

describe('clean certificates pass every lint', () => {
  it.each(['root', 'intermediate', 'ocsp-responder'] as const)('%s', (kind) => {
    expect(lintFindings(caTbs(kind))).toEqual([]);
  });
  it('agent, with agent extensions, for every agent key type', () => {
    for (const kt of ['rsa2048', 'p256', 'p384', 'ed25519'] as const) {
      expect(lintFindings(agentTbs({ agentExtensions: [scopeExt()] }, { agentKey: kt }))).toEqual([]);
    }
    expect(lintFindings(agentTbs({ profile: profile('agent-high-risk') }))).toEqual([]);
  });
  it('names are unique zlint-style e_ rules, each with a citation', () => {
    expect(new Set(LINTS.map((l) => l.name)).size).toBe(LINTS.length);
    for (const l of LINTS) {
      expect(l.name).toMatch(/^[ew]_[a-z0-9_]+$/);
      expect(l.citation.length).toBeGreaterThan(5);
    }
  });
});

describe('e_validity_exceeds_profile_maximum', () => {
  it('refuses 366 days on agent and 31 on agent-high-risk', () => {
    expect(expectRefusedBy(agentTbs({ validityDays: 366 }), 'e_validity_exceeds_profile_maximum')[0]).toMatch(
      /366\.00 days exceeds the agent maximum of 365/,
    );
    expectRefusedBy(
      agentTbs({ profile: profile('agent-high-risk'), validityDays: 31 }),
      'e_validity_exceeds_profile_maximum',
    );
  });
  it('refuses notAfter not after notBefore', () => {
    const t = agentTbs();
    expect(expectRefusedBy(tweak(t, { notAfter: t.notBefore }), 'e_validity_exceeds_profile_maximum')).toContain(
      'notAfter is not after notBefore',
    );
  });
});

describe('e_validity_beyond_issuer', () => {
  it('refuses a certificate that would outlive its issuer', () => {
    const issuer = issuingCa({ notAfter: new Date(new Date(NOW).getTime() + 30 * 86_400_000) });
    expect(expectRefusedBy(agentTbs({}, { issuer }), 'e_validity_beyond_issuer')[0]).toMatch(
      /after the issuer's notAfter/,
    );
    // Ending exactly with the issuer is allowed.
    const t = agentTbs({}, { issuer: issuingCa({ notAfter: agentTbs().notAfter }) });
    expect(errorLints(t)).toEqual([]);
  });
});

describe('e_validity_time_encoding', () => {
  it('refuses GeneralizedTime before 2050', () => {
    const t = agentTbs();
    const msgs = expectRefusedBy(
      tweak(t, { validityDer: sequence(generalizedTime(t.notBefore), generalizedTime(t.notAfter)) }),
      'e_validity_time_encoding',
    );
    expect(msgs).toHaveLength(2);
    expect(msgs[0]).toMatch(/notBefore must be UTCTime/);
  });
  it('buildTbs writes GeneralizedTime from 2050 on; UTCTime there reads back as 19xx and is refused', () => {
    const root = caTbs('root', new FixedClock('2045-06-01T00:00:00Z'));
    expect(root.notAfter.getUTCFullYear()).toBeGreaterThanOrEqual(2050);
    expect(root.validityDer[2 + root.validityDer[3]! + 2]).toBe(0x18);
    expect(errorLints(root)).toEqual([]);
    // RFC 5280 §4.1.2.5.1: UTCTime YY >= 50 is 19YY, so the bytes say notAfter 1965: that is
    // what a relying party would read, and what the lint sees.
    const msgs = expectRefusedBy(
      tweak(root, { validityDer: sequence(utcTime(root.notBefore), utcTime(root.notAfter)) }),
      'e_validity_exceeds_profile_maximum',
    );
    expect(msgs).toEqual(['notAfter is not after notBefore']);
  });
});

describe('e_key_type_not_allowed', () => {
  it('refuses a key type the profile does not list', () => {
    const p256Only = parseProfile({
      name: 'agent-p256',
      kind: 'agent',
      maxValidityDays: 90,
      keyTypes: ['p256'],
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
    });
    expect(
      expectRefusedBy(agentTbs({ profile: p256Only }, { agentKey: 'ed25519' }), 'e_key_type_not_allowed')[0],
    ).toMatch(/ed25519 keys are not allowed by profile agent-p256/);
    expect(errorLints(agentTbs({ profile: p256Only }, { agentKey: 'p256' }))).toEqual([]);
  });
});

describe('e_signature_algorithm_weak', () => {
  it('refuses an algorithm outside the SHA-2 / Ed25519 table (e.g. SHA-1)', () => {
    const sha1 = sequence(oid(Oids.sha1WithRSAEncryption), Buffer.from([0x05, 0x00]));
    expect(expectRefusedBy(withTbsField(agentTbs(), 2, sha1), 'e_signature_algorithm_weak')[0]).toMatch(
      /unsupported signature algorithm sha1WithRSAEncryption/,
    );
  });
  it('refuses a non-canonical AlgorithmIdentifier (ECDSA with NULL parameters, RFC 5758 §3.2)', () => {
    const withNull = sequence(oid(Oids.ecdsaWithSHA256), Buffer.from([0x05, 0x00]));
    expect(expectRefusedBy(withTbsField(agentTbs(), 2, withNull), 'e_signature_algorithm_weak')).toEqual([
      'the ecdsaWithSHA256 AlgorithmIdentifier is not in its canonical encoding',
    ]);
  });
});

describe('e_serial_number', () => {
  const withSerial = (magnitude: Buffer, der = unsignedInteger(magnitude)) =>
    tweak(agentTbs(), { serial: magnitude, serialDer: der });
  it('refuses a negative serial', () => {
    const m = Buffer.alloc(16, 0x11);
    m[0] = 0x81;
    const der = Buffer.concat([Buffer.from([0x02, 0x10]), m]); // no 00 sign octet: negative
    expect(expectRefusedBy(withSerial(m, der), 'e_serial_number')).toContain('serial is negative');
  });
  it('refuses a non-minimal encoding', () => {
    const m = Buffer.alloc(16, 0x11);
    const der = Buffer.concat([Buffer.from([0x02, 0x11, 0x00]), m]);
    expect(expectRefusedBy(withSerial(m, der), 'e_serial_number')).toContain('serial is not minimally encoded');
  });
  it('refuses fewer than 128 random bits and more than 20 octets', () => {
    expect(expectRefusedBy(withSerial(Buffer.alloc(8, 0x42)), 'e_serial_number')[0]).toMatch(/64 bits of randomness/);
    expect(expectRefusedBy(withSerial(Buffer.alloc(21, 0x42)), 'e_serial_number')).toContain(
      'serial has 21 octets (max 20)',
    );
  });
  it('refuses something that is not one INTEGER', () => {
    const m = Buffer.alloc(16, 0x11);
    const der = Buffer.concat([Buffer.from([0x04, 0x10]), m]);
    expect(expectRefusedBy(withSerial(m, der), 'e_serial_number')).toContain('serial is not a single DER INTEGER');
  });
});

describe('e_key_identifiers', () => {
  it('refuses a missing or critical SKI and a missing AKI', () => {
    const t = agentTbs();
    expect(expectRefusedBy(withoutExtension(t, 'subjectKeyIdentifier'), 'e_key_identifiers')).toEqual([
      'subjectKeyIdentifier missing',
    ]);
    expect(expectRefusedBy(withoutExtension(t, 'authorityKeyIdentifier'), 'e_key_identifiers')).toEqual([
      'authorityKeyIdentifier missing',
    ]);
    expect(expectRefusedBy(replaceExt(t, 'subjectKeyIdentifier', true), 'e_key_identifiers')).toEqual([
      'subjectKeyIdentifier must be non-critical',
    ]);
    expect(expectRefusedBy(replaceExt(t, 'authorityKeyIdentifier', true), 'e_key_identifiers')).toEqual([
      'authorityKeyIdentifier must be non-critical',
    ]);
  });
  it('a self-signed root may omit the AKI', () => {
    expect(errorLints(withoutExtension(caTbs('root'), 'authorityKeyIdentifier'))).toEqual([]);
  });
});

describe('e_basic_constraints', () => {
  it('refuses a CA certificate without basicConstraints, or with it non-critical', () => {
    expect(expectRefusedBy(withoutExtension(caTbs('root'), 'basicConstraints'), 'e_basic_constraints')).toEqual([
      'basicConstraints missing from a CA certificate',
    ]);
    expect(
      expectRefusedBy(replaceExt(caTbs('intermediate'), 'basicConstraints', false), 'e_basic_constraints'),
    ).toEqual(['basicConstraints must be critical in a CA certificate']);
  });
  it('refuses an intermediate without pathLen and pathLen on a leaf', () => {
    expect(
      expectRefusedBy(tweak(caTbs('intermediate'), { facts: { pathLen: undefined } }), 'e_basic_constraints'),
    ).toEqual(['the intermediate must carry pathLenConstraint']);
    expect(expectRefusedBy(tweak(agentTbs(), { facts: { pathLen: 0 } }), 'e_basic_constraints')).toEqual([
      'pathLenConstraint on a non-CA certificate',
    ]);
  });
  it('refuses cA TRUE on an agent', () => {
    expect(messages(tweak(agentTbs(), { facts: { ca: true } }), 'e_basic_constraints')).toEqual([
      'cA is true for a agent certificate',
    ]);
  });
});

describe('e_key_usage', () => {
  it('refuses a missing or non-critical keyUsage', () => {
    expect(expectRefusedBy(withoutExtension(agentTbs(), 'keyUsage'), 'e_key_usage')).toEqual(['keyUsage missing']);
    expect(expectRefusedBy(replaceExt(agentTbs(), 'keyUsage', false), 'e_key_usage')).toEqual([
      'keyUsage must be critical',
    ]);
  });
  it('refuses CA bits on a leaf, a leaf without digitalSignature, a CA without cRLSign', () => {
    expect(
      expectRefusedBy(tweak(agentTbs(), { facts: { keyUsage: ['digitalSignature', 'keyCertSign'] } }), 'e_key_usage'),
    ).toEqual(['keyCertSign/cRLSign on a non-CA certificate']);
    expect(expectRefusedBy(tweak(agentTbs(), { facts: { keyUsage: ['keyEncipherment'] } }), 'e_key_usage')).toEqual([
      'digitalSignature is required',
    ]);
    expect(expectRefusedBy(tweak(caTbs('root'), { facts: { keyUsage: ['keyCertSign'] } }), 'e_key_usage')).toEqual([
      'a CA certificate needs keyCertSign and cRLSign',
    ]);
  });
});

describe('e_extended_key_usage', () => {
  it('refuses an agent without clientAuth', () => {
    expect(
      expectRefusedBy(tweak(agentTbs(), { facts: { extKeyUsage: ['serverAuth'] } }), 'e_extended_key_usage'),
    ).toEqual(['agent certificates need extendedKeyUsage clientAuth']);
  });
  it('refuses a responder with anything but exactly OCSPSigning, and a CA with an EKU', () => {
    expect(
      expectRefusedBy(
        tweak(caTbs('ocsp-responder'), { facts: { extKeyUsage: ['ocspSigning', 'clientAuth'] } }),
        'e_extended_key_usage',
      ),
    ).toHaveLength(1);
    expect(
      expectRefusedBy(tweak(caTbs('intermediate'), { facts: { extKeyUsage: ['serverAuth'] } }), 'e_extended_key_usage'),
    ).toEqual(['CA certificates here carry no extendedKeyUsage']);
  });
});

describe('e_agent_subject_alt_name', () => {
  const refusedSan = (sans: ({ dns: string } | { uri: string })[]) =>
    expectRefusedBy(tweak(agentTbs(), { facts: { subjectAltNames: sans } }), 'e_agent_subject_alt_name');
  it('refuses an agent without any SAN', () => {
    expect(refusedSan([])).toEqual(['an agent certificate needs a subjectAltName (DNS name or URI)']);
  });
  it('refuses DNS names outside the agent domains, look-alikes, the bare domain, wildcards, upper case', () => {
    expect(refusedSan([{ dns: 'bot.evil.example' }])[0]).toMatch(/not under an agent domain/);
    expect(refusedSan([{ dns: 'bot.notagents.example' }])[0]).toMatch(/not under an agent domain/);
    expect(refusedSan([{ dns: 'agents.example' }])[0]).toMatch(/not under an agent domain/);
    expect(refusedSan([{ dns: '*.agents.example' }])[0]).toMatch(/not a lowercase DNS name/);
    expect(refusedSan([{ dns: 'Bot.agents.example' }])[0]).toMatch(/not a lowercase DNS name/);
    // One bad name among good ones is enough.
    expect(refusedSan([{ dns: 'bot.agents.example' }, { dns: 'bot.evil.example' }])).toHaveLength(1);
  });
  it('refuses a URI that is not absolute, accepts one that is', () => {
    expect(refusedSan([{ uri: 'agents/bot' }])[0]).toMatch(/not an absolute URI/);
    expect(refusedSan([{ uri: 'spiffe://agents.example/a b' }])[0]).toMatch(/not an absolute URI/);
    expect(
      errorLints(tweak(agentTbs(), { facts: { subjectAltNames: [{ uri: 'spiffe://agents.example/bot' }] } })),
    ).toEqual([]);
    // D9: only https, spiffe and urn by default (config uriSanSchemes)
    for (const uri of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'http://agents.example/bot']) {
      expect(refusedSan([{ uri }])[0]).toMatch(/URI scheme .* is not allowed/);
    }
    for (const uri of ['https://agents.example/bot', 'urn:agent:bot'])
      expect(errorLints(tweak(agentTbs(), { facts: { subjectAltNames: [{ uri }] } }))).toEqual([]);
  });
  it('refuses a critical SAN when the subject is not empty (RFC 5280 §4.2.1.6)', () => {
    expect(expectRefusedBy(replaceExt(agentTbs(), 'subjectAltName', true), 'e_agent_subject_alt_name')).toEqual([
      'subjectAltName must be non-critical when the subject is not empty',
    ]);
  });
  it('uses the configured agent domains', () => {
    const t = tweak(agentTbs(), { facts: { subjectAltNames: [{ dns: 'bot.corp.example' }] } });
    expect(errorLints(t, { agentDomains: ['corp.example'] })).toEqual([]);
    expect(errorLints(t)).toEqual(['e_agent_subject_alt_name']);
  });
});

describe('e_revocation_pointers', () => {
  it('refuses an agent without CRL DP, Freshest CRL, OCSP or caIssuers', () => {
    for (const [field, msg] of [
      ['crlDistributionPoints', 'CRL Distribution Points missing'],
      ['freshestCrl', 'Freshest CRL (delta CRL pointer) missing'],
      ['ocspUrls', 'AIA OCSP URL missing'],
      ['caIssuersUrls', 'AIA caIssuers URL missing'],
    ] as const) {
      expect(expectRefusedBy(tweak(agentTbs(), { facts: { [field]: [] } }), 'e_revocation_pointers')).toEqual([msg]);
    }
  });
  it('refuses a non-http pointer and a responder without ocsp-nocheck', () => {
    expect(
      expectRefusedBy(tweak(agentTbs(), { facts: { ocspUrls: ['ldap://x/ocsp'] } }), 'e_revocation_pointers'),
    ).toEqual(['"ldap://x/ocsp" is not an http(s) URL']);
    expect(
      expectRefusedBy(tweak(caTbs('ocsp-responder'), { facts: { ocspNoCheck: false } }), 'e_revocation_pointers'),
    ).toEqual(['an OCSP responder certificate needs id-pkix-ocsp-nocheck']);
  });
});

describe('e_subject', () => {
  it('refuses a subject without O or CN, and a CN that is not the agent id', () => {
    const noO = { commonName: 'trading-bot' };
    expect(expectRefusedBy(tweak(agentTbs(), { subjectSpec: noO, subject: encodeName(noO) }), 'e_subject')).toEqual([
      'subject O (operator) is required',
    ]);
    const noCn = { organization: 'Lint Test' };
    expect(
      expectRefusedBy(tweak(caTbs('root'), { subjectSpec: noCn, subject: encodeName(noCn) }), 'e_subject'),
    ).toEqual(['subject CN is required']);
    expect(expectRefusedBy(tweak(agentTbs(), { facts: { agentId: 'other-bot' } }), 'e_subject')).toEqual([
      'CN "trading-bot" must be the agent id "other-bot"',
    ]);
  });
});

describe('e_extensions', () => {
  it('refuses a duplicated extension', () => {
    const t = agentTbs();
    const san = t.extensions.find((e) => e.oid === Oids.subjectAltName)!;
    expect(expectRefusedBy(tweak(t, { extensions: [...t.extensions, san] }), 'e_extensions')[0]).toMatch(
      /subjectAltName \(2\.5\.29\.17\) appears twice/,
    );
  });
  it('refuses a critical agent extension and an agent extension outside agent certificates', () => {
    expect(expectRefusedBy(agentTbs({ agentExtensions: [scopeExt(true)] }), 'e_extensions')).toEqual([
      'agentScope must be non-critical',
    ]);
    const inter = caTbs('intermediate');
    expect(expectRefusedBy(tweak(inter, { extensions: [...inter.extensions, scopeExt()] }), 'e_extensions')).toEqual([
      'agentScope in a intermediate certificate',
    ]);
  });
});

describe('LintError', () => {
  it('names every broken rule at once, in registry order', () => {
    const t = tweak(agentTbs({ validityDays: 400 }), { facts: { subjectAltNames: [], extKeyUsage: [] } });
    expect(errorLints(t)).toEqual([
      'e_validity_exceeds_profile_maximum',
      'e_extended_key_usage',
      'e_agent_subject_alt_name',
    ]);
  });
});

describe('e_oid_component_range', () => {
  const legacyScope = extensionEntry(
    'agentScope',
    `${LEGACY_AGENT_CA_ARC}.1.2`,
    false,
    agentScopeCodec.encode(['read:accounts']),
  );
  it('refuses an extension under the legacy 2.25 arc (extnID)', () => {
    expect(expectRefusedBy(agentTbs({ agentExtensions: [legacyScope] }), 'e_oid_component_range')).toEqual([
      `OID ${LEGACY_AGENT_CA_ARC}.1.2 has component 8486429543056106623930373175689343363 above 2147483647`,
    ]);
  });
  it('refuses an oversized OID inside an extension value and in a name attribute type; 2^31 - 1 passes', () => {
    const eku = (o: string) =>
      extensionEntry('extKeyUsage', Oids.extKeyUsage, false, sequence(oid(Oids.kpClientAuth), oid(o)));
    const withEku = (o: string) =>
      tweak(agentTbs(), { extensions: agentTbs().extensions.map((e) => (e.oid === Oids.extKeyUsage ? eku(o) : e)) });
    expect(expectRefusedBy(withEku('1.3.6.1.4.1.2147483648'), 'e_oid_component_range')).toEqual([
      'OID 1.3.6.1.4.1.2147483648 has component 2147483648 above 2147483647',
    ]);
    expect(errorLints(withEku('1.3.6.1.4.1.2147483647'))).toEqual([]);
    const t = agentTbs();
    const subject = sequence(
      ...childrenOf(t.subject.der, readWhole(t.subject.der, 0x30, 'n')).map((r) => slice(t.subject.der, r)),
      setOf(sequence(oid('2.5.4.4294967297'), utf8String('x'))),
    );
    expect(messages(tweak(t, { subject: { der: subject, text: t.subject.text } }), 'e_oid_component_range')).toEqual([
      'OID 2.5.4.4294967297 has component 4294967297 above 2147483647',
    ]);
  });
});

describe('e_der_encoding', () => {
  const withValue = (t: ReturnType<typeof agentTbs>, o: string, value: Buffer, critical?: boolean) =>
    tweak(t, {
      extensions: t.extensions.map((e) =>
        e.oid === o ? extensionEntry(e.name, e.oid, critical ?? e.critical, value) : e,
      ),
    });
  it('refuses a BER BOOLEAN and an explicit cA FALSE in basicConstraints', () => {
    const inter = caTbs('intermediate');
    const berTrue = Buffer.from([0x30, 0x06, 0x01, 0x01, 0x01, 0x02, 0x01, 0x00]);
    expect(errorLints(withValue(inter, Oids.basicConstraints, berTrue))).toContain('e_der_encoding');
    expect(messages(withValue(inter, Oids.basicConstraints, berTrue), 'e_der_encoding')[0]).toMatch(
      /basicConstraints.*BOOLEAN must be one octet 00 or FF/,
    );
    expect(
      messages(withValue(agentTbs(), Oids.basicConstraints, sequence(boolean(false))), 'e_der_encoding')[0],
    ).toMatch(/cA FALSE is the DEFAULT/);
  });
  it('refuses an extension value with trailing bytes, and a keyUsage with trailing zero bits', () => {
    const t = agentTbs({ agentExtensions: [scopeExt()] });
    const scope = t.extensions.find((e) => e.name === 'agentScope')!;
    expect(
      expectRefusedBy(
        withValue(t, scope.oid, Buffer.concat([scope.value, Buffer.from([0x05, 0x00])])),
        'e_der_encoding',
      )[0],
    ).toMatch(/agentScope: .*trailing byte/);
    // digitalSignature with 7 trailing zero bits: unreadable, so e_key_usage also finds no digitalSignature
    const badKu = withValue(agentTbs(), Oids.keyUsage, Buffer.from([0x03, 0x02, 0x00, 0x80]));
    expect(errorLints(badKu)).toEqual(['e_der_encoding', 'e_key_usage']);
    expect(messages(badKu, 'e_der_encoding')[0]).toMatch(/keyUsage: named BIT STRING not in DER form/);
    expect(errorLints(withValue(agentTbs(), Oids.keyUsage, Buffer.from([0x03, 0x02, 0x07, 0x80])))).toEqual([]);
  });
  it('refuses a TBS whose structure does not parse', () => {
    const t = agentTbs();
    const der = encodeTbs(t);
    expect(expectRefusedBy({ der: der.subarray(0, der.length - 1), tbs: t }, 'e_der_encoding')[0]).toMatch(
      /the encoded TBS does not parse/,
    );
  });
});
