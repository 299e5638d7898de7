/**
 * Cross-checks with the openssl binary (every artifact a counterparty sees is checked by
 * openssl): openssl builds extension values from ASN1_generate_nconf config text
 * (`openssl asn1parse -genconf`) and a whole certificate (`openssl req -x509`), our decoders
 * read them; and `openssl asn1parse` reads what our encoders write.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Asn1DecodeError } from '../../../src/errors.js';
import { AgentOids } from '../../../src/asn1/oids.js';
import {
  expectContext,
  expectSequence,
  parseDer,
  readBoolean,
  readOctetString,
  readOid,
} from '../../../src/asn1/decode.js';
import {
  decodeAgentContext,
  decodeAgentExtensions,
  decodeAgentPolicy,
  decodeAgentScope,
  decodeModelHash,
  encodeAgentContext,
  encodeAgentPolicy,
  encodeAgentScope,
  encodeModelHash,
} from '../../../src/asn1/extensions/index.js';

let dir: string;
let n = 0;

function openssl(args: string[]): string {
  return execFileSync('openssl', args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** DER of the `asn1 = ...` value described by an OpenSSL ASN1_generate_nconf config. */
function genconf(config: string): Buffer {
  const id = ++n;
  writeFileSync(join(dir, `v${id}.cnf`), config);
  openssl(['asn1parse', '-genconf', `v${id}.cnf`, '-out', `v${id}.der`, '-noout']);
  return readFileSync(join(dir, `v${id}.der`));
}

/** openssl's dump of our DER, one line per element: depth, then the rest with spaces collapsed. */
function asn1parse(der: Buffer): string[] {
  const id = ++n;
  writeFileSync(join(dir, `o${id}.der`), der);
  return openssl(['asn1parse', '-inform', 'DER', '-in', `o${id}.der`])
    .trim()
    .split('\n')
    .map((l) =>
      l
        .replace(/^\s*\d+:d=(\d+)\s+hl=\d+\s+l=\s*\d+\s+/, '$1 ')
        .trimEnd()
        .replace(/\s+/g, ' '),
    );
}

const POLICY_SECTIONS = `[policy]
money = IMPLICIT:0,SEQUENCE:money
markets = IMPLICIT:1,SEQUENCE:markets
timeout = IMPLICIT:2,INTEGER:300
[money]
amount = PRINTABLESTRING:1250.50
currency = PRINTABLESTRING:USD
[markets]
m1 = UTF8:XNAS
m2 = UTF8:crypto:BTC-USD
`;
const SCOPE_SECTIONS = `[scope]
p1 = UTF8:read:accounts
p2 = UTF8:write:/data/processed/*
p3 = UTF8:read:/data/raw/*
`;
const DIGEST = 'a1'.repeat(32);
const HASH_SECTIONS = `[hash]
alg = SEQUENCE:alg
digest = FORMAT:HEX,OCTETSTRING:${DIGEST}
[alg]
oid = OID:sha256
`;
const CONTEXT_SECTIONS = `[context]
tenant = UTF8:acme-corp
env = UTF8:production
instance = UTF8:inst-42
`;

