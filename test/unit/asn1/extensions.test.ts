import { describe, expect, it } from 'vitest';
import { AgentCaError, Asn1DecodeError } from '../../../src/errors.js';
import {
  AGENT_CA_ARC,
  agentExtensionOids,
  AgentOids,
  LEGACY_AGENT_CA_ARC,
  oversizedOidComponents,
  readableAgentExtensionOids,
} from '../../../src/asn1/oids.js';
import {
  algorithmIdentifier,
  implicit,
  integer,
  NULL,
  octetString,
  oid,
  printableString,
  sequence,
  tlv,
  utf8String,
} from '../../../src/asn1/der.js';
import {
  agentContextCodec,
  agentExtensionCodecs,
  agentExtensionCodecsForArc,
  agentPolicyCodec,
  agentScopeCodec,
  decodeAgentContext,
  decodeAgentExtensions,
  decodeAgentPolicy,
  decodeAgentScope,
  decodeModelHash,
  encodeAgentContext,
  encodeAgentPolicy,
  encodeAgentScope,
  encodeModelHash,
  modelHashCodec,
  type AgentPolicy,
} from '../../../src/asn1/extensions/index.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function rejects(fn: () => unknown, reason: RegExp, code = 'ACA_ERR_ASN1_DECODE'): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AgentCaError);
  if (code === 'ACA_ERR_ASN1_DECODE') expect(caught).toBeInstanceOf(Asn1DecodeError);
  expect((caught as AgentCaError).code).toBe(code);
  expect((caught as Error).message).toMatch(reason);
}
const encRejects = (fn: () => unknown, reason: RegExp): void => rejects(fn, reason, 'ACA_ERR_ASN1_ENCODE');

/** A bad-UTF-8 UTF8String (overlong "/") to splice into otherwise valid structures. */
const BAD_UTF8 = hex('0c 02 c0 af');

// Produced by Erlang asn1ct (`erlc -bber +der asn1/AgentCA-Extensions.asn`) from the module
// itself, so these pin the codecs to the contract, not to our own encoder.
const VECTORS = {
  policy: hex('302ca00e1307313235302e35301303555344a1160c04584e41530c0e63727970746f3a4254432d5553448202012c'),
  scope: hex('30280c0d726561643a6163636f756e74730c1777726974653a2f646174612f70726f6365737365642f2a'),
  hash: hex(`302f300b06096086480165030402010420${'ab'.repeat(32)}`),
  context: hex('30200c0961636d652d636f72700c0a70726f64756374696f6e0c07696e73742d3432'),
};

describe('known-answer vectors from the ASN.1 module', () => {
  it('encodes byte-identically and decodes back', () => {
    const policy: AgentPolicy = {
      maxTransactionSize: { amount: '1250.50', currency: 'USD' },
      allowedMarkets: ['XNAS', 'crypto:BTC-USD'],
      revocationTimeoutSeconds: 300,
    };
    expect(encodeAgentPolicy(policy)).toEqual(VECTORS.policy);
    expect(decodeAgentPolicy(VECTORS.policy)).toEqual(policy);
    const scope = ['read:accounts', 'write:/data/processed/*'];
    expect(encodeAgentScope(scope)).toEqual(VECTORS.scope);
    expect(decodeAgentScope(VECTORS.scope)).toEqual(scope);
    const hash = { algorithm: 'sha256' as const, digest: Buffer.alloc(32, 0xab) };
    expect(encodeModelHash(hash)).toEqual(VECTORS.hash);
    expect(decodeModelHash(VECTORS.hash)).toEqual(hash);
    const ctx = { tenantId: 'acme-corp', environment: 'production', agentInstanceId: 'inst-42' };
    expect(encodeAgentContext(ctx)).toEqual(VECTORS.context);
    expect(decodeAgentContext(VECTORS.context)).toEqual(ctx);
  });
});

