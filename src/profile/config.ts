/**
 * The authority's configuration, parsed into a frozen object. Holds key URIs and URLs, never
 * secrets (the softkey passphrase comes from AGENT_CA_PASSPHRASE).
 */
import { AgentCaError } from '../errors.js';
import { AGENT_CA_ARC, LEGACY_AGENT_CA_ARC, MAX_OID_COMPONENT, oversizedOidComponents } from '../asn1/oids.js';
import { KEY_TYPES, type KeyType } from '../types.js';
import { AGENT_MAX_VALIDITY_DAYS } from './profile.js';

export interface CaConfig {
  /** O= of the CA certificates and the default operator of agents. */
  readonly organization: string;
  readonly country?: string;
  /** Where the HTTP endpoints are reachable; CRL DP, Freshest CRL and AIA URLs are built from it. */
  readonly baseUrl: string;
  /** DNS SANs of agents must fall under one of these (e.g. agents.example). */
  readonly agentDomains: readonly string[];
  readonly keyType: KeyType;
  /** Lowers the 365-day agent maximum for this deployment (never raises it). */
  readonly maxAgentValidityDays?: number;
  /** Our extension arc; operators with an enterprise number may use their own. */
  readonly oidArc: string;
  /** Extra profile JSON files (same format as ca-config/profiles). */
  readonly profilesDir?: string;
  /** KMS pending window when a revoked agent's key is scheduled for deletion (AWS: 7..30 days). */
  readonly agentKeyDeletionWindowDays: number;
  /**
   * Longest time an audit entry waits for a signed checkpoint over it (0 = one in every group
   * commit). Bounds the window in which a rewrite or truncation of the newest entries could go
   * unnoticed (docs/hardening.md, D4).
   */
  readonly auditCheckpointIntervalMs: number;
  /** URI schemes an agent's URI SAN may use (RFC 3986 scheme names, lowercase). */
  readonly uriSanSchemes: readonly string[];
}

export const DEFAULT_CONFIG: CaConfig = Object.freeze({
  organization: 'Agent CA Development',
  baseUrl: 'http://127.0.0.1:8080',
  agentDomains: Object.freeze(['agents.example']),
  keyType: 'p256',
  oidArc: AGENT_CA_ARC,
  agentKeyDeletionWindowDays: 30,
  auditCheckpointIntervalMs: 1000,
  uriSanSchemes: Object.freeze(['https', 'spiffe', 'urn']),
});

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
export function isDnsName(s: string): boolean {
  return DNS_NAME.test(s);
}

function bad(field: string, why: string): never {
  throw new AgentCaError('CONFIG_INVALID', `config ${field}: ${why}`, { field });
}

/**
 * A config stored before the arc moved holds the old default arc (init wrote the defaults in):
 * such a CA issues under the new default from now on, and still reads the old one.
 */
export function migrateStoredConfig(
  stored: Partial<CaConfig> & Record<string, unknown>,
): Partial<CaConfig> & Record<string, unknown> {
  return stored.oidArc === LEGACY_AGENT_CA_ARC ? { ...stored, oidArc: AGENT_CA_ARC } : stored;
}

/** Array.isArray without its `any[]` narrowing, which would erase the element type. */
const isList = (v: unknown): v is readonly unknown[] => Array.isArray(v);

