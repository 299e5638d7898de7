/**
 * RFC 9457 §3.1.4: `title` is a short, human-readable summary of the problem type, the same
 * for every occurrence; the stable machine code stays in `code` (ACA_ERR_*). A code added
 * without a title here falls back to a sentence built from its HTTP status.
 */
import { STATUS_CODES } from 'node:http';
import type { ErrorCodeName } from '../errors.js';

const TITLES: Partial<Record<ErrorCodeName, string>> = {
  CONFIG_INVALID: 'The configuration is invalid.',
  INPUT_INVALID: 'The request is invalid.',
  INPUT_SERIAL_MALFORMED: 'The serial number is malformed.',
  INPUT_REASON_UNKNOWN: 'The revocation reason is not known.',
  INPUT_CSR_INVALID: 'The certificate signing request is invalid.',
  INPUT_CSR_SIGNATURE: "The certificate signing request's signature does not verify.",
  INPUT_PUBLIC_KEY_INVALID: 'The public key is invalid.',
  INPUT_OCSP_REQUEST_INVALID: 'The OCSP request is invalid.',
  ASN1_DECODE: 'The data could not be decoded.',
  ASN1_ENCODE: 'A field cannot be encoded into a certificate.',
  PROFILE_UNKNOWN: 'The certificate profile is not known.',
  PROFILE_INVALID: 'The certificate profile is invalid.',
  LINT_FAILED: 'The certificate was refused by a lint.',
  ISSUE_TOKEN_INVALID: 'The issuance token is invalid.',
  ISSUE_TBS_MISMATCH: 'The signed certificate does not match what was linted.',
  ISSUE_SERIAL_COLLISION: 'A serial number collided.',
  SIGNER_SCHEME_UNKNOWN: 'The key URI scheme is not known.',
  SIGNER_URI_INVALID: 'The key URI is invalid.',
  SIGNER_KEY_NOT_FOUND: 'The signing key was not found.',
  SIGNER_KEY_DISABLED: 'The signing key is disabled.',
  SIGNER_KEY_PENDING_DELETION: 'The signing key is scheduled for deletion.',
  SIGNER_ACCESS_DENIED: 'Access to the signing key was denied.',
  SIGNER_UNAVAILABLE: 'The signing service is unavailable.',
  SIGNER_UNSUPPORTED: 'The signer does not support this.',
  SIGNER_PASSPHRASE: 'The key passphrase is missing or wrong.',
  CA_NOT_INITIALISED: 'The certificate authority is not initialised.',
  CA_ALREADY_INITIALISED: 'The certificate authority is already initialised.',
  STORE_LOCKED: 'The store is locked by another process.',
  STORE_UNAVAILABLE: 'The service is not ready.',
  STORE_NOT_FOUND: 'The record was not found.',
  STORE_URL_INVALID: 'The store URL is invalid.',
  STORE_SCHEMA_TOO_NEW: 'The store was written by a newer version.',
  STORE_MIGRATE_TARGET_NOT_EMPTY: 'The migration target is not empty.',
  CERT_NOT_FOUND: 'The certificate was not found.',
  REVOKE_ALREADY: 'The certificate is already revoked.',
  REVOKE_NOT_HELD: 'The certificate is not on hold.',
  REVOKE_INVALID_STATE: 'The certificate cannot change to that state.',
  REVOKE_CA_REFUSED: 'A CA certificate cannot be changed this way.',
  CRL_PUBLISH_FAILED: 'CRL publication is failing.',
  AUDIT_CHAIN_BROKEN: 'The audit chain is broken.',
  AUDIT_STORE_MISMATCH: 'The audit log does not match the store.',
  CRL_FETCH_FAILED: 'The CRL could not be fetched.',
  CRL_REJECTED: 'The CRL was rejected.',
  TENANT_NOT_FOUND: 'The tenant was not found.',
  TENANT_EXISTS: 'The tenant already exists.',
  TOKEN_NOT_FOUND: 'The token was not found.',
  AGENT_NOT_FOUND: 'The agent was not found.',
  AGENT_EXISTS: 'The agent already exists.',
  AGENT_DECOMMISSIONED: 'The agent is decommissioned.',
  AGENT_DRIFTED: 'The agent no longer matches its registration.',
  QUOTA_EXCEEDED: 'A quota was exceeded.',
  REPORT_RANGE_INVALID: 'The report period is invalid.',
  REPORT_SUBJECT_UNKNOWN: 'The report subject is not known.',
  REPORT_NOT_FOUND: 'The report was not found.',
  REPORT_NOT_READY: 'The report is not ready yet.',
  REPORT_VERIFY_FAILED: 'The report does not verify.',
  HTTP_UNAUTHORIZED: 'Authentication is required.',
  HTTP_FORBIDDEN: 'This is not allowed for this token.',
  HTTP_NOT_FOUND: 'Not found.',
  HTTP_PAYLOAD_TOO_LARGE: 'The request body is too large.',
  HTTP_RATE_LIMITED: 'Too many requests.',
  ACTION_DENIED: 'The agent action was denied.',
  INTERNAL: 'An internal error occurred.',
};

/** The human title for a code (`ACA_ERR_X` or `X`). */
export function problemTitle(code: string, status: number): string {
  const t = TITLES[code.replace(/^ACA_ERR_/, '') as ErrorCodeName];
  if (t) return t;
  return `The request failed (${STATUS_CODES[status] ?? `HTTP ${status}`}).`;
}