const POLICY = {
  maxTransactionSize: { amount: '1250.50', currency: 'USD' },
  allowedMarkets: ['XNAS', 'crypto:BTC-USD'],
  revocationTimeoutSeconds: 300,
};
const SCOPE = ['read:accounts', 'write:/data/processed/*', 'read:/data/raw/*'];
const HASH = { algorithm: 'sha256' as const, digest: Buffer.from(DIGEST, 'hex') };
const CONTEXT = { tenantId: 'acme-corp', environment: 'production', agentInstanceId: 'inst-42' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-ca-asn1-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('openssl-encoded values decode with our codecs', () => {
  it('agentPolicy', () => {
    const der = genconf(`asn1 = SEQUENCE:policy\n${POLICY_SECTIONS}`);
    expect(decodeAgentPolicy(der)).toEqual(POLICY);
    expect(der).toEqual(encodeAgentPolicy(POLICY));
  });

  it('agentPolicy with a future [3] field appended', () => {
    const der = genconf(
      `asn1 = SEQUENCE:p\n[p]\nt = IMPLICIT:2,INTEGER:60\nx = IMPLICIT:3,UTF8:future\ny = EXPLICIT:4,SEQUENCE:z\n[z]\nb = BOOLEAN:TRUE\n`,
    );
    expect(decodeAgentPolicy(der)).toEqual({ revocationTimeoutSeconds: 60 });
  });

  it('agentScope', () => {
    const der = genconf(`asn1 = SEQUENCE:scope\n${SCOPE_SECTIONS}`);
    expect(decodeAgentScope(der)).toEqual(SCOPE);
  });

  it('modelHash, with absent and with NULL parameters', () => {
    expect(decodeModelHash(genconf(`asn1 = SEQUENCE:hash\n${HASH_SECTIONS}`))).toEqual(HASH);
    const withNull = genconf(`asn1 = SEQUENCE:hash\n${HASH_SECTIONS}params = NULL\n`);
    expect(decodeModelHash(withNull)).toEqual(HASH);
  });

  it('agentContext', () => {
    expect(decodeAgentContext(genconf(`asn1 = SEQUENCE:context\n${CONTEXT_SECTIONS}`))).toEqual(CONTEXT);
  });

  it.each([
    [
      'a 2-letter currency',
      'asn1 = SEQUENCE:p\n[p]\nm = IMPLICIT:0,SEQUENCE:m\n[m]\na = PRINTABLESTRING:10\nc = PRINTABLESTRING:US\n',
      decodeAgentPolicy,
      /currency: 2 character/,
    ],
    ['a negative timeout', 'asn1 = SEQUENCE:p\n[p]\nt = IMPLICIT:2,INTEGER:-5\n', decodeAgentPolicy, /-5 outside/],
    ['an untagged timeout', 'asn1 = SEQUENCE:p\n[p]\nt = INTEGER:5\n', decodeAgentPolicy, /unexpected INTEGER/],
    ['an empty scope', 'asn1 = SEQUENCE:s\n[s]\n', decodeAgentScope, /at least 1/],
    [
      'invalid UTF-8 in a scope entry',
      'asn1 = SEQUENCE:s\n[s]\na = IMPLICIT:12U,FORMAT:HEX,OCTETSTRING:c0af\n',
      decodeAgentScope,
      /invalid UTF-8/,
    ],
    [
      'a SHA-384 OID with a 32-octet digest',
      `asn1 = SEQUENCE:h\n[h]\nalg = SEQUENCE:alg\nd = FORMAT:HEX,OCTETSTRING:${DIGEST}\n[alg]\noid = OID:sha384\n`,
      decodeModelHash,
      /32 octets, sha384 digests are 48/,
    ],
  ])('rejects %s', (_name, config, decode, reason) => {
    const der = genconf(config);
    expect(() => decode(der)).toThrow(Asn1DecodeError);
    expect(() => decode(der)).toThrow(reason);
  });
});

describe('an openssl-made certificate carrying all four extensions', () => {
  it('decodes through decodeAgentExtensions', () => {
    const o = AgentOids;
    writeFileSync(
      join(dir, 'req.cnf'),
      `[req]
distinguished_name = dn
prompt = no
[dn]
CN = trading-bot-v2
O = Example Operator
[agent_ext]
basicConstraints = critical,CA:FALSE
${o.agentPolicy} = ASN1:SEQUENCE:policy
${o.agentScope} = ASN1:SEQUENCE:scope
${o.modelHash} = ASN1:SEQUENCE:hash
${o.agentContext} = ASN1:SEQUENCE:context
${POLICY_SECTIONS}${SCOPE_SECTIONS}${HASH_SECTIONS}${CONTEXT_SECTIONS}`,
    );
    openssl([
      'req',
      '-x509',
      '-new',
      '-config',
      'req.cnf',
      '-extensions',
      'agent_ext',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'key.pem',
      '-days',
      '1',
      '-outform',
      'DER',
      '-out',
      'cert.der',
    ]);
    const cert = parseDer(readFileSync(join(dir, 'cert.der')), 'Certificate');
    // Certificate.tbsCertificate.[3] extensions (RFC 5280 §4.1)
    const tbs = expectSequence(cert.children[0]!, 'TBSCertificate');
    const extsWrapper = tbs.find((c) => c.tagClass === 'context' && c.tagNumber === 3)!;
    expectContext(extsWrapper, 3, true, 'extensions');
    const extensions = expectSequence(extsWrapper.children[0]!, 'Extensions').map((e) => {
      const [id, second, third] = expectSequence(e, 'Extension', { min: 2, max: 3 });
      const critical = third ? readBoolean(second!, 'critical') : false;
      return { oid: readOid(id!, 'extnID'), critical, value: readOctetString((third ?? second)!, 'extnValue') };
    });
    const ours = extensions.filter((e) => (Object.values(o) as string[]).includes(e.oid));
    expect(ours.map((e) => e.critical)).toEqual([false, false, false, false]);
    expect(extensions.find((e) => e.oid === '2.5.29.19')?.critical).toBe(true);
    expect(decodeAgentExtensions(extensions)).toEqual({
      agentPolicy: POLICY,
      agentScope: SCOPE,
      modelHash: HASH,
      agentContext: CONTEXT,
      parseErrors: [],
    });
    // and openssl itself names our OIDs as it reads the certificate back
    const text = openssl(['x509', '-inform', 'DER', '-in', 'cert.der', '-noout', '-text']);
    for (const id of Object.values(o)) expect(text).toContain(id);
  });
});

describe('openssl asn1parse reads what our encoders write', () => {
  it('agentPolicy', () => {
    expect(asn1parse(encodeAgentPolicy(POLICY))).toEqual([
      '0 cons: SEQUENCE',
      '1 cons: cont [ 0 ]',
      '2 prim: PRINTABLESTRING :1250.50',
      '2 prim: PRINTABLESTRING :USD',
      '1 cons: cont [ 1 ]',
      '2 prim: UTF8STRING :XNAS',
      '2 prim: UTF8STRING :crypto:BTC-USD',
      '1 prim: cont [ 2 ]',
    ]);
  });

  it('agentScope', () => {
    expect(asn1parse(encodeAgentScope(SCOPE))).toEqual([
      '0 cons: SEQUENCE',
      ...SCOPE.map((s) => `1 prim: UTF8STRING :${s}`),
    ]);
  });

  it('modelHash', () => {
    expect(asn1parse(encodeModelHash(HASH))).toEqual([
      '0 cons: SEQUENCE',
      '1 cons: SEQUENCE',
      '2 prim: OBJECT :sha256',
      `1 prim: OCTET STRING [HEX DUMP]:${DIGEST.toUpperCase()}`,
    ]);
  });

  it('agentContext', () => {
    expect(asn1parse(encodeAgentContext(CONTEXT))).toEqual([
      '0 cons: SEQUENCE',
      '1 prim: UTF8STRING :acme-corp',
      '1 prim: UTF8STRING :production',
      '1 prim: UTF8STRING :inst-42',
    ]);
  });
});
