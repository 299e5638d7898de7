/**
 * Test vectors for counterparties and for our own cross-checks (`npm run vectors`): for every
 * CA key type a Root -> Intermediate hierarchy with its two delegated OCSP responders (RFC 6960
 * §4.2.2.2), agent certificates for every agent profile x agent key type with all four agent
 * extensions, and requests that must be refused, each with the error code (and lint) the
 * library gives. Written to vectors/ and described by vectors/manifest.json.
 *
 * Deterministic where it can be: every time comes from a FixedClock, so validity windows and
 * the manifest are the same on every run; keys, serials and ECDSA signatures are random.
 * Nothing secret is written: CA keys live in a temporary data directory that is deleted, agent
 * keys stay in memory. Only certificates, the CSRs used and the refused requests are kept.
 */
import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Authority } from '../src/authority/authority.js';
import type { AgentIssueRequest } from '../src/authority/agent-request.js';
import { algorithmIdentifier, bitString, integer, sequence, tlv } from '../src/asn1/der.js';
import { encodeName } from '../src/asn1/name.js';
import { agentExtensionOids, Oids } from '../src/asn1/oids.js';
import { toPem } from '../src/asn1/pem.js';
import type { AgentPolicy, ModelHash } from '../src/asn1/extensions/index.js';
import { FixedClock } from '../src/clock.js';
import { isAgentCaError, type ErrorCode } from '../src/errors.js';
import { algorithmInfo } from '../src/signer/algorithms.js';
import { generateKeyPair } from '../src/signer/soft-key.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { KEY_TYPES, type KeyType } from '../src/types.js';

export const VECTOR_TIME = '2026-01-01T00:00:00Z';
/** One day after VECTOR_TIME: inside every window (high-risk default 7 days, responders 30). */
export const VECTOR_VERIFY_AT = '2026-01-02T00:00:00.000Z';
export const VECTOR_CONFIG = Object.freeze({
  organization: 'Agent CA Test Vectors',
  agentDomains: ['agents.example'],
  baseUrl: 'http://127.0.0.1:8080',
});
export const AGENT_OPERATOR = 'Example Operator';
/** Hierarchy that the boundary and refused vectors are tried against. */
const REFERENCE_CA: KeyType = 'p256';

export type VectorKind = 'certificate' | 'csr-refused' | 'request-refused';

/** The extension values written into an agent certificate, as JSON (digest in hex). */
export interface AgentValues {
  scope: string[];
  policy: AgentPolicy;
  modelHash: { algorithm: ModelHash['algorithm']; digest: string };
  context: { tenantId: string; environment: string; agentInstanceId?: string };
}

export interface VectorEntry {
  /** Path relative to the manifest: a certificate PEM, a CSR PEM or a request JSON. */
  file: string;
  kind: VectorKind;
  profile: string;
  /** Key type of the certified (or refused) key: one of KEY_TYPES, or rsa1024, p521, ... */
  keyType: string;
  expect: 'valid' | 'refused';
  errorCode?: ErrorCode;
  lint?: string;
  /** ISO time for `openssl verify -attime`. */
  verifyAt: string;
  chain: { root: string; intermediate: string };
  caKeyType: KeyType;
  description: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  agentId?: string;
  /** The CSR the certificate was issued from (agent profile) or that was refused. */
  csr?: string;
  /** csr-refused: whether the CSR's self-signature itself verifies (`openssl req -verify`). */
  csrSignature?: 'verifies' | 'fails' | 'unparseable';
  agent?: AgentValues;
}

export interface VectorManifest {
  generator: 'scripts/make-vectors.ts';
  clock: string;
  config: typeof VECTOR_CONFIG;
  agentOperator: string;
  extensionOids: ReturnType<typeof agentExtensionOids>;
  vectors: VectorEntry[];
}

export interface MakeVectorsOptions {
  outDir: string;
  caKeyTypes?: readonly KeyType[];
  agentKeyTypes?: readonly KeyType[];
  log?: (line: string) => void;
}

/** A refused request as stored in refused/*.request.json: AgentIssueRequest with PEM keys. */
export interface StoredRequest extends Omit<AgentIssueRequest, 'csr' | 'publicKey' | 'modelHash'> {
  publicKey?: string;
  /** Path of a CSR file, relative to the manifest. */
  csrFile?: string;
  modelHash?: AgentValues['modelHash'];
}

