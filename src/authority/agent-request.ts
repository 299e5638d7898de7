/**
 * What a caller asks for when issuing an agent certificate, and its translation into a TBS
 * request: the CA, not the requester, decides the subject (CN = agent id, O = operator) and
 * the extensions; a CSR contributes only its public key, after its self-signature verifies.
 */
import {
  agentExtensionCodecsForArc,
  type AgentPolicy,
  type ModelHash,
  type ModelHashAlgorithm,
} from '../asn1/extensions/index.js';
import { encodeName, type NameSpec } from '../asn1/name.js';
import { pemOrDer } from '../asn1/pem.js';
import type { GeneralName } from '../asn1/x509-extensions.js';
import { AgentCaError } from '../errors.js';
import { parseAndVerifyCsr } from '../issuance/csr.js';
import { extensionEntry, type TbsRequest } from '../profile/build-tbs.js';
import { isDnsName, type CaConfig } from '../profile/config.js';
import type { Profile } from '../profile/profile.js';
import type { ExtensionEntry } from '../profile/tbs.js';
import { spkiKeyType } from '../asn1/spki.js';
import type { KeyType, KeyUri, Serial } from '../types.js';

export interface AgentIssueRequest {
  /** The agent's name: Subject CN, and the default DNS SAN label. */
  agentId: string;
  /** Subject O: the operator responsible for the agent (default: the CA's organization). */
  organization?: string;
  /** Exactly one of csr / publicKey (SPKI, PEM or DER) / a key made by the authority. */
  csr?: string | Uint8Array;
  publicKey?: string | Uint8Array;
  dnsNames?: string[];
  uris?: string[];
  scope?: string[];
  policy?: AgentPolicy;
  /** The model's digest: bytes, or hex as the HTTP API and the CLI take it. */
  modelHash?: ModelHashInput;
  tenant?: string;
  environment?: string;
  instanceId?: string;
  validityDays?: number;
  /** Validity in seconds (at least 60), for periods that are not whole days; not with validityDays. */
  validitySeconds?: number;
  /** 'agent' (default) or 'agent-high-risk', or an operator profile of kind agent. */
  profile?: string;
  /** Who asked (audit log). */
  actor?: string;
  /** Where the agent's private key lives, when the CA made it (KMS); recorded, never the key. */
  keyUri?: KeyUri;
  /** Create the agent's key in this backend (e.g. 'awskms') and certify it; the key URI is recorded. */
  createKeyIn?: string;
  /** Key type for createKeyIn (default p256). */
  keyType?: KeyType;
  /** Recorded as the renewal of this certificate (a renewal with a fresh key, docs/tenancy.md). */
  renewalOf?: Serial;
}

/** A model hash as callers give it: the digest as bytes or as hex (`'ab12…'`). */
export interface ModelHashInput {
  algorithm: ModelHashAlgorithm;
  digest: Uint8Array | string;
}

const HEX = /^([0-9a-fA-F]{2})+$/;

/** Hex digests become bytes; a string that is not hex is refused naming the field. */
export function modelHashFrom(input: ModelHashInput): ModelHash {
  const d = input.digest;
  if (typeof d !== 'string') return { algorithm: input.algorithm, digest: Buffer.from(d) };
  if (!HEX.test(d))
    throw new AgentCaError('INPUT_INVALID', 'modelHash.digest must be hex (an even number of 0-9a-f)', {
      fields: { 'modelHash.digest': 'must be hex' },
    });
  return { algorithm: input.algorithm, digest: Buffer.from(d, 'hex') };
}

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The SPKI the certificate will bind: from a verified CSR or a bare public key. */
export function requestedPublicKey(req: Pick<AgentIssueRequest, 'csr' | 'publicKey'>): Buffer {
  if (req.csr !== undefined && req.publicKey !== undefined)
    throw new AgentCaError('INPUT_INVALID', 'give either a CSR or a public key, not both');
  if (req.csr !== undefined) return parseAndVerifyCsr(req.csr).publicKeyInfo;
  if (req.publicKey !== undefined) {
    return pemOrDer(req.publicKey, ['PUBLIC KEY']);
  }
  throw new AgentCaError('INPUT_INVALID', 'a CSR or a public key is required');
}

export function agentTbsRequest(
  req: AgentIssueRequest,
  publicKeyInfo: Buffer,
  profile: Profile,
  config: CaConfig,
): TbsRequest {
  // Validates the key (algorithm, size, EC point on the curve) before anything else is built.
  const keyType = spkiKeyType(publicKeyInfo);
  if (typeof req.agentId !== 'string' || !AGENT_ID.test(req.agentId)) {
    throw new AgentCaError(
      'INPUT_INVALID',
      `agent id must be 1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit: ${JSON.stringify(req.agentId)}`,
      { field: 'agentId' },
    );
  }
  if (profile.kind !== 'agent')
    throw new AgentCaError('PROFILE_INVALID', `profile ${profile.name} is not an agent profile`);
  const subject: NameSpec = { commonName: req.agentId, organization: req.organization ?? config.organization };
  let encodedSubject;
  try {
    encodedSubject = encodeName(subject);
  } catch (e) {
    throw new AgentCaError('INPUT_INVALID', `subject: ${(e as Error).message}`);
  }

  const sans: GeneralName[] = [];
  for (const d of req.dnsNames ?? []) sans.push({ dns: d });
  for (const u of req.uris ?? []) sans.push({ uri: u });
  if (sans.length === 0) {
    const label = req.agentId.toLowerCase();
    const dns = `${label}.${config.agentDomains[0]}`;
    if (!isDnsName(dns))
      throw new AgentCaError('INPUT_INVALID', `agent id "${req.agentId}" is not a DNS label: give --dns or --uri`);
    sans.push({ dns });
  }

  const codecs = agentExtensionCodecsForArc(config.oidArc);
  const ext: ExtensionEntry[] = [];
  const add = <T>(name: string, codec: { oid: string; encode(v: T): Buffer }, v: T | undefined) => {
    if (v !== undefined) ext.push(extensionEntry(name, codec.oid, false, codec.encode(v)));
  };
  add('agentPolicy', codecs.agentPolicy, req.policy);
  add('agentScope', codecs.agentScope, req.scope);
  add('modelHash', codecs.modelHash, req.modelHash ? modelHashFrom(req.modelHash) : undefined);
  if (req.tenant !== undefined || req.environment !== undefined || req.instanceId !== undefined) {
    add('agentContext', codecs.agentContext, {
      tenantId: req.tenant ?? 'default',
      environment: req.environment ?? 'production',
      ...(req.instanceId !== undefined ? { agentInstanceId: req.instanceId } : {}),
    });
  }
  return {
    profile,
    subject,
    encodedSubject,
    publicKeyInfo,
    keyType,
    subjectAltNames: sans,
    ...(req.validityDays !== undefined ? { validityDays: req.validityDays } : {}),
    ...(req.validitySeconds !== undefined ? { validitySeconds: req.validitySeconds } : {}),
    agentId: req.agentId,
    agentExtensions: ext,
  };
}
