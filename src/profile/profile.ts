/**
 * Certificate profiles: what a certificate of each kind must look like. The JSON files in
 * ca-config/profiles are the source; they are parsed and validated into frozen objects, and a
 * profile can only make rules stricter than the built-in bounds (e.g. lower the 365-day agent
 * maximum, never raise it).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { AgentCaError } from '../errors.js';
import { KEY_TYPES, type KeyType } from '../types.js';
import { KeyUsageBits, ExtKeyUsageOids, type ExtKeyUsageName, type KeyUsageName } from '../asn1/x509-extensions.js';

export type ProfileKind = 'root' | 'intermediate' | 'agent' | 'ocsp-responder';

export interface Profile {
  readonly name: string;
  readonly kind: ProfileKind;
  readonly description: string;
  readonly maxValidityDays: number;
  readonly defaultValidityDays: number;
  /** notBefore is set this far in the past to absorb clock skew between CA and relying parties. */
  readonly backdateSeconds: number;
  readonly keyTypes: readonly KeyType[];
  readonly keyUsage: readonly KeyUsageName[];
  readonly extKeyUsage: readonly ExtKeyUsageName[];
  /** CA certificates only: RFC 5280 §4.2.1.9 pathLenConstraint (absent = unlimited). */
  readonly pathLen?: number;
  readonly requireSan: boolean;
  /**
   * nextUpdate - thisUpdate of this profile's OCSP responses (RFC 6960 §4.2.2.1). A caching
   * client (nginx ssl_ocsp_cache) may hold a "good" answer until nextUpdate, so for agents
   * this is the revocation promise; see docs/revocation-freshness.md.
   */
  readonly ocspValiditySeconds: number;
}

/** docs/architecture.md / MiCA Art. 70: an agent certificate is valid for at most 365 days. */
export const AGENT_MAX_VALIDITY_DAYS = 365;
/** The revocation promise: an agent's OCSP answer is cacheable at most this long by default. */
export const AGENT_OCSP_VALIDITY_SECONDS = 60;
/** CA and responder statuses change rarely and are pre-signed: a day, refreshed at half-life. */
export const CA_OCSP_VALIDITY_SECONDS = 86_400;
/** RFC 5019 §6 leaves the bound to the CA; a week keeps a stale "good" from outliving any sane promise. */
const MAX_OCSP_VALIDITY_SECONDS = 7 * 86_400;
const KIND_MAX_DAYS: Record<ProfileKind, number> = {
  root: 9132,
  intermediate: 5479,
  agent: AGENT_MAX_VALIDITY_DAYS,
  'ocsp-responder': 398,
};

function fail(name: string, why: string): never {
  throw new AgentCaError('PROFILE_INVALID', `profile ${name}: ${why}`, { profile: name });
}

function int(name: string, v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(name, `${field} must be an integer in ${min}..${max}`);
  return v;
}

export function parseProfile(raw: unknown): Profile {
  if (typeof raw !== 'object' || raw === null) fail('?', 'not an object');
  const r = raw as Record<string, unknown>;
  const name =
    typeof r.name === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(r.name)
      ? r.name
      : fail(String(r.name), 'name must be kebab-case');
  const kind = r.kind as ProfileKind;
  if (!(kind in KIND_MAX_DAYS)) fail(name, `kind must be one of ${Object.keys(KIND_MAX_DAYS).join(', ')}`);
  const maxValidityDays = int(name, r.maxValidityDays, 'maxValidityDays', 1, KIND_MAX_DAYS[kind]);
  const defaultValidityDays = int(
    name,
    r.defaultValidityDays ?? maxValidityDays,
    'defaultValidityDays',
    1,
    maxValidityDays,
  );
  const backdateSeconds = int(name, r.backdateSeconds ?? 300, 'backdateSeconds', 0, 86_400);
  const keyTypes = (r.keyTypes ?? KEY_TYPES) as KeyType[];
  if (!Array.isArray(keyTypes) || keyTypes.length === 0 || keyTypes.some((k) => !KEY_TYPES.includes(k)))
    fail(name, `keyTypes must be a non-empty subset of ${KEY_TYPES.join(', ')}`);
  const keyUsage = r.keyUsage as KeyUsageName[];
  if (!Array.isArray(keyUsage) || keyUsage.length === 0 || keyUsage.some((k) => !(k in KeyUsageBits)))
    fail(name, 'keyUsage must name RFC 5280 §4.2.1.3 bits');
  const extKeyUsage = (r.extKeyUsage ?? []) as ExtKeyUsageName[];
  if (!Array.isArray(extKeyUsage) || extKeyUsage.some((k) => !(k in ExtKeyUsageOids)))
    fail(name, `extKeyUsage must be among ${Object.keys(ExtKeyUsageOids).join(', ')}`);
  const isCa = kind === 'root' || kind === 'intermediate';
  if (r.pathLen !== undefined && !isCa) fail(name, 'pathLen is for CA profiles only');
  const pathLen = r.pathLen === undefined ? undefined : int(name, r.pathLen, 'pathLen', 0, 8);
  const requireSan = r.requireSan === undefined ? kind === 'agent' : Boolean(r.requireSan);
  if (kind === 'agent' && !requireSan) fail(name, 'agent profiles must require a subjectAltName');
  const ocspValiditySeconds = int(
    name,
    r.ocspValiditySeconds ?? (kind === 'agent' ? AGENT_OCSP_VALIDITY_SECONDS : CA_OCSP_VALIDITY_SECONDS),
    'ocspValiditySeconds',
    10,
    MAX_OCSP_VALIDITY_SECONDS,
  );
  return Object.freeze({
    name,
    kind,
    description: typeof r.description === 'string' ? r.description : '',
    maxValidityDays,
    defaultValidityDays,
    backdateSeconds,
    keyTypes: Object.freeze([...keyTypes]),
    keyUsage: Object.freeze([...keyUsage]),
    extKeyUsage: Object.freeze([...extKeyUsage]),
    ...(pathLen !== undefined ? { pathLen } : {}),
    requireSan,
    ocspValiditySeconds,
  });
}

/** ca-config/profiles, found relative to this file in both src/ (tsx, vitest) and dist/. */
export const BUILTIN_PROFILES_DIR = fileURLToPath(new URL('../../ca-config/profiles/', import.meta.url));

export function loadProfiles(dir: string = BUILTIN_PROFILES_DIR): ReadonlyMap<string, Profile> {
  const out = new Map<string, Profile>();
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    } catch (e) {
      throw new AgentCaError('PROFILE_INVALID', `${f}: ${(e as Error).message}`);
    }
    const p = parseProfile(raw);
    if (out.has(p.name)) fail(p.name, `defined twice (${f})`);
    out.set(p.name, p);
  }
  return out;
}

/** A profile with the operator's lower maximum applied (config may lower, never raise). */
export function withMaxValidity(p: Profile, maxDays: number | undefined): Profile {
  if (maxDays === undefined || maxDays >= p.maxValidityDays) return p;
  return Object.freeze({
    ...p,
    maxValidityDays: maxDays,
    defaultValidityDays: Math.min(p.defaultValidityDays, maxDays),
  });
}