/** StoredRequest (JSON) -> the library's request; `readFile` resolves csrFile. */
export function requestFromStored(r: StoredRequest, readFile: (rel: string) => Buffer): AgentIssueRequest {
  const { csrFile, modelHash, publicKey, ...rest } = r;
  return {
    ...rest,
    ...(publicKey !== undefined ? { publicKey } : {}),
    ...(csrFile !== undefined ? { csr: readFile(csrFile) } : {}),
    ...(modelHash
      ? { modelHash: { algorithm: modelHash.algorithm, digest: Buffer.from(modelHash.digest, 'hex') } }
      : {}),
  };
}

function agentValues(profile: string, kt: KeyType): AgentValues {
  const highRisk = profile === 'agent-high-risk';
  const algorithm = highRisk ? 'sha384' : 'sha256';
  return {
    scope: highRisk ? ['write:payments', 'read:/ledger/*'] : ['read:accounts', 'write:payments', 'read:/data/raw/*'],
    policy: highRisk
      ? {
          maxTransactionSize: { amount: '1250.50', currency: 'EUR' },
          allowedMarkets: ['crypto:BTC-USD'],
          revocationTimeoutSeconds: 30,
        }
      : {
          maxTransactionSize: { amount: '50000', currency: 'USD' },
          allowedMarkets: ['EUR_USD', 'GBP_USD'],
          revocationTimeoutSeconds: 60,
        },
    modelHash: { algorithm, digest: createHash(algorithm).update(`model:${profile}:${kt}`).digest('hex') },
    context: { tenantId: 'acme-corp', environment: highRisk ? 'staging' : 'production', agentInstanceId: `inst-${kt}` },
  };
}

function requestFields(
  v: AgentValues,
): Pick<AgentIssueRequest, 'scope' | 'policy' | 'modelHash' | 'tenant' | 'environment' | 'instanceId'> {
  return {
    scope: v.scope,
    policy: v.policy,
    modelHash: { algorithm: v.modelHash.algorithm, digest: Buffer.from(v.modelHash.digest, 'hex') },
    tenant: v.context.tenantId,
    environment: v.context.environment,
    ...(v.context.agentInstanceId ? { instanceId: v.context.agentInstanceId } : {}),
  };
}

const spkiOf = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'spki' });
const spkiPem = (k: KeyObject): string => k.export({ format: 'pem', type: 'spki' }).toString();

const csrPem = (der: Buffer): string => toPem(der, 'CERTIFICATE REQUEST');

/** CertificationRequestInfo (RFC 2986 §4.1): version, subject, SPKI, [0] no attributes. */
function csrInfo(cn: string, spki: Buffer, version = 0): Buffer {
  return sequence(
    integer(version),
    encodeName({ commonName: cn, organization: AGENT_OPERATOR }).der,
    spki,
    tlv(0xa0, Buffer.alloc(0)),
  );
}

/**
 * A PKCS#10 request signed with the subject's key (RFC 2986 §4.2). The options break it on
 * purpose for the refused vectors: a SHA-1 signature, a wrong version, a substituted key (the
 * signature covers the real key, the request names another), a flipped signature bit.
 */
function makeCsr(
  privateKey: KeyObject,
  publicKey: KeyObject,
  cn: string,
  opts: { sha1?: boolean; version?: number; substituteSpki?: Buffer; tamper?: boolean } = {},
): Buffer {
  const info = csrInfo(cn, spkiOf(publicKey), opts.version);
  let algId: Buffer;
  let signature: Buffer;
  if (opts.sha1) {
    // RFC 9155 deprecates SHA-1 signatures: refused even when they verify.
    algId = algorithmIdentifier(Oids.sha1WithRSAEncryption, 'null');
    signature = cryptoSign('sha1', info, privateKey);
  } else {
    const t = privateKey.asymmetricKeyType;
    const alg = algorithmInfo(
      t === 'ed25519' ? 'Ed25519' : t === 'rsa' ? 'sha256WithRSAEncryption' : 'ecdsaWithSHA256',
    );
    algId = alg.identifier;
    signature = cryptoSign(alg.digest, info, privateKey);
  }
  if (opts.tamper) signature[signature.length - 1]! ^= 0x01;
  const named = opts.substituteSpki ? csrInfo(cn, opts.substituteSpki, opts.version) : info;
  return sequence(named, algId, bitString(signature));
}

