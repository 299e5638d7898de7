/**
 * The shape every agent extension codec has, and the value constraints shared by encoders and
 * decoders (asn1/AgentCA-Extensions.asn is the contract; the bounds below mirror its ub-*
 * values). Encoders refuse what decoders would refuse, so we never sign a value we could not
 * read back.
 */
import { AgentCaError } from '../../errors.js';
import { stringViolation, type StringConstraint } from '../decode.js';

export interface ExtensionCodec<T> {
  /** Name in AgentExtensions / the OID table (agentPolicy, agentScope, modelHash, agentContext). */
  readonly name: string;
  readonly oid: string;
  /** Always false: stock verifiers must accept the chain (docs/architecture.md, RFC 5280 §4.2). */
  readonly critical: false;
  /** DER of the extension's value, i.e. the contents of extnValue (RFC 5280 §4.1). */
  encode(value: T): Buffer;
  /** Strict DER decode of extnValue contents; throws Asn1DecodeError. */
  decode(der: Uint8Array): T;
}

/** The encoder refused a value: a caller bug or bad input, never a certificate we signed. */
export function encodeError(what: string, reason: string): AgentCaError {
  return new AgentCaError('ASN1_ENCODE', `${what}: ${reason}`, { what, reason });
}

/** Check a string against its ASN.1 constraint before writing it. */
export function requireString(value: unknown, what: string, c: StringConstraint): string {
  if (typeof value !== 'string') throw encodeError(what, 'must be a string');
  if (/\p{Cs}/u.test(value)) throw encodeError(what, 'lone surrogate cannot be encoded as UTF-8');
  const reason = stringViolation(value, c);
  if (reason) throw encodeError(what, reason);
  return value;
}

const TOKEN_CHAR = /^[A-Za-z0-9._:-]$/;

/** Identifier (tenantId, agentInstanceId): UTF8String (SIZE (1..128)) FROM A-Z a-z 0-9 - . _ : */
export const IDENTIFIER: StringConstraint = {
  min: 1,
  max: 128,
  alphabet: (ch) => TOKEN_CHAR.test(ch),
  alphabetName: 'A-Z a-z 0-9 - . _ :',
};

/** EnvironmentName: UTF8String (SIZE (1..32)) FROM a-z 0-9 -, starting with a letter. */
export const ENVIRONMENT: StringConstraint = {
  min: 1,
  max: 32,
  alphabet: (ch) => /^[a-z0-9-]$/.test(ch),
  alphabetName: 'a-z 0-9 -',
  check: (s) => (/^[a-z]/.test(s) ? undefined : 'must start with a letter a-z'),
};

/** Market: UTF8String (SIZE (1..64)) FROM A-Z a-z 0-9 - . _ : / */
export const MARKET: StringConstraint = {
  min: 1,
  max: 64,
  alphabet: (ch) => TOKEN_CHAR.test(ch) || ch === '/',
  alphabetName: 'A-Z a-z 0-9 - . _ : /',
};

export const UB_MARKETS = 64;
export const UB_SCOPE_ENTRIES = 1024;
export const UB_REVOCATION_TIMEOUT = 31_536_000; // 365 days, the longest agent certificate