describe('agentPolicy', () => {
  it.each<[string, AgentPolicy]>([
    ['empty', {}],
    ['amount only', { maxTransactionSize: { amount: '50000', currency: 'EUR' } }],
    ['fractional amount', { maxTransactionSize: { amount: '0.000001', currency: 'JPY' } }],
    ['max amount', { maxTransactionSize: { amount: '999999999999999999.999999', currency: 'USD' } }],
    ['markets only', { allowedMarkets: ['XNYS'] }],
    ['timeout 0', { revocationTimeoutSeconds: 0 }],
    ['timeout max', { revocationTimeoutSeconds: 31_536_000 }],
  ])('round-trips %s', (_n, v) => {
    expect(decodeAgentPolicy(encodeAgentPolicy(v))).toEqual(v);
  });

  const money = implicit(0, sequence(printableString('10'), printableString('USD')));

  it('skips unknown context-tagged fields after the known ones (extension marker)', () => {
    const der = sequence(money, implicit(2, integer(60)), tlv(0x83, Buffer.from('x')), tlv(0xa7, utf8String('future')));
    expect(decodeAgentPolicy(der)).toEqual({
      maxTransactionSize: { amount: '10', currency: 'USD' },
      revocationTimeoutSeconds: 60,
    });
  });

  it.each([
    ['a universal INTEGER where [2] belongs', sequence(integer(60)), /unexpected INTEGER/],
    ['[2] constructed', sequence(tlv(0xa2, integer(60))), /expected \[2\] primitive, found \[2\] constructed/],
    ['[0] primitive', sequence(tlv(0x80, Buffer.from('10'))), /expected \[0\] constructed/],
    ['[1] primitive', sequence(tlv(0x81, utf8String('X'))), /expected \[1\] constructed/],
    ['fields out of order', sequence(implicit(2, integer(1)), money), /out of order/],
    ['a repeated field', sequence(implicit(2, integer(1)), implicit(2, integer(2))), /repeated/],
    [
      'a known field after an unknown one',
      sequence(tlv(0x83, Buffer.alloc(0)), implicit(2, integer(1))),
      /out of order/,
    ],
    [
      'a universal element after the known ones',
      sequence(implicit(2, integer(1)), utf8String('x')),
      /unexpected UTF8String/,
    ],
    ['trailing bytes', Buffer.concat([sequence(implicit(2, integer(1))), Buffer.from([0])]), /trailing/],
    ['not a SEQUENCE', utf8String('x'), /expected SEQUENCE/],
    ['negative timeout', sequence(tlv(0x82, Buffer.from([0xff]))), /revocationTimeout: -1 outside 0\.\.31536000/],
    ['timeout over a year', sequence(implicit(2, integer(31_536_001))), /outside 0\.\.31536000/],
    [
      'currency with 2 letters',
      sequence(implicit(0, sequence(printableString('10'), printableString('US')))),
      /currency: 2 character\(s\), at least 3/,
    ],
    [
      'lower-case currency',
      sequence(implicit(0, sequence(printableString('10'), printableString('usd')))),
      /currency: character "u"/,
    ],
    [
      'currency with 4 letters',
      sequence(implicit(0, sequence(printableString('10'), printableString('USDX')))),
      /currency: 4 character\(s\), at most 3/,
    ],
    [
      'currency as UTF8String',
      sequence(implicit(0, sequence(printableString('10'), utf8String('USD')))),
      /expected PrintableString, found UTF8String/,
    ],
    [
      'amount with a sign',
      sequence(implicit(0, sequence(printableString('-5'), printableString('USD')))),
      /amount: character "-"/,
    ],
    [
      'amount with a leading zero',
      sequence(implicit(0, sequence(printableString('0100'), printableString('USD')))),
      /amount: must be a decimal/,
    ],
    [
      'amount ending in "."',
      sequence(implicit(0, sequence(printableString('1.'), printableString('USD')))),
      /must be a decimal/,
    ],
    ['amount missing currency', sequence(implicit(0, sequence(printableString('1')))), /1 component\(s\), at least 2/],
    ['empty markets', sequence(tlv(0xa1, Buffer.alloc(0))), /allowedMarkets: 0 component\(s\), at least 1/],
    ['bad UTF-8 in a market', sequence(tlv(0xa1, BAD_UTF8)), /allowedMarkets\[0\]: invalid UTF-8/],
    [
      'a market with a space',
      sequence(implicit(1, sequence(utf8String('NY SE')))),
      /allowedMarkets\[0\]: character " "/,
    ],
  ])('decode rejects %s', (_n, der, reason) => {
    rejects(() => decodeAgentPolicy(der), reason);
  });

  it.each<[string, unknown, RegExp]>([
    ['currency not 3 letters', { maxTransactionSize: { amount: '1', currency: 'US' } }, /currency: 2 character/],
    ['lower-case currency', { maxTransactionSize: { amount: '1', currency: 'eur' } }, /currency: character "e"/],
    ['numeric amount', { maxTransactionSize: { amount: 5, currency: 'EUR' } }, /amount: must be a string/],
    ['amount with exponent', { maxTransactionSize: { amount: '1e5', currency: 'EUR' } }, /amount: character "e"/],
    [
      'amount with 7 fraction digits',
      { maxTransactionSize: { amount: '1.1234567', currency: 'EUR' } },
      /must be a decimal/,
    ],
    ['negative timeout', { revocationTimeoutSeconds: -1 }, /-1 outside 0\.\.31536000/],
    ['fractional timeout', { revocationTimeoutSeconds: 1.5 }, /outside/],
    ['empty markets', { allowedMarkets: [] }, /0 entries, 1\.\.64/],
    ['65 markets', { allowedMarkets: Array.from({ length: 65 }, (_, i) => `M${i}`) }, /65 entries/],
    ['market with control character', { allowedMarkets: ['X\u0000'] }, /allowedMarkets\[0\]: character/],
  ])('encode rejects %s', (_n, v, reason) => {
    encRejects(() => encodeAgentPolicy(v as AgentPolicy), reason);
  });
});

