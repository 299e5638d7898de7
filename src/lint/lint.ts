/**
 * A lint checks one rule on the encoded TBS before any key signs it (the bytes parsed back,
 * lint-target.ts). Names follow zlint's convention: `e_` is an error (issuance refused), `w_` a
 * warning (recorded, not refused).
 */
import type { ProfileKind } from '../profile/profile.js';
import type { LintTarget } from './lint-target.js';

export interface LintContext {
  /** Agent DNS SANs must fall under one of these. */
  readonly agentDomains: readonly string[];
  /** Schemes an agent's URI SAN may use (default https, spiffe, urn). */
  readonly uriSanSchemes?: readonly string[];
}

export interface Lint {
  readonly name: string;
  readonly citation: string;
  readonly severity: 'error' | 'warning';
  /** Profile kinds the rule is about; omitted = every certificate. */
  readonly appliesTo?: readonly ProfileKind[];
  /** Problems found (empty = pass). */
  check(tbs: LintTarget, ctx: LintContext): string[];
}

export const CA_KINDS: readonly ProfileKind[] = ['root', 'intermediate'];
export const ISSUED_KINDS: readonly ProfileKind[] = ['intermediate', 'agent', 'ocsp-responder'];

export function findExtension(tbs: LintTarget, oid: string) {
  return tbs.extensions.find((e) => e.oid === oid);
}
