/**
 * What an operator registers for an agent: the defaults its certificates get (organization,
 * environment, scope, policy, model hash, profile, names). Parsed from JSON into a plain,
 * storable form (model hash digest as hex) and checked by encoding each extension with the
 * same codecs the issuer uses, so a registration that could never be certified is refused now.
 */
import type { AgentIssueRequest } from '../authority/agent-request.js';
import { agentExtensionCodecsForArc, type AgentPolicy, type ModelHash } from '../asn1/extensions/index.js';
import { AgentCaError, isAgentCaError } from '../errors.js';

export interface StoredModelHash {
  algorithm: ModelHash['algorithm'];
  /** lowercase hex */
  digest: string;
}

export interface AgentSpec {
  organization?: string;
  environment?: string;
  scope?: string[];
  policy?: AgentPolicy;
  modelHash?: StoredModelHash;
  profile?: string;
  dnsNames?: string[];
  uris?: string[];
}

export const SPEC_FIELDS = [
  'organization',
  'environment',
  'scope',
  'policy',
  'modelHash',
  'profile',
  'dnsNames',
  'uris',
] as const;
type Json = Record<string, unknown>;

/** Reads the spec fields present in `b` into `bad` / the result; `null` clears a field (PATCH). */
export type AgentSpecPatch = { [K in keyof AgentSpec]?: AgentSpec[K] | null };

export function readAgentSpec(b: Json, arc: string, bad: Record<string, string>): AgentSpecPatch {
  const out: Record<string, unknown> = {};
  const codecs = agentExtensionCodecsForArc(arc);
  const check = (k: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      bad[k] = isAgentCaError(e) ? e.message : String(e);
    }
  };
  for (const k of SPEC_FIELDS) {
    const v = b[k];
    if (v === undefined) continue;
    if (v === null) {
      out[k] = null;
      continue;
    }
    switch (k) {
      case 'organization':
      case 'environment':
      case 'profile':
        if (typeof v !== 'string' || v.length === 0 || v.length > 128)
          bad[k] = 'must be a non-empty string (at most 128 characters)';
        else out[k] = v;
        break;
      case 'scope':
      case 'dnsNames':
      case 'uris':
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad[k] = 'must be an array of strings';
        else {
          if (k === 'scope') check(k, () => codecs.agentScope.encode(v as string[]));
          out[k] = [...(v as string[])];
        }
        break;
      case 'policy':
        if (typeof v !== 'object' || Array.isArray(v)) bad[k] = 'must be an object';
        else {
          check(k, () => codecs.agentPolicy.encode(v));
          out[k] = v;
        }
        break;
      case 'modelHash': {
        const m = v as Json;
        if (
          typeof m !== 'object' ||
          !['sha256', 'sha384', 'sha512'].includes(m.algorithm as string) ||
          typeof m.digest !== 'string' ||
          !/^([0-9a-fA-F]{2})+$/.test(m.digest)
        ) {
          bad[k] = 'must be { algorithm: sha256|sha384|sha512, digest: hex }';
        } else {
          const mh = { algorithm: m.algorithm as ModelHash['algorithm'], digest: m.digest.toLowerCase() };
          check(k, () => codecs.modelHash.encode(modelHashOf(mh)));
          out[k] = mh;
        }
        break;
      }
    }
  }
  return out;
}

export function modelHashOf(m: StoredModelHash): ModelHash {
  return { algorithm: m.algorithm, digest: Buffer.from(m.digest, 'hex') };
}

export function requireObject(body: unknown): Json {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new AgentCaError('INPUT_INVALID', 'body must be a JSON object');
  return body as Json;
}

export function refuseFields(bad: Record<string, string>): void {
  if (Object.keys(bad).length)
    throw new AgentCaError(
      'INPUT_INVALID',
      `invalid fields: ${Object.entries(bad)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')}`,
      { fields: bad },
    );
}

/** The issue request a registration makes (the key material is added by the caller). */
export function issueRequestOf(agentId: string, tenant: string, spec: AgentSpec): AgentIssueRequest {
  return {
    agentId,
    tenant,
    ...(spec.organization ? { organization: spec.organization } : {}),
    ...(spec.environment ? { environment: spec.environment } : {}),
    ...(spec.scope ? { scope: spec.scope } : {}),
    ...(spec.policy ? { policy: spec.policy } : {}),
    ...(spec.modelHash ? { modelHash: modelHashOf(spec.modelHash) } : {}),
    ...(spec.profile ? { profile: spec.profile } : {}),
    ...(spec.dnsNames ? { dnsNames: spec.dnsNames } : {}),
    ...(spec.uris ? { uris: spec.uris } : {}),
  };
}