describe('agentScope', () => {
  it('round-trips', () => {
    const s = ['read:accounts', 'write:payments', 'read:/data/raw/*', 'trade:*'];
    expect(decodeAgentScope(encodeAgentScope(s))).toEqual(s);
  });

  it.each([
    ['an empty scope', sequence(), /0 component\(s\), at least 1/],
    ['a PrintableString entry', sequence(printableString('read:x')), /AgentScope\[0\]: expected UTF8String/],
    ['bad UTF-8', sequence(utf8String('read:x'), BAD_UTF8), /AgentScope\[1\]: invalid UTF-8/],
    ['a traversal pattern', sequence(utf8String('read:/a/../b')), /AgentScope\[0\]: "\.\." path segment/],
    ['a mid-path wildcard', sequence(utf8String('read:/a/*/b')), /last path segment/],
    ['trailing bytes', Buffer.concat([sequence(utf8String('read:x')), hex('0500')]), /2 trailing byte/],
    ['a SET instead of a SEQUENCE', tlv(0x31, utf8String('read:x')), /expected SEQUENCE, found SET/],
  ])('decode rejects %s', (_n, der, reason) => {
    rejects(() => decodeAgentScope(der), reason);
  });

  it('encode rejects an empty scope, invalid patterns and non-strings', () => {
    encRejects(() => encodeAgentScope([]), /0 entries/);
    encRejects(() => encodeAgentScope(['read:/x/../y']), /AgentScope\[0\]: "\.\."/);
    encRejects(() => encodeAgentScope(['read:x', 42 as unknown as string]), /AgentScope\[1\]: must be a string/);
    encRejects(() => encodeAgentScope('read:x' as unknown as string[]), /must be an array/);
  });
});

