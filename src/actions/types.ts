/**
 * Signed agent actions: what an agent signs, what a counterparty gets back from verifyAction,
 * and how it says where revocation status comes from. The envelope is a JWS (RFC 7515); see
 * README.md for why JWS and not CMS.
 */
import type { CertificateState } from '../revocation/status.js';
import type { RevocationReason } from '../store/ports.js';

/** A monetary amount as signed and as checked: decimal string (never a float) + ISO 4217 code. */
export interface ActionAmount {
  value: string;
  currency: string;
}

/**
 * The JWS payload (JSON). `iat` and `jti` are the JWT claim names (RFC 7519 §4.1.6/§4.1.7) so
 * that generic JOSE tooling shows them; the rest is ours.
 */
export interface ActionClaims {
  /** Concrete action, e.g. `write:payments` (asn1/AgentCA-Extensions.asn ActionPattern grammar). */
  action: string;
  amount?: ActionAmount;
  market?: string;
  /** Digest of the business payload the action is about (HTTP body, order JSON, file): detached. */
  payloadHash: { alg: 'sha-256'; value: string };
  /** Serial of the agent certificate (lowercase hex), the same as x5c[0]'s. */
  serial: string;
  /** Issued-at, seconds since the epoch (RFC 7519 NumericDate). */
  iat: number;
  /** Random nonce, base64url of 16 octets: lets a counterparty refuse replays. */
  jti: string;
}

/** JWS flattened JSON serialization (RFC 7515 §7.2.2), without the unprotected header. */
export interface ActionEnvelope {
  protected: string;
  payload: string;
  signature: string;
}

export type JwsAlgorithm = 'ES256' | 'ES384' | 'RS256' | 'RS384' | 'RS512' | 'EdDSA';

/** Status of the agent certificate as a status callback reports it (Authority.show().status fits). */
export interface ReportedCertStatus {
  state: CertificateState | 'unknown';
  revokedAt?: Date;
  reason?: RevocationReason;
}

export interface StatusQuery {
  serial: string;
  /** Agent certificate, DER. */
  certificate: Buffer;
  /** The certificate that issued it, DER. */
  issuer: Buffer;
  now: Date;
}

export type StatusCallback = (serial: string, query: StatusQuery) => Promise<ReportedCertStatus> | ReportedCertStatus;

export interface OcspStatusOptions {
  /** Responder URL; default: the agent certificate's AIA id-ad-ocsp URL (RFC 5280 §4.2.2.1). */
  url?: string;
  /** Default 5000. */
  timeoutMs?: number;
  /** Send an RFC 8954 nonce (forces a live-signed answer). Default false: RFC 5019 pre-signed responses. */
  nonce?: boolean;
  /** CertID hash (RFC 6960 §4.1.1). Default sha256; our responder pre-signs SHA-1 and SHA-256. */
  hash?: 'sha1' | 'sha256';
}

export interface CrlStatusOptions {
  /** CRL URL; default: the certificate's CRL Distribution Point (RFC 5280 §4.2.1.13). */
  url?: string;
  timeoutMs?: number;
}

/** Where the revocation status comes from: a callback, OCSP over HTTP, or a full CRL over HTTP. */
export type StatusSource = StatusCallback | 'ocsp' | 'crl' | { ocsp: OcspStatusOptions } | { crl: CrlStatusOptions };

/**
 * Why an action is refused. The first six are the contract in src/actions/README.md; `malformed` is an
 * envelope we cannot read; `status` is a revocation status that could not be established
 * (responder down, stale or unverifiable answer, `unknown`): fail closed, but distinguishable
 * from `revoked` so that callers may retry; `replay` is a jti seen before.
 */
export type DenyReason =
  'signature' | 'claims' | 'chain' | 'expired' | 'revoked' | 'scope' | 'policy' | 'malformed' | 'status' | 'replay';

/** One thing the certificate does not allow (scope or policy); a denial lists them all. */
export interface Breach {
  reason: 'scope' | 'policy';
  detail: string;
}

export interface ActionAllowed {
  allow: true;
  serial: string;
  /** Subject CN of the agent certificate. */
  agentId: string;
  /** Subject O: the operator answerable for the agent. */
  operator?: string;
  action: string;
  amount?: ActionAmount;
  market?: string;
  issuedAt: Date;
  jti: string;
  payloadHash: string;
  /** True when the caller gave the payload and its digest matched; false when it was not checked. */
  payloadChecked: boolean;
  /** Where the status came from (`callback`, `ocsp <url>`, `crl <url>`). */
  statusSource: string;
  /** Agent certificate, DER (for audit). */
  certificate: Buffer;
}

export interface ActionDenied {
  allow: false;
  reason: DenyReason;
  detail: string;
  /** With scope / policy: every breach found, the first one being `reason` and `detail`. */
  breaches?: Breach[];
  /** Set once the envelope could be read. */
  serial?: string;
  agentId?: string;
}

export type ActionVerdict = ActionAllowed | ActionDenied;
