/**
 * The user's one-call certification, accepted as written (snake_case in, snake_case out):
 *   POST /api/v1/agents/certify
 *   { "agent_id", "organization", "max_transaction_size_usd", "allowed_markets", "validity_days" }
 *   -> { "certificate_pem", "kms_key_arn", "serial_number", "valid_until", "agent_id", ... }
 * An unknown agent is registered in the caller's tenant first; a known one has the given fields
 * applied to its registration (audited) before it is certified. With no public_key / csr, the
 * agent's key is created in AWS KMS and only its reference is kept (kms_key_arn).
 */
import { AgentCaError } from '../../errors.js';
import type { AgentService } from '../../tenancy/agent-service.js';
import { refuseFields, requireObject } from '../../tenancy/agent-spec.js';
import { tenantFor, type Principal } from '../../tenancy/roles.js';

const FIELDS = [
  'agent_id',
  'organization',
  'max_transaction_size_usd',
  'allowed_markets',
  'validity_days',
  'tenant',
  'scope',
  'environment',
  'model_hash',
  'public_key',
  'csr',
];

function modelHashOf(v: unknown, bad: Record<string, string>): unknown {
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? v.match(/^(sha256|sha384|sha512):([0-9a-fA-F]+)$/) : null;
  if (!m) {
    bad.model_hash = 'must look like sha256:HEX';
    return undefined;
  }
  return { algorithm: m[1], digest: m[2] };
}

export async function oneCallCertify(
  s: AgentService,
  p: Principal,
  body: unknown,
  actor: string,
): Promise<Record<string, unknown>> {
  const b = requireObject(body);
  const bad: Record<string, string> = {};
  for (const k of Object.keys(b)) if (!FIELDS.includes(k)) bad[k] = 'unknown field';
  const max = b.max_transaction_size_usd;
  const maxAmount =
    typeof max === 'number' && Number.isFinite(max) && max >= 0
      ? String(max)
      : typeof max === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(max)
        ? max
        : undefined;
  if (max !== undefined && maxAmount === undefined) bad.max_transaction_size_usd = 'must be a non-negative number';
  const days = b.validity_days;
  if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 1))
    bad.validity_days = 'must be a positive integer';
  const modelHash = modelHashOf(b.model_hash, bad);
  refuseFields(bad);
  const tenant = tenantFor(p, typeof b.tenant === 'string' ? b.tenant : undefined);
  if (tenant === undefined)
    throw new AgentCaError('INPUT_INVALID', 'tenant is required (an admin token spans every tenant)', {
      fields: { tenant: 'is required' },
    });
  const policy =
    maxAmount !== undefined || b.allowed_markets !== undefined
      ? {
          ...(maxAmount !== undefined ? { maxTransactionSize: { amount: maxAmount, currency: 'USD' } } : {}),
          ...(b.allowed_markets !== undefined ? { allowedMarkets: b.allowed_markets } : {}),
        }
      : undefined;
  const spec = {
    ...(b.organization !== undefined ? { organization: b.organization } : {}),
    ...(b.environment !== undefined ? { environment: b.environment } : {}),
    ...(b.scope !== undefined ? { scope: b.scope } : {}),
    ...(policy ? { policy } : {}),
    ...(modelHash ? { modelHash } : {}),
  };
  const agentId = b.agent_id;
  const existing = typeof agentId === 'string' ? await s.registry.get(agentId) : undefined;
  if (existing && existing.tenant !== tenant)
    throw new AgentCaError('AGENT_EXISTS', `agent id ${existing.agentId} is registered to another tenant`, { agentId });
  if (!existing) await s.register(tenant, { agentId, ...spec }, actor);
  else if (Object.keys(spec).length) await s.patch(existing.agentId, spec, actor);
  const c = await s.certify(
    agentId as string,
    {
      ...(typeof b.public_key === 'string' ? { publicKey: b.public_key } : {}),
      ...(typeof b.csr === 'string' ? { csr: b.csr } : {}),
      ...(days !== undefined ? { validityDays: days as number } : {}),
    },
    actor,
  );
  let arn: string | null = null;
  if (c.keyUri?.startsWith('awskms:')) {
    const signer = await s.authority.openKey(c.keyUri);
    arn = (signer as { keyArn?: string }).keyArn ?? null;
    await signer.close?.();
  }
  return {
    certificate_pem: c.pem,
    kms_key_arn: arn,
    serial_number: c.serial,
    valid_until: c.notAfter.toISOString(),
    agent_id: c.agent.agentId,
    tenant: c.agent.tenant,
    valid_from: c.notBefore.toISOString(),
    chain_pem: c.chainPem,
    key_uri: c.keyUri ?? null,
    warnings: c.warnings,
  };
}