describe('modelHash', () => {
  it.each(['sha256', 'sha384', 'sha512'] as const)('round-trips %s', (algorithm) => {
    const len = { sha256: 32, sha384: 48, sha512: 64 }[algorithm];
    const v = { algorithm, digest: Buffer.alloc(len, 7) };
    expect(decodeModelHash(encodeModelHash(v))).toEqual(v);
  });

  it('accepts NULL parameters (RFC 5754 §2) but writes them absent', () => {
    const der = sequence(algorithmIdentifier('2.16.840.1.101.3.4.2.2', 'null'), octetString(Buffer.alloc(48, 1)));
    expect(decodeModelHash(der)).toEqual({ algorithm: 'sha384', digest: Buffer.alloc(48, 1) });
    expect(encodeModelHash({ algorithm: 'sha384', digest: Buffer.alloc(48, 1) }).length).toBe(der.length - NULL.length);
  });

  it.each([
    [
      'a digest length mismatch',
      sequence(algorithmIdentifier('2.16.840.1.101.3.4.2.1'), octetString(Buffer.alloc(48))),
      /48 octets, sha256 digests are 32/,
    ],
    [
      'SHA-1',
      sequence(algorithmIdentifier('1.3.14.3.2.26'), octetString(Buffer.alloc(20))),
      /1\.3\.14\.3\.2\.26 is not SHA-256/,
    ],
    [
      'non-NULL parameters',
      sequence(sequence(oid('2.16.840.1.101.3.4.2.1'), integer(1)), octetString(Buffer.alloc(32))),
      /parameters: expected NULL/,
    ],
    [
      'a digest as BIT STRING',
      sequence(algorithmIdentifier('2.16.840.1.101.3.4.2.1'), tlv(0x03, Buffer.alloc(33))),
      /digest: expected OCTET STRING/,
    ],
    ['a missing digest', sequence(algorithmIdentifier('2.16.840.1.101.3.4.2.1')), /1 component\(s\), at least 2/],
    [
      'an extra component',
      sequence(algorithmIdentifier('2.16.840.1.101.3.4.2.1'), octetString(Buffer.alloc(32)), NULL),
      /3 component\(s\), at most 2/,
    ],
  ])('decode rejects %s', (_n, der, reason) => {
    rejects(() => decodeModelHash(der), reason);
  });

  it('encode rejects a length mismatch and unknown algorithms', () => {
    encRejects(
      () => encodeModelHash({ algorithm: 'sha512', digest: Buffer.alloc(32) }),
      /32 octets, sha512 digests are 64/,
    );
    encRejects(() => encodeModelHash({ algorithm: 'md5' as 'sha256', digest: Buffer.alloc(16) }), /not one of/);
    encRejects(() => encodeModelHash({ algorithm: 'toString' as 'sha256', digest: Buffer.alloc(16) }), /not one of/);
    encRejects(
      () => encodeModelHash({ algorithm: 'sha256', digest: 'ab'.repeat(32) as unknown as Buffer }),
      /Buffer or Uint8Array/,
    );
  });
});

describe('agentContext', () => {
  it('round-trips with and without the instance id', () => {
    const a = { tenantId: 'acme-corp', environment: 'staging' };
    const b = {
      tenantId: '6f1c2e0a-0000-4000-8000-000000000001',
      environment: 'eu-canary-2',
      agentInstanceId: 'pod:trading-7f9c',
    };
    expect(decodeAgentContext(encodeAgentContext(a))).toEqual(a);
    expect(decodeAgentContext(encodeAgentContext(b))).toEqual(b);
  });

  it('skips context-tagged extension additions', () => {
    const der = sequence(
      utf8String('t'),
      utf8String('production'),
      utf8String('i'),
      tlv(0x80, Buffer.from([1])),
      tlv(0xa1, NULL),
    );
    expect(decodeAgentContext(der)).toEqual({ tenantId: 't', environment: 'production', agentInstanceId: 'i' });
    expect(decodeAgentContext(sequence(utf8String('t'), utf8String('dev'), tlv(0x80, Buffer.from([1]))))).toEqual({
      tenantId: 't',
      environment: 'dev',
    });
  });

  it.each([
    ['a missing environment', sequence(utf8String('t')), /1 component\(s\), at least 2/],
    ['bad UTF-8 in tenantId', sequence(BAD_UTF8, utf8String('production')), /tenantId: invalid UTF-8/],
    ['an upper-case environment', sequence(utf8String('t'), utf8String('Production')), /environment: character "P"/],
    [
      'an environment starting with a digit',
      sequence(utf8String('t'), utf8String('1prod')),
      /must start with a letter/,
    ],
    ['an empty tenantId', sequence(utf8String(''), utf8String('prod')), /tenantId: 0 character/],
    [
      'a second untagged string after the instance id',
      sequence(utf8String('t'), utf8String('prod'), utf8String('i'), utf8String('j')),
      /unexpected UTF8String/,
    ],
    [
      'additions out of order',
      sequence(utf8String('t'), utf8String('prod'), tlv(0x81, Buffer.alloc(0)), tlv(0x80, Buffer.alloc(0))),
      /out of order/,
    ],
    [
      'tenantId as PrintableString',
      sequence(printableString('t'), utf8String('prod')),
      /tenantId: expected UTF8String/,
    ],
  ])('decode rejects %s', (_n, der, reason) => {
    rejects(() => decodeAgentContext(der), reason);
  });

  it('encode rejects out-of-alphabet values', () => {
    encRejects(
      () => encodeAgentContext({ tenantId: 'acme corp', environment: 'production' }),
      /tenantId: character " "/,
    );
    encRejects(() => encodeAgentContext({ tenantId: 'a', environment: 'x'.repeat(33) }), /environment: 33 character/);
    encRejects(
      () => encodeAgentContext({ tenantId: 'a', environment: 'prod', agentInstanceId: 'é' }),
      /agentInstanceId: character "é"/,
    );
  });
});

