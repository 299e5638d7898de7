/**
 * JSON body of POST /api/v1/certificates -> AgentIssueRequest. Field problems are collected
 * and reported together (problem+json `details.fields`), so a client fixes them in one go.
 */
import type { AgentIssueRequest } from '../../authority/agent-request.js';
import type { ModelHash } from '../../asn1/extensions/index.js';
import { AgentCaError } from '../../errors.js';
import { unknownPolicyFields } from '../../asn1/extensions/agent-policy.js';
import { KEY_TYPES, type KeyType } from '../../types.js';

type Json = Record<string, unknown>;

export function issueRequestFromJson(body: unknown, actor: string): AgentIssueRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AgentCaError('INPUT_INVALID', 'body must be a JSON object');
  const b = body as Json;
  const bad: Record<string, string> = {};
  const str = (k: string): string | undefined => {
    const v = b[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) bad[k] = 'must be a non-empty string';
    return typeof v === 'string' ? v : undefined;
  };
  const strList = (k: string): string[] | undefined => {
    const v = b[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      bad[k] = 'must be an array of strings';
      return undefined;
    }
    return v as string[];
  };
  const agentId = str('agentId');
  if (agentId === undefined && !bad.agentId) bad.agentId = 'is required';
  const csr = str('csr');
  const publicKey = str('publicKey');
  const createKeyIn = str('createKeyIn');
  if (createKeyIn !== undefined && !['awskms', 'pkcs11'].includes(createKeyIn))
    bad.createKeyIn = 'must be awskms or pkcs11';
  const keyType = str('keyType');
  if (keyType !== undefined && !KEY_TYPES.includes(keyType as KeyType))
    bad.keyType = `must be one of ${KEY_TYPES.join(', ')}`;
  if ([csr, publicKey, createKeyIn].filter((x) => x !== undefined).length !== 1)
    bad.csr = 'give exactly one of csr (PEM), publicKey (PEM SPKI) or createKeyIn';
  let modelHash: ModelHash | undefined;
  if (b.modelHash !== undefined) {
    const m = b.modelHash as Json;
    if (
      typeof m !== 'object' ||
      m === null ||
      !['sha256', 'sha384', 'sha512'].includes(m.algorithm as string) ||
      typeof m.digest !== 'string' ||
      !/^([0-9a-fA-F]{2})+$/.test(m.digest)
    ) {
      bad.modelHash = 'must be { algorithm: sha256|sha384|sha512, digest: hex }';
    } else if (Object.keys(m).some((k) => k !== 'algorithm' && k !== 'digest')) {
      for (const k of Object.keys(m)) if (k !== 'algorithm' && k !== 'digest') bad[`modelHash.${k}`] = 'unknown field';
    } else modelHash = { algorithm: m.algorithm as ModelHash['algorithm'], digest: Buffer.from(m.digest, 'hex') };
  }
  const validityDays = b.validityDays;
  if (
    validityDays !== undefined &&
    (typeof validityDays !== 'number' || !Number.isInteger(validityDays) || validityDays < 1)
  )
    bad.validityDays = 'must be a positive integer';
  const validitySeconds = b.validitySeconds;
  if (
    validitySeconds !== undefined &&
    (typeof validitySeconds !== 'number' || !Number.isInteger(validitySeconds) || validitySeconds < 60)
  )
    bad.validitySeconds = 'must be an integer of at least 60';
  if (b.policy !== undefined && (typeof b.policy !== 'object' || b.policy === null || Array.isArray(b.policy)))
    bad.policy = 'must be an object';
  for (const f of unknownPolicyFields(b.policy)) bad[f] = 'unknown field';
  const known = new Set([
    'createKeyIn',
    'keyType',
    'agentId',
    'organization',
    'csr',
    'publicKey',
    'dnsNames',
    'uris',
    'scope',
    'policy',
    'modelHash',
    'tenant',
    'environment',
    'instanceId',
    'validityDays',
    'validitySeconds',
    'profile',
  ]);
  for (const k of Object.keys(b)) if (!known.has(k)) bad[k] = 'unknown field';
  const req: AgentIssueRequest = { agentId: agentId ?? '', actor };
  const org = str('organization');
  const dnsNames = strList('dnsNames');
  const uris = strList('uris');
  const scope = strList('scope');
  const tenant = str('tenant');
  const environment = str('environment');
  const instanceId = str('instanceId');
  const profile = str('profile');
  if (Object.keys(bad).length)
    throw new AgentCaError(
      'INPUT_INVALID',
      `invalid fields: ${Object.entries(bad)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')}`,
      { fields: bad },
    );
  return {
    ...req,
    ...(org ? { organization: org } : {}),
    ...(csr ? { csr } : {}),
    ...(publicKey ? { publicKey } : {}),
    ...(dnsNames ? { dnsNames } : {}),
    ...(uris ? { uris } : {}),
    ...(scope ? { scope } : {}),
    ...(b.policy ? { policy: b.policy } : {}),
    ...(modelHash ? { modelHash } : {}),
    ...(tenant ? { tenant } : {}),
    ...(environment ? { environment } : {}),
    ...(instanceId ? { instanceId } : {}),
    ...(typeof validityDays === 'number' ? { validityDays } : {}),
    ...(typeof validitySeconds === 'number' ? { validitySeconds } : {}),
    ...(profile ? { profile } : {}),
    ...(createKeyIn ? { createKeyIn } : {}),
    ...(keyType ? { keyType: keyType as KeyType } : {}),
  };
}