interface RefusedCase {
  name: string;
  kind: 'csr-refused' | 'request-refused';
  keyType: string;
  profile?: string;
  errorCode: ErrorCode;
  lint?: string;
  description: string;
  /** csr-refused: the file's content (PEM, or raw bytes for the garbage case). */
  csr?: string | Buffer;
  csrSignature?: VectorEntry['csrSignature'];
  request?: StoredRequest;
}

function refusedCases(keys: Map<KeyType, { privateKey: KeyObject; publicKey: KeyObject }>): RefusedCase[] {
  const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const p521 = ec('secp521r1');
  const k1 = ec('secp256k1');
  const ed448 = generateKeyPairSync('ed448');
  const p256 = keys.get('p256') ?? generateKeyPair('p256');
  const rsa2048 = keys.get('rsa2048') ?? generateKeyPair('rsa2048');
  const other = generateKeyPair('p256');
  const pub = spkiPem(p256.publicKey);
  const req = (agentId: string, extra: Partial<StoredRequest> = {}): StoredRequest => ({
    agentId,
    organization: AGENT_OPERATOR,
    publicKey: pub,
    ...extra,
  });
  const LINT = 'ACA_ERR_LINT_FAILED' as const;
  return [
    {
      name: 'csr-bad-signature',
      kind: 'csr-refused',
      csrSignature: 'fails',
      keyType: 'p256',
      errorCode: 'ACA_ERR_INPUT_CSR_SIGNATURE',
      description: 'CSR whose self-signature does not verify (last signature octet flipped)',
      csr: csrPem(makeCsr(p256.privateKey, p256.publicKey, 'tampered-bot', { tamper: true })),
    },
    {
      name: 'csr-key-substituted',
      kind: 'csr-refused',
      csrSignature: 'fails',
      keyType: 'p256',
      errorCode: 'ACA_ERR_INPUT_CSR_SIGNATURE',
      description: 'CSR naming a key other than the one that signed it (no proof of possession)',
      csr: csrPem(makeCsr(p256.privateKey, p256.publicKey, 'swapped-bot', { substituteSpki: spkiOf(other.publicKey) })),
    },
    {
      name: 'csr-sha1',
      kind: 'csr-refused',
      csrSignature: 'verifies',
      keyType: 'rsa2048',
      errorCode: 'ACA_ERR_INPUT_CSR_SIGNATURE',
      description: 'CSR signed with sha1WithRSAEncryption (valid signature, refused algorithm)',
      csr: csrPem(makeCsr(rsa2048.privateKey, rsa2048.publicKey, 'sha1-bot', { sha1: true })),
    },
    {
      name: 'csr-version-2',
      kind: 'csr-refused',
      csrSignature: 'verifies',
      keyType: 'p256',
      errorCode: 'ACA_ERR_INPUT_CSR_INVALID',
      description: 'CSR with version 1 (v2): RFC 2986 defines v1 (0) only',
      csr: csrPem(makeCsr(p256.privateKey, p256.publicKey, 'v2-bot', { version: 1 })),
    },
    {
      name: 'csr-garbage',
      kind: 'csr-refused',
      csrSignature: 'unparseable',
      keyType: 'none',
      errorCode: 'ACA_ERR_INPUT_CSR_INVALID',
      description: 'bytes that are not a PKCS#10 request',
      csr: Buffer.from('this is not a certification request\n'),
    },
    {
      name: 'csr-rsa1024',
      kind: 'csr-refused',
      csrSignature: 'verifies',
      keyType: 'rsa1024',
      errorCode: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID',
      description: 'valid CSR for an RSA-1024 key (below the RSA-2048 minimum)',
      csr: csrPem(makeCsr(rsa1024.privateKey, rsa1024.publicKey, 'weak-bot')),
    },
    {
      name: 'csr-p521',
      kind: 'csr-refused',
      csrSignature: 'verifies',
      keyType: 'p521',
      errorCode: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID',
      description: 'valid CSR for a P-521 key (only P-256 and P-384 are certified)',
      csr: csrPem(makeCsr(p521.privateKey, p521.publicKey, 'p521-bot')),
    },
    {
      name: 'csr-secp256k1',
      kind: 'csr-refused',
      csrSignature: 'verifies',
      keyType: 'secp256k1',
      errorCode: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID',
      description: 'valid CSR for a secp256k1 key',
      csr: csrPem(makeCsr(k1.privateKey, k1.publicKey, 'k1-bot')),
    },
    {
      name: 'public-key-rsa1024',
      kind: 'request-refused',
      keyType: 'rsa1024',
      errorCode: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID',
      description: 'bare RSA-1024 public key',
      request: req('weak-bot', { publicKey: spkiPem(rsa1024.publicKey) }),
    },
    {
      name: 'public-key-ed448',
      kind: 'request-refused',
      keyType: 'ed448',
      errorCode: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID',
      description: 'bare Ed448 public key',
      request: req('ed448-bot', { publicKey: spkiPem(ed448.publicKey) }),
    },
    {
      name: 'validity-366-days',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_validity_exceeds_profile_maximum',
      description: 'agent profile, 366 days (maximum 365)',
      request: req('long-bot', { validityDays: 366 }),
    },
    {
      name: 'high-risk-31-days',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent-high-risk',
      errorCode: LINT,
      lint: 'e_validity_exceeds_profile_maximum',
      description: 'agent-high-risk profile, 31 days (maximum 30)',
      request: req('risky-bot', { profile: 'agent-high-risk', validityDays: 31 }),
    },
    {
      name: 'validity-zero-days',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_INPUT_INVALID',
      description: 'validity of 0 days',
      request: req('zero-bot', { validityDays: 0 }),
    },
    {
      name: 'san-outside-agent-domain',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_agent_subject_alt_name',
      description: 'DNS SAN under a domain that is not an agent domain',
      request: req('trading-bot', { dnsNames: ['trading-bot.evil.example'] }),
    },
    {
      name: 'san-suffix-lookalike',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_agent_subject_alt_name',
      description: 'DNS SAN that ends with the agent domain text but is not under it',
      request: req('trading-bot', { dnsNames: ['trading-bot.notagents.example'] }),
    },
    {
      name: 'san-bare-agent-domain',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_agent_subject_alt_name',
      description: 'DNS SAN equal to the agent domain itself',
      request: req('trading-bot', { dnsNames: ['agents.example'] }),
    },
    {
      name: 'san-wildcard',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_agent_subject_alt_name',
      description: 'wildcard DNS SAN',
      request: req('trading-bot', { dnsNames: ['*.agents.example'] }),
    },
    {
      name: 'san-uppercase-dns',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_agent_subject_alt_name',
      description: 'DNS SAN with upper-case letters',
      request: req('trading-bot', { dnsNames: ['Trading-Bot.agents.example'] }),
    },
    {
      name: 'san-relative-uri',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: LINT,
      lint: 'e_agent_subject_alt_name',
      description: 'URI SAN that is not an absolute URI',
      request: req('trading-bot', { uris: ['agents/trading-bot'] }),
    },
    {
      name: 'agent-id-not-a-name',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_INPUT_INVALID',
      description: 'agent id with spaces and punctuation',
      request: req('trading bot!'),
    },
    {
      name: 'agent-id-too-long',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_INPUT_INVALID',
      description: 'agent id of 65 characters (CN upper bound 64)',
      request: req(`a${'b'.repeat(64)}`),
    },
    {
      name: 'agent-id-no-san-possible',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_INPUT_INVALID',
      description: 'no SAN given and the agent id is no DNS label: a SAN-less agent certificate cannot be requested',
      request: req('Trading_Bot'),
    },
    {
      name: 'organization-too-long',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_INPUT_INVALID',
      description: 'operator (O) of 65 characters',
      request: req('trading-bot', { organization: 'O'.repeat(65) }),
    },
    {
      name: 'profile-unknown',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent-unlimited',
      errorCode: 'ACA_ERR_PROFILE_UNKNOWN',
      description: 'profile that does not exist',
      request: req('trading-bot', { profile: 'agent-unlimited' }),
    },
    {
      name: 'profile-not-agent',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'intermediate',
      errorCode: 'ACA_ERR_PROFILE_INVALID',
      description: 'agent request under a CA profile',
      request: req('trading-bot', { profile: 'intermediate' }),
    },
    {
      name: 'scope-invalid-pattern',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_ASN1_ENCODE',
      description: 'scope entry that is no action pattern',
      request: req('trading-bot', { scope: ['x'] }),
    },
    {
      name: 'policy-bad-currency',
      kind: 'request-refused',
      keyType: 'p256',
      profile: 'agent',
      errorCode: 'ACA_ERR_ASN1_ENCODE',
      description: 'policy currency not an ISO 4217 code',
      request: req('trading-bot', { policy: { maxTransactionSize: { amount: '100', currency: 'usd' } } }),
    },
    {
      name: 'no-key',
      kind: 'request-refused',
      keyType: 'none',
      profile: 'agent',
      errorCode: 'ACA_ERR_INPUT_INVALID',
      description: 'neither a CSR nor a public key',
      request: { agentId: 'keyless-bot', organization: AGENT_OPERATOR },
    },
  ];
}

