/**
 * Typed errors with stable codes (ACA_ERR_<AREA>_<WHAT>). The code is the contract for
 * callers and scripts; the message is for humans. `httpStatus` is what the HTTP edge maps the
 * error to (problem+json), so the core never needs to know about HTTP.
 */
export const ErrorCodes = {
  // configuration and input
  CONFIG_INVALID: 400,
  INPUT_INVALID: 400,
  INPUT_SERIAL_MALFORMED: 400,
  INPUT_REASON_UNKNOWN: 400,
  INPUT_CSR_INVALID: 400,
  INPUT_CSR_SIGNATURE: 400,
  INPUT_PUBLIC_KEY_INVALID: 400,
  INPUT_OCSP_REQUEST_INVALID: 400,
  // ASN.1 codecs
  ASN1_DECODE: 400,
  ASN1_ENCODE: 400,
  // profiles and lints
  PROFILE_UNKNOWN: 400,
  PROFILE_INVALID: 400,
  LINT_FAILED: 422,
  // issuance
  ISSUE_TOKEN_INVALID: 409,
  ISSUE_TBS_MISMATCH: 500,
  ISSUE_SERIAL_COLLISION: 409,
  // signers and keys
  SIGNER_SCHEME_UNKNOWN: 400,
  SIGNER_URI_INVALID: 400,
  SIGNER_KEY_NOT_FOUND: 404,
  SIGNER_KEY_DISABLED: 409,
  SIGNER_KEY_PENDING_DELETION: 409,
  SIGNER_ACCESS_DENIED: 403,
  SIGNER_UNAVAILABLE: 503,
  SIGNER_UNSUPPORTED: 400,
  SIGNER_PASSPHRASE: 401,
  // authority and store
  CA_NOT_INITIALISED: 409,
  CA_ALREADY_INITIALISED: 409,
  STORE_LOCKED: 409,
  STORE_UNAVAILABLE: 503,
  STORE_NOT_FOUND: 404,
  STORE_URL_INVALID: 400,
  STORE_SCHEMA_TOO_NEW: 503,
  STORE_MIGRATE_TARGET_NOT_EMPTY: 409,
  CERT_NOT_FOUND: 404,
  // lifecycle
  REVOKE_ALREADY: 409,
  REVOKE_NOT_HELD: 409,
  REVOKE_INVALID_STATE: 409,
  REVOKE_CA_REFUSED: 409,
  // CRL publishing (an alarm: /readyz answers 503 while it lasts)
  CRL_PUBLISH_FAILED: 503,
  // audit
  AUDIT_CHAIN_BROKEN: 500,
  AUDIT_STORE_MISMATCH: 500,
  // gateway kit (agent-ca crl sync): the CRL server could not be read, or what it sent is not to be trusted
  CRL_FETCH_FAILED: 502,
  CRL_REJECTED: 502,
  // tenancy: tenants, tokens, the agent registry (docs/tenancy.md)
  TENANT_NOT_FOUND: 404,
  TENANT_EXISTS: 409,
  TOKEN_NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  AGENT_EXISTS: 409,
  AGENT_DECOMMISSIONED: 409,
  AGENT_DRIFTED: 409,
  QUOTA_EXCEEDED: 429,
  // compliance reports (docs/compliance-reports.md)
  REPORT_RANGE_INVALID: 400,
  REPORT_SUBJECT_UNKNOWN: 404,
  REPORT_NOT_FOUND: 404,
  REPORT_NOT_READY: 409,
  REPORT_VERIFY_FAILED: 422,
  // http edge
  HTTP_UNAUTHORIZED: 401,
  HTTP_FORBIDDEN: 403,
  HTTP_NOT_FOUND: 404,
  HTTP_PAYLOAD_TOO_LARGE: 413,
  HTTP_RATE_LIMITED: 429,
  ACTION_DENIED: 403,
  INTERNAL: 500,
  // operator console (docs/console.md)
  NOTIFICATION_NOT_FOUND: 404,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;
export type ErrorCode = `ACA_ERR_${ErrorCodeName}`;

export class AgentCaError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    name: ErrorCodeName,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AgentCaError';
    this.code = `ACA_ERR_${name}`;
    this.httpStatus = ErrorCodes[name];
    this.details = Object.freeze({ ...details });
  }

  is(name: ErrorCodeName): boolean {
    return this.code === `ACA_ERR_${name}`;
  }
}

/** A lint rule broke: names the rule (e.g. `e_validity_exceeds_profile_maximum`) and the standard it cites. */
export class LintError extends AgentCaError {
  readonly findings: readonly LintFinding[];
  constructor(findings: readonly LintFinding[]) {
    const errors = findings.filter((f) => f.severity === 'error');
    super('LINT_FAILED', `certificate refused by lint: ${errors.map((f) => `${f.lint} (${f.message})`).join('; ')}`, {
      lints: errors.map((f) => f.lint),
    });
    this.name = 'LintError';
    this.findings = findings;
  }
}

export interface LintFinding {
  lint: string;
  severity: 'error' | 'warning';
  message: string;
  citation: string;
}

/** A codec refused bytes. Decoding a foreign certificate records these instead of throwing. */
export class Asn1DecodeError extends AgentCaError {
  constructor(what: string, reason: string) {
    super('ASN1_DECODE', `${what}: ${reason}`, { what, reason });
    this.name = 'Asn1DecodeError';
  }
}

export function isAgentCaError(e: unknown): e is AgentCaError {
  return e instanceof AgentCaError;
}
