/** The lint registry: every rule runs on every TBS before signing. */
import { LintError, type LintFinding } from '../errors.js';
import type { TbsCertificate } from '../profile/tbs.js';
import { eBasicConstraints } from './e-basic-constraints.js';
import { eExtendedKeyUsage } from './e-extended-key-usage.js';
import { eExtensions } from './e-extensions.js';
import { eKeyIdentifiers } from './e-key-identifiers.js';
import { eKeyType } from './e-key-type.js';
import { eKeyUsage } from './e-key-usage.js';
import { eRevocationPointers } from './e-revocation-pointers.js';
import { eSerial } from './e-serial.js';
import { eSignatureAlgorithm } from './e-signature-algorithm.js';
import { eSubject } from './e-subject.js';
import { eSubjectAltName } from './e-subject-alt-name.js';
import { eTimeEncoding } from './e-time-encoding.js';
import { eValidityPeriod } from './e-validity-period.js';
import { eValidityWithinIssuer } from './e-validity-within-issuer.js';
import type { Lint, LintContext } from './lint.js';

export type { Lint, LintContext } from './lint.js';

export const LINTS: readonly Lint[] = [
  eValidityPeriod,
  eValidityWithinIssuer,
  eTimeEncoding,
  eKeyType,
  eSignatureAlgorithm,
  eSerial,
  eKeyIdentifiers,
  eBasicConstraints,
  eKeyUsage,
  eExtendedKeyUsage,
  eSubjectAltName,
  eRevocationPointers,
  eSubject,
  eExtensions,
];

export function runLints(tbs: TbsCertificate, ctx: LintContext, lints: readonly Lint[] = LINTS): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const lint of lints) {
    if (lint.appliesTo && !lint.appliesTo.includes(tbs.profile.kind)) continue;
    for (const message of lint.check(tbs, ctx)) findings.push({ lint: lint.name, severity: lint.severity, message, citation: lint.citation });
  }
  return findings;
}

/** Throws LintError naming every broken rule; returns the warnings otherwise. */
export function assertLintClean(tbs: TbsCertificate, ctx: LintContext): LintFinding[] {
  const findings = runLints(tbs, ctx);
  if (findings.some((f) => f.severity === 'error')) throw new LintError(findings);
  return findings;
}
