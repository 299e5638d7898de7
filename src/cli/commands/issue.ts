import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AgentIssueRequest } from '../../authority/agent-request.js';
import type { AgentPolicy, ModelHash } from '../../asn1/extensions/index.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../signer/soft-key.js';
import { list, parse, positiveInt, required, result, UsageError, validityFromFlags, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { adminCall, serverOf } from '../remote.js';
import { toPem } from '../../asn1/pem.js';
import { withProgress } from '../progress.js';
import { parseKeyType } from './init.js';

export const issueUsage =
  'agent-ca issue --agent-id ID [--org ORG] [--scope a,b] [--max-tx 50000:USD] [--markets EUR_USD,GBP_USD] [--revocation-timeout S] [--model-hash sha256:HEX] [--tenant T] [--env production] [--instance-id I] [--dns NAME] [--uri URI] [--days N | --validity 24h|30d|90m] [--profile NAME] [--server URL] (--csr FILE | --public-key FILE | --generate-key OUT.key [--key-type T] | --kms-key new [--key-type T]) --out CERT.pem [--json]';

export function parseMaxTx(v: string | undefined): AgentPolicy['maxTransactionSize'] {
  if (v === undefined) return undefined;
  const m = v.match(/^([0-9]+(?:\.[0-9]+)?):([A-Za-z]{3})$/);
  if (!m) throw new UsageError(`--max-tx must look like 50000:USD, got ${JSON.stringify(v)}`);
  return { amount: m[1]!, currency: m[2]!.toUpperCase() };
}

export function parseModelHash(v: string | undefined): ModelHash | undefined {
  if (v === undefined) return undefined;
  const m = v.match(/^(sha256|sha384|sha512):([0-9a-fA-F]+)$/);
  if (!m || m[2]!.length % 2) throw new UsageError(`--model-hash must look like sha256:HEX, got ${JSON.stringify(v)}`);
  return { algorithm: m[1] as ModelHash['algorithm'], digest: Buffer.from(m[2]!, 'hex') };
}

export const issueOptions = {
  'agent-id': { type: 'string' },
  org: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'max-tx': { type: 'string' },
  markets: { type: 'string', multiple: true },
  'revocation-timeout': { type: 'string' },
  'model-hash': { type: 'string' },
  tenant: { type: 'string' },
  env: { type: 'string' },
  'instance-id': { type: 'string' },
  dns: { type: 'string', multiple: true },
  uri: { type: 'string', multiple: true },
  days: { type: 'string' },
  validity: { type: 'string' },
  profile: { type: 'string' },
  csr: { type: 'string' },
  'public-key': { type: 'string' },
  'generate-key': { type: 'string' },
  'key-type': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  data: { type: 'string' },
  server: { type: 'string' },
  'kms-key': { type: 'string' },
} as const;

type IssueValues = ReturnType<typeof parse<typeof issueOptions>>['values'];

/** Flags -> library request (shared with the admin API client path). */
export function requestFromFlags(v: IssueValues): AgentIssueRequest {
  const maxTx = parseMaxTx(v['max-tx']);
  const markets = list(v.markets);
  const timeout = positiveInt(v['revocation-timeout'], '--revocation-timeout');
  const policy: AgentPolicy | undefined =
    maxTx || markets || timeout !== undefined
      ? {
          ...(maxTx ? { maxTransactionSize: maxTx } : {}),
          ...(markets ? { allowedMarkets: markets } : {}),
          ...(timeout !== undefined ? { revocationTimeoutSeconds: timeout } : {}),
        }
      : undefined;
  const modelHash = parseModelHash(v['model-hash']);
  const scope = list(v.scope);
  const dns = list(v.dns);
  const uris = list(v.uri);
  const validity = validityFromFlags(v.validity, v.days);
  return {
    agentId: required(v['agent-id'], '--agent-id'),
    ...(v.org ? { organization: v.org } : {}),
    ...(scope ? { scope } : {}),
    ...(policy ? { policy } : {}),
    ...(modelHash ? { modelHash } : {}),
    ...(v.tenant ? { tenant: v.tenant } : {}),
    ...(v.env ? { environment: v.env } : {}),
    ...(v['instance-id'] ? { instanceId: v['instance-id'] } : {}),
    ...(dns ? { dnsNames: dns } : {}),
    ...(uris ? { uris } : {}),
    ...validity,
    ...(v.profile ? { profile: v.profile } : {}),
    actor: 'cli',
  };
}

function readInput(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function issueCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, issueOptions);
  const out = required(v.out, '--out');
  const req = requestFromFlags(v);
  const sources = [v.csr, v['public-key'], v['generate-key'], v['kms-key']].filter((x) => x !== undefined);
  if (sources.length !== 1)
    throw new UsageError('give exactly one of --csr FILE, --public-key FILE, --generate-key OUT.key, --kms-key new');
  let privateKeyPem: string | undefined;
  // A private key is only ever written to a new file (mode 0600 applies at creation only);
  // checked before issuing, so a refused path leaves no certificate without its key.
  if (v['generate-key'] !== undefined && existsSync(v['generate-key']))
    throw new UsageError(`--generate-key: ${v['generate-key']} already exists; refusing to overwrite a key file`);
  if (v['kms-key'] !== undefined) {
    if (v['kms-key'] !== 'new')
      throw new UsageError('--kms-key takes `new` (the key is created in AWS KMS; its URI is recorded)');
    req.createKeyIn = 'awskms';
    const kt = parseKeyType(v['key-type']);
    if (kt) req.keyType = kt;
  } else if (v.csr) req.csr = readInput(v.csr, '--csr');
  else if (v['public-key']) req.publicKey = readInput(v['public-key'], '--public-key');
  else {
    const keyType = parseKeyType(v['key-type']) ?? 'p256';
    const { privateKey, publicKey } = await withProgress(io, `generating a ${keyType} key`, async () =>
      generateKeyPair(keyType),
    );
    privateKeyPem = exportPrivateKeyPem(privateKey);
    req.publicKey = publicKey.export({ format: 'der', type: 'spki' });
  }
  const server = serverOf(v, io);
  if (server) {
    const body = {
      ...req,
      actor: undefined,
      ...(req.csr ? { csr: Buffer.from(req.csr).toString() } : {}),
      ...(req.publicKey
        ? {
            publicKey:
              typeof req.publicKey === 'string'
                ? req.publicKey
                : Buffer.from(req.publicKey).toString().includes('BEGIN')
                  ? Buffer.from(req.publicKey).toString()
                  : toPem(req.publicKey, 'PUBLIC KEY'),
          }
        : {}),
      ...(req.modelHash
        ? {
            modelHash: {
              algorithm: req.modelHash.algorithm,
              digest: Buffer.from(req.modelHash.digest).toString('hex'),
            },
          }
        : {}),
    };
    const r = await adminCall<{ serial: string; certificate: string; notBefore: string; notAfter: string }>(
      server,
      io,
      'POST',
      'api/v1/certificates',
      body,
    );
    if (privateKeyPem) writeFileSync(v['generate-key']!, privateKeyPem, { mode: 0o600, flag: 'wx' });
    writeFileSync(out, r.certificate);
    result(
      io,
      v.json,
      {
        serial: r.serial,
        agentId: req.agentId,
        notBefore: r.notBefore,
        notAfter: r.notAfter,
        certificate: out,
        ...(privateKeyPem ? { privateKey: v['generate-key'] } : {}),
      },
      [`issued ${r.serial} for ${req.agentId}, valid ${r.notBefore} .. ${r.notAfter}`],
    );
    return 0;
  }
  return withAuthority(io, v.data, async (a) => {
    const issued = await a.issue(req);
    // The key is written only once the certificate exists, so a refused request leaves no orphan key.
    if (privateKeyPem) writeFileSync(v['generate-key']!, privateKeyPem, { mode: 0o600, flag: 'wx' });
    writeFileSync(out, issued.pem);
    result(
      io,
      v.json,
      {
        serial: issued.serial,
        agentId: req.agentId,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        certificate: out,
        ...(privateKeyPem ? { privateKey: v['generate-key'] } : {}),
        warnings: issued.warnings,
      },
      [
        `issued ${issued.serial} for ${req.agentId}, valid ${issued.notBefore.toISOString()} .. ${issued.notAfter.toISOString()}`,
        `certificate: ${out}${privateKeyPem ? `, private key: ${v['generate-key']}` : ''}${req.createKeyIn ? ' (private key held in KMS; see `agent-ca show` for its URI)' : ''}`,
      ],
    );
    for (const w of issued.warnings) io.err(`warning: ${w}`);
    return 0;
  });
}