export function parseConfig(raw: Partial<CaConfig> & Record<string, unknown> = {}): CaConfig {
  const c: CaConfig = { ...DEFAULT_CONFIG, ...raw };
  if (typeof c.organization !== 'string' || c.organization.length === 0 || c.organization.length > 64)
    bad('organization', 'must be 1..64 characters');
  if (c.country !== undefined && !/^[A-Z]{2}$/.test(c.country)) bad('country', 'must be an ISO 3166 alpha-2 code');
  let url: URL;
  try {
    url = new URL(c.baseUrl);
  } catch {
    bad('baseUrl', `not a URL: ${c.baseUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('baseUrl', 'must be http or https');
  // RFC 5280 §4.2.1.13: CRL DPs over HTTP; RFC 5019 §2.1.1 wants OCSP over plain HTTP too,
  // so both schemes are allowed. A trailing slash would double up in the URLs.
  const baseUrl = c.baseUrl.replace(/\/+$/, '');
  if (!isList(c.agentDomains) || c.agentDomains.length === 0 || c.agentDomains.some((d) => !isDnsName(d)))
    bad('agentDomains', 'must be a non-empty list of lowercase DNS names');
  if (!KEY_TYPES.includes(c.keyType)) bad('keyType', `must be one of ${KEY_TYPES.join(', ')}`);
  if (
    c.maxAgentValidityDays !== undefined &&
    (!Number.isInteger(c.maxAgentValidityDays) ||
      c.maxAgentValidityDays < 1 ||
      c.maxAgentValidityDays > AGENT_MAX_VALIDITY_DAYS)
  ) {
    bad('maxAgentValidityDays', `must be 1..${AGENT_MAX_VALIDITY_DAYS}`);
  }
  if (typeof c.oidArc !== 'string' || !/^[0-2](\.(0|[1-9][0-9]*))+$/.test(c.oidArc))
    bad('oidArc', 'must be a dotted OID');
  // X.660 allows any size, but Go, GnuTLS, pyca/cryptography and Botan refuse a component above
  // 2^31 - 1 (docs/oids-and-lints.md); the legacy 2.25 arc is readable, never issued under.
  const oversized = oversizedOidComponents(c.oidArc);
  if (oversized.length > 0) {
    const hint =
      c.oidArc === LEGACY_AGENT_CA_ARC
        ? `; leave oidArc out to issue under ${AGENT_CA_ARC} (certificates under the 2.25 arc stay readable)`
        : '';
    bad(
      'oidArc',
      `component ${oversized[0]} exceeds ${MAX_OID_COMPONENT} (2^31 - 1), which many X.509 stacks refuse${hint}`,
    );
  }
  if (
    !Number.isInteger(c.agentKeyDeletionWindowDays) ||
    c.agentKeyDeletionWindowDays < 7 ||
    c.agentKeyDeletionWindowDays > 30
  )
    bad('agentKeyDeletionWindowDays', 'must be 7..30 (the KMS pending window)');
  if (
    !Number.isInteger(c.auditCheckpointIntervalMs) ||
    c.auditCheckpointIntervalMs < 0 ||
    c.auditCheckpointIntervalMs > 60_000
  )
    bad('auditCheckpointIntervalMs', 'must be 0..60000 (milliseconds)');
  // javascript:, data:, file: and the like name nothing an agent is: RFC 3986 §3.1 scheme names only.
  if (
    !isList(c.uriSanSchemes) ||
    c.uriSanSchemes.length === 0 ||
    c.uriSanSchemes.some(
      (x) =>
        typeof x !== 'string' ||
        !/^[a-z][a-z0-9+.-]*$/.test(x) ||
        ['javascript', 'data', 'file', 'vbscript'].includes(x),
    )
  ) {
    bad('uriSanSchemes', 'must be a non-empty list of lowercase URI schemes (not javascript, data, file or vbscript)');
  }
  return Object.freeze({
    organization: c.organization,
    ...(c.country ? { country: c.country } : {}),
    baseUrl,
    agentDomains: Object.freeze([...c.agentDomains]),
    keyType: c.keyType,
    ...(c.maxAgentValidityDays !== undefined ? { maxAgentValidityDays: c.maxAgentValidityDays } : {}),
    oidArc: c.oidArc,
    ...(c.profilesDir ? { profilesDir: c.profilesDir } : {}),
    agentKeyDeletionWindowDays: c.agentKeyDeletionWindowDays,
    auditCheckpointIntervalMs: c.auditCheckpointIntervalMs,
    uriSanSchemes: Object.freeze([...c.uriSanSchemes]),
  });
}

/** The URLs a certificate names (CRL DP, Freshest CRL, AIA) for an issuer; the HTTP layer serves exactly these. */
export function issuerUrls(baseUrl: string, issuerName: string) {
  return Object.freeze({
    crl: `${baseUrl}/crl/${issuerName}.crl`,
    deltaCrl: `${baseUrl}/crl/${issuerName}-delta.crl`,
    ocsp: `${baseUrl}/ocsp`,
    // RFC 5280 §4.2.2.1: caIssuers points at a DER certificate; PEM is served beside it.
    caIssuers: `${baseUrl}/ca/${issuerName}.cer`,
  });
}