/** An authority with the vectors' config and clock, on a memory store (its soft keys go to dataDir). */
export async function openVectorAuthority(dataDir: string, keyType: KeyType): Promise<Authority> {
  const a = new Authority({ dataDir, store: await createMemoryStore(), clock: new FixedClock(VECTOR_TIME) });
  await a.load();
  await a.init({ config: { ...VECTOR_CONFIG, agentDomains: [...VECTOR_CONFIG.agentDomains], keyType }, keyType });
  return a;
}

export async function makeVectors(opts: MakeVectorsOptions): Promise<VectorManifest> {
  const caTypes = opts.caKeyTypes ?? KEY_TYPES;
  const agentTypes = opts.agentKeyTypes ?? KEY_TYPES;
  const log = opts.log ?? (() => {});
  const out = resolve(opts.outDir);
  const write = (rel: string, data: string | Buffer) => {
    mkdirSync(dirname(join(out, rel)), { recursive: true });
    writeFileSync(join(out, rel), data);
  };
  const vectors: VectorEntry[] = [];
  const agentKeys = new Map(agentTypes.map((kt) => [kt, generateKeyPair(kt)] as const));
  // One CSR per agent key type, shared by every CA: the agent profile is issued from exactly these bytes.
  const csrs = new Map<KeyType, string>();
  for (const [kt, k] of agentKeys) {
    csrs.set(kt, csrPem(makeCsr(k.privateKey, k.publicKey, `agent-${kt}`)));
    write(`csr/agent-${kt}.csr.pem`, csrs.get(kt)!);
  }
  const reference = caTypes.includes(REFERENCE_CA) ? REFERENCE_CA : caTypes[0]!;

  for (const caType of caTypes) {
    const tmp = mkdtempSync(join(tmpdir(), 'agent-ca-vectors-'));
    const a = await openVectorAuthority(tmp, caType);
    try {
      const dir = `ca-${caType}`;
      const chain = { root: `${dir}/root.pem`, intermediate: `${dir}/intermediate.pem` };
      const base = { verifyAt: VECTOR_VERIFY_AT, chain, caKeyType: caType };
      const hierarchy: [string, Buffer, string, string][] = [
        ['root.pem', a.ca('root').certificate.der, 'root', 'self-signed root CA'],
        ['intermediate.pem', a.ca('intermediate').certificate.der, 'intermediate', 'issuing CA, pathLen 0'],
        [
          'ocsp-root.pem',
          a.ca('root').responder.certificate.der,
          'ocsp-responder',
          'delegated OCSP responder of the root (RFC 6960 §4.2.2.2)',
        ],
        [
          'ocsp-intermediate.pem',
          a.ca('intermediate').responder.certificate.der,
          'ocsp-responder',
          'delegated OCSP responder of the intermediate',
        ],
      ];
      for (const [name, der, profile, description] of hierarchy) {
        write(`${dir}/${name}`, toPem(der));
        vectors.push({
          file: `${dir}/${name}`,
          kind: 'certificate',
          profile,
          keyType: caType,
          expect: 'valid',
          ...base,
          description,
        });
      }
      const issue = async (
        file: string,
        kt: KeyType,
        req: AgentIssueRequest,
        values: AgentValues,
        description: string,
        csr?: string,
      ) => {
        const c = await a.issue({ organization: AGENT_OPERATOR, ...requestFields(values), ...req });
        write(file, c.pem);
        const profile = req.profile ?? 'agent';
        vectors.push({
          file,
          kind: 'certificate',
          profile,
          keyType: kt,
          expect: 'valid',
          ...base,
          description,
          serial: c.serial,
          notBefore: c.notBefore.toISOString(),
          notAfter: c.notAfter.toISOString(),
          agentId: req.agentId,
          ...(csr ? { csr } : {}),
          agent: values,
        });
      };
      for (const profile of ['agent', 'agent-high-risk']) {
        for (const [kt, k] of agentKeys) {
          const values = agentValues(profile, kt);
          const agentId = `${profile === 'agent' ? 'trading-bot' : 'payments-bot'}-${kt}`;
          if (profile === 'agent') {
            await issue(
              `${dir}/${profile}/${kt}.pem`,
              kt,
              { agentId, profile, csr: csrs.get(kt)! },
              values,
              `${profile} certificate for a ${kt} key, issued from a CSR`,
              `csr/agent-${kt}.csr.pem`,
            );
          } else {
            await issue(
              `${dir}/${profile}/${kt}.pem`,
              kt,
              { agentId, profile, publicKey: spkiOf(k.publicKey) },
              values,
              `${profile} certificate for a ${kt} key, issued from a bare public key`,
            );
          }
        }
      }
      if (caType === reference) {
        const kt: KeyType = agentKeys.has('p256') ? 'p256' : agentTypes[0]!;
        const publicKey = spkiOf(agentKeys.get(kt)!.publicKey);
        const values = agentValues('agent', kt);
        const hr = agentValues('agent-high-risk', kt);
        await issue(
          `${dir}/boundary/agent-365-days.pem`,
          kt,
          { agentId: 'year-bot', publicKey, validityDays: 365 },
          values,
          'agent profile at its maximum: exactly 365 days, both ends inclusive (RFC 5280 §4.1.2.5)',
        );
        await issue(
          `${dir}/boundary/agent-high-risk-30-days.pem`,
          kt,
          { agentId: 'month-bot', publicKey, profile: 'agent-high-risk', validityDays: 30 },
          hr,
          'agent-high-risk profile at its maximum: exactly 30 days',
        );
        await issue(
          `${dir}/boundary/agent-dns-and-uri.pem`,
          kt,
          {
            agentId: 'uri-bot',
            publicKey,
            dnsNames: ['uri-bot.agents.example'],
            uris: ['spiffe://agents.example/acme-corp/uri-bot'],
          },
          values,
          'agent named by a DNS name and a URI SAN',
        );
        for (const c of refusedCases(agentKeys)) {
          const file = c.csr !== undefined ? `refused/${c.name}.csr.pem` : `refused/${c.name}.request.json`;
          const stored: StoredRequest = c.request ?? { agentId: c.name, organization: AGENT_OPERATOR, csrFile: file };
          write(file, c.csr ?? `${JSON.stringify(stored, null, 2)}\n`);
          // The manifest only says what the library really does: check it now.
          const got = await refusal(
            a,
            requestFromStored(stored, (rel) => readFileSync(join(out, rel))),
          );
          const want = c.lint ? [c.lint] : [];
          if (got.code !== c.errorCode || got.lints.join() !== want.join()) {
            throw new Error(
              `refused vector ${c.name}: expected ${c.errorCode} ${want.join()}, the library gave ${got.code ?? 'a certificate'} ${got.lints.join()}`,
            );
          }
          vectors.push({
            file,
            kind: c.kind,
            profile: c.profile ?? 'agent',
            keyType: c.keyType,
            expect: 'refused',
            errorCode: c.errorCode,
            ...(c.lint ? { lint: c.lint } : {}),
            ...base,
            description: c.description,
            agentId: stored.agentId,
            ...(c.csr !== undefined ? { csr: file, csrSignature: c.csrSignature ?? 'verifies' } : {}),
          });
        }
      }
      log(`${dir}: ${vectors.filter((v) => v.caKeyType === caType).length} vectors`);
    } finally {
      await a.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const manifest: VectorManifest = {
    generator: 'scripts/make-vectors.ts',
    clock: new Date(VECTOR_TIME).toISOString(),
    config: VECTOR_CONFIG,
    agentOperator: AGENT_OPERATOR,
    extensionOids: agentExtensionOids(),
    vectors,
  };
  write('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** What the library says to a request: its error code and the lints that failed, or no code when it issued. */
export async function refusal(a: Authority, req: AgentIssueRequest): Promise<{ code?: ErrorCode; lints: string[] }> {
  try {
    await a.issue(req);
    return { lints: [] };
  } catch (e) {
    if (!isAgentCaError(e)) throw e;
    const lints = e.details.lints;
    return { code: e.code, lints: Array.isArray(lints) ? lints.map(String) : [] };
  }
}

async function main(): Promise<void> {
  const outDir = resolve(fileURLToPath(new URL('../vectors/', import.meta.url)));
  // Only what this script generates is removed; README.md stays.
  for (const d of ['manifest.json', 'csr', 'refused', ...KEY_TYPES.map((k) => `ca-${k}`)])
    rmSync(join(outDir, d), { recursive: true, force: true });
  const m = await makeVectors({ outDir, log: (l) => console.log(l) });
  console.log(`wrote ${m.vectors.length} vectors to ${outDir}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
