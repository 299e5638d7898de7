/**
 * `agent-ca agent register|list|show|certify|decommission` (docs/tenancy.md): the agent
 * registry, on the data directory or through a running server (--server URL, AGENT_CA_TOKEN).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { list, parse, required, UsageError, validityFromFlags, type Io } from '../args.js';
import { adminCall } from '../remote.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../signer/soft-key.js';
import { toPem } from '../../asn1/pem.js';
import type { CertifyInput } from '../../tenancy/agent-service.js';
import { parseMaxTx, parseModelHash } from './issue.js';
import { parseKeyType } from './init.js';
import { onTenancy } from './token.js';

export const agentUsage =
  'agent-ca agent register ID --tenant T [--org O] [--env E] [--scope a,b] [--max-tx 50000:USD] [--markets X,Y] [--model-hash sha256:HEX] [--profile P] | agent list [--tenant T] [--status S] | agent show ID | agent certify ID [--days N | --validity 24h|30d|90m] (--public-key FILE | --csr FILE | --generate-key OUT.key | --kms-key new) --out CERT.pem | agent decommission ID   [--server URL]';

const common = { data: { type: 'string' }, server: { type: 'string' } } as const;

function one(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected one agent ID; usage: ${agentUsage}`);
  return positionals[0]!;
}

function readInput(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function register(rest: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    rest,
    {
      ...common,
      tenant: { type: 'string' },
      org: { type: 'string' },
      env: { type: 'string' },
      scope: { type: 'string', multiple: true },
      'max-tx': { type: 'string' },
      markets: { type: 'string', multiple: true },
      'model-hash': { type: 'string' },
      profile: { type: 'string' },
    },
    true,
  );
  const agentId = one(positionals);
  const tenant = required(v.tenant, '--tenant');
  const maxTx = parseMaxTx(v['max-tx']);
  const markets = list(v.markets);
  const mh = parseModelHash(v['model-hash']);
  const scope = list(v.scope);
  const body = {
    agentId,
    tenant,
    ...(v.org ? { organization: v.org } : {}),
    ...(v.env ? { environment: v.env } : {}),
    ...(scope ? { scope } : {}),
    ...(maxTx || markets
      ? { policy: { ...(maxTx ? { maxTransactionSize: maxTx } : {}), ...(markets ? { allowedMarkets: markets } : {}) } }
      : {}),
    ...(mh ? { modelHash: { algorithm: mh.algorithm, digest: Buffer.from(mh.digest).toString('hex') } } : {}),
    ...(v.profile ? { profile: v.profile } : {}),
  };
  const r = await onTenancy(
    io,
    v,
    (s) => adminCall<{ agentId: string; tenant: string }>(s, io, 'POST', 'api/v1/agents', body),
    (t) => t.agents.register(tenant, body, 'cli'),
  );
  io.out(`registered agent ${r.agentId} in tenant ${r.tenant}`);
  return 0;
}

async function certify(rest: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    rest,
    {
      ...common,
      days: { type: 'string' },
      validity: { type: 'string' },
      'public-key': { type: 'string' },
      csr: { type: 'string' },
      'generate-key': { type: 'string' },
      'kms-key': { type: 'string' },
      'key-type': { type: 'string' },
      out: { type: 'string' },
    },
    true,
  );
  const agentId = one(positionals);
  const out = required(v.out, '--out');
  const sources = [v.csr, v['public-key'], v['generate-key'], v['kms-key']].filter((x) => x !== undefined);
  if (sources.length !== 1)
    throw new UsageError('give exactly one of --public-key FILE, --csr FILE, --generate-key OUT.key, --kms-key new');
  if (v['generate-key'] !== undefined && existsSync(v['generate-key']))
    throw new UsageError(`--generate-key: ${v['generate-key']} already exists; refusing to overwrite a key file`);
  if (v['kms-key'] !== undefined && v['kms-key'] !== 'new')
    throw new UsageError('--kms-key takes `new` (the key is created in AWS KMS; its URI is recorded)');
  const keyType = parseKeyType(v['key-type']);
  const input: CertifyInput = {
    ...validityFromFlags(v.validity, v.days),
    ...(keyType ? { keyType } : {}),
  };
  let privateKeyPem: string | undefined;
  if (v['kms-key']) input.createKeyIn = 'awskms';
  else if (v.csr) input.csr = readInput(v.csr, '--csr');
  else if (v['public-key']) input.publicKey = readInput(v['public-key'], '--public-key');
  else {
    const pair = generateKeyPair(keyType ?? 'p256');
    privateKeyPem = exportPrivateKeyPem(pair.privateKey);
    input.publicKey = toPem(pair.publicKey.export({ format: 'der', type: 'spki' }), 'PUBLIC KEY');
  }
  const r = await onTenancy(
    io,
    v,
    (s) =>
      adminCall<{ serial: string; certificate: string; notAfter: string; keyUri?: string }>(
        s,
        io,
        'POST',
        `api/v1/agents/${encodeURIComponent(agentId)}/certify`,
        input,
      ),
    async (t) => {
      const c = await t.agents.certify(agentId, input, 'cli');
      return {
        serial: c.serial,
        certificate: c.pem,
        notAfter: c.notAfter.toISOString(),
        ...(c.keyUri ? { keyUri: c.keyUri } : {}),
      };
    },
  );
  // The key file is written only once the certificate exists, so a refusal leaves no orphan key.
  if (privateKeyPem) writeFileSync(v['generate-key']!, privateKeyPem, { mode: 0o600, flag: 'wx' });
  writeFileSync(out, r.certificate);
  io.out(
    `certified ${agentId}: ${r.serial}, valid until ${r.notAfter}; certificate: ${out}${privateKeyPem ? `, private key: ${v['generate-key']}` : ''}${r.keyUri ? `, key: ${r.keyUri}` : ''}`,
  );
  return 0;
}

export async function agentCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'register':
      return register(rest, io);
    case 'certify':
      return certify(rest, io);
    case 'list': {
      const { values: v } = parse(rest, { ...common, tenant: { type: 'string' }, status: { type: 'string' } });
      const q = new URLSearchParams({
        ...(v.tenant ? { tenant: v.tenant } : {}),
        ...(v.status ? { status: v.status } : {}),
      }).toString();
      const agents = await onTenancy(
        io,
        v,
        async (s) =>
          (
            await adminCall<{ agents: { agentId: string; tenant: string; status: string; currentSerial?: string }[] }>(
              s,
              io,
              'GET',
              `api/v1/agents${q ? `?${q}` : ''}`,
            )
          ).agents,
        async (t) =>
          t.agents.registry.list(
            v.tenant ? [v.tenant] : (await t.tenants.list()).map((x) => x.name),
            v.status as never,
          ),
      );
      io.out(['agent', 'tenant', 'status', 'current serial'].join('\t'));
      for (const a of agents) io.out([a.agentId, a.tenant, a.status, a.currentSerial ?? '-'].join('\t'));
      return 0;
    }
    case 'show': {
      const { values: v, positionals } = parse(rest, common, true);
      const id = one(positionals);
      const view = await onTenancy(
        io,
        v,
        (s) => adminCall<Record<string, unknown>>(s, io, 'GET', `api/v1/agents/${encodeURIComponent(id)}`),
        (t) => t.agents.view(id),
      );
      io.out(JSON.stringify(view, null, 2));
      return 0;
    }
    case 'decommission': {
      const { values: v, positionals } = parse(rest, common, true);
      const id = one(positionals);
      const r = await onTenancy(
        io,
        v,
        (s) =>
          adminCall<{ agentId: string; decommissioned?: { serials: string[] } }>(
            s,
            io,
            'DELETE',
            `api/v1/agents/${encodeURIComponent(id)}`,
          ),
        (t) => t.agents.decommission(id, 'cli'),
      );
      io.out(
        `decommissioned ${r.agentId}: revoked ${(r.decommissioned?.serials ?? []).join(', ') || 'no certificate'} (cessationOfOperation)`,
      );
      return 0;
    }
    default:
      throw new UsageError(`usage: ${agentUsage}`);
  }
}
