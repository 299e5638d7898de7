/**
 * A lint checks one rule on a TBS before any key signs it. Names follow zlint's convention:
 * `e_` is an error (issuance refused), `w_` a warning (recorded, not refused).
 */
import type { ProfileKind } from '../profile/profile.js';
import type { TbsCertificate } from '../profile/tbs.js';

export interface LintContext {
  /** Agent DNS SANs must fall under one of these. */
  readonly agentDomains: readonly string[];
  /** Schemes an agent's URI SAN may use (default https, spiffe, urn). */
  readonly uriSanSchemes?: readonly string[];
  /** Serial uniqueness against what the CA already issued (RFC 5280 §4.1.2.2). */
  readonly isSerialUsed?: (serialHex: string) => boolean;
}

export interface Lint {
  readonly name: string;
  readonly citation: string;
  readonly severity: 'error' | 'warning';
  /** Profile kinds the rule is about; omitted = every certificate. */
  readonly appliesTo?: readonly ProfileKind[];
  /** Problems found (empty = pass). */
  check(tbs: TbsCertificate, ctx: LintContext): string[];
}

export const CA_KINDS: readonly ProfileKind[] = ['root', 'intermediate'];
export const ISSUED_KINDS: readonly ProfileKind[] = ['intermediate', 'agent', 'ocsp-responder'];

export function findExtension(tbs: TbsCertificate, oid: string) {
  return tbs.extensions.find((e) => e.oid === oid);
}