describe('codecs and decodeAgentExtensions', () => {
  it('codecs carry the OIDs and are non-critical', () => {
    expect(
      [agentPolicyCodec, agentScopeCodec, modelHashCodec, agentContextCodec].map((c) => [c.name, c.oid, c.critical]),
    ).toEqual([
      ['agentPolicy', AgentOids.agentPolicy, false],
      ['agentScope', AgentOids.agentScope, false],
      ['modelHash', AgentOids.modelHash, false],
      ['agentContext', AgentOids.agentContext, false],
    ]);
    expect(agentPolicyCodec.oid).toBe('1.2.840.113556.1.8000.2554.1634.27975.56549.17106.37927.4247664.2093443.1.1');
  });

  const exts = [
    { oid: '2.5.29.19', value: hex('3000') },
    { oid: AgentOids.agentPolicy, value: encodeAgentPolicy({ revocationTimeoutSeconds: 60 }) },
    { oid: AgentOids.agentScope, value: encodeAgentScope(['read:accounts']) },
    { oid: AgentOids.modelHash, value: encodeModelHash({ algorithm: 'sha256', digest: Buffer.alloc(32) }) },
    { oid: AgentOids.agentContext, value: encodeAgentContext({ tenantId: 't', environment: 'production' }) },
  ];

  it('decodes all four and ignores other extensions', () => {
    expect(decodeAgentExtensions(exts)).toEqual({
      agentPolicy: { revocationTimeoutSeconds: 60 },
      agentScope: ['read:accounts'],
      modelHash: { algorithm: 'sha256', digest: Buffer.alloc(32) },
      agentContext: { tenantId: 't', environment: 'production' },
      parseErrors: [],
    });
  });

  it('records parse errors instead of throwing and keeps the good ones', () => {
    const bad = [
      { oid: AgentOids.agentScope, value: sequence() },
      { oid: AgentOids.modelHash, value: hex('30') },
      { oid: AgentOids.agentContext, value: null as unknown as Uint8Array },
      { oid: AgentOids.agentPolicy, value: encodeAgentPolicy({ allowedMarkets: ['XNAS'] }) },
    ];
    let r: ReturnType<typeof decodeAgentExtensions> | undefined;
    expect(() => (r = decodeAgentExtensions(bad))).not.toThrow();
    expect(r!.agentPolicy).toEqual({ allowedMarkets: ['XNAS'] });
    expect(r!.agentScope).toBeUndefined();
    expect(r!.modelHash).toBeUndefined();
    expect(r!.agentContext).toBeUndefined();
    expect(r!.parseErrors.map((e) => [e.name, e.oid, e.code])).toEqual([
      ['agentScope', AgentOids.agentScope, 'ACA_ERR_ASN1_DECODE'],
      ['modelHash', AgentOids.modelHash, 'ACA_ERR_ASN1_DECODE'],
      ['agentContext', AgentOids.agentContext, 'ACA_ERR_ASN1_DECODE'],
    ]);
    expect(r!.parseErrors[0]!.error).toMatch(/at least 1/);
  });

  it('drops an extension that appears twice and says so', () => {
    const r = decodeAgentExtensions([...exts, { oid: AgentOids.agentScope, value: encodeAgentScope(['write:*']) }]);
    expect(r.agentScope).toBeUndefined();
    expect(r.agentPolicy).toEqual({ revocationTimeoutSeconds: 60 });
    expect(r.parseErrors).toEqual([
      expect.objectContaining({ name: 'agentScope', error: expect.stringMatching(/more than once/) }),
    ]);
  });

  it('never throws on garbage input', () => {
    expect(decodeAgentExtensions(null as unknown as [])).toEqual({ parseErrors: [] });
    expect(decodeAgentExtensions([null, {}, { oid: 5 }] as unknown as [])).toEqual({ parseErrors: [] });
    expect(
      decodeAgentExtensions([{ oid: AgentOids.agentScope, value: 'x' as unknown as Uint8Array }]).parseErrors,
    ).toHaveLength(1);
  });

  it('follows an operator arc', () => {
    const arc = '1.3.6.1.4.1.55555.7';
    const oids = agentExtensionOids(arc);
    const codecs = agentExtensionCodecsForArc(arc);
    expect(codecs.agentScope.oid).toBe('1.3.6.1.4.1.55555.7.1.2');
    expect(agentExtensionCodecs(oids).modelHash.oid).toBe('1.3.6.1.4.1.55555.7.1.3');
    const mine = [{ oid: oids.agentScope, value: codecs.agentScope.encode(['read:x']) }];
    expect(decodeAgentExtensions(mine, oids).agentScope).toEqual(['read:x']);
    // under the default arc those OIDs are foreign, and ours are foreign under the operator's
    expect(decodeAgentExtensions(mine).agentScope).toBeUndefined();
    expect(decodeAgentExtensions(exts, oids)).toEqual({ parseErrors: [] });
  });

  it('reads the legacy 2.25 arc beside the current one, and beside an operator arc', () => {
    const legacy = agentExtensionOids(LEGACY_AGENT_CA_ARC);
    const old = [
      { oid: legacy.agentScope, value: encodeAgentScope(['read:old']) },
      { oid: legacy.agentPolicy, value: encodeAgentPolicy({ revocationTimeoutSeconds: 5 }) },
    ];
    expect(decodeAgentExtensions(old)).toEqual({
      agentScope: ['read:old'],
      agentPolicy: { revocationTimeoutSeconds: 5 },
      parseErrors: [],
    });
    expect(decodeAgentExtensions(old, readableAgentExtensionOids('1.3.6.1.4.1.55555.7')).agentScope).toEqual([
      'read:old',
    ]);
    // only the arcs asked for: the current arc alone does not read 2.25
    expect(decodeAgentExtensions(old, AgentOids)).toEqual({ parseErrors: [] });
    // the same extension under both arcs is a duplicate (RFC 5280 §4.2): neither is trusted
    const both = decodeAgentExtensions([...old, { oid: AgentOids.agentScope, value: encodeAgentScope(['write:*']) }]);
    expect(both.agentScope).toBeUndefined();
    expect(both.parseErrors).toEqual([
      expect.objectContaining({
        name: 'agentScope',
        oid: legacy.agentScope,
        error: expect.stringMatching(/more than once/),
      }),
    ]);
  });

  it('every component of the default arc fits the 2^31 - 1 cap; the legacy arc does not', () => {
    expect(oversizedOidComponents(AGENT_CA_ARC)).toEqual([]);
    expect(Math.max(...AGENT_CA_ARC.split('.').map(Number))).toBeLessThan(2 ** 23);
    expect(oversizedOidComponents(LEGACY_AGENT_CA_ARC)).toEqual(['8486429543056106623930373175689343363']);
    expect(readableAgentExtensionOids(LEGACY_AGENT_CA_ARC)).toHaveLength(1);
  });
});
