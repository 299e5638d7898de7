/**
 * The lint registry: every rule runs on the encoded TBS, parsed back from the exact bytes that
 * will be signed (lint-target.ts), before any key signs them.
 */
import { AgentCaError, LintError, type LintFinding } from '../errors.js';
import { eBasicConstraints } from './e-basic-constraints.js';
import { eDerEncoding } from './e-der-encoding.js';
import { eExtendedKeyUsage } from './e-extended-key-usage.js';
import { eExtensions } from './e-extensions.js';
import { eKeyIdentifiers } from './e-key-identifiers.js';
import { eKeyType } from './e-key-type.js';
import { eKeyUsage } from './e-key-usage.js';
import { eOidComponentRange } from './e-oid-component-range.js';
import { eRevocationPointers } from './e-revocation-pointers.js';
import { eSerial } from './e-serial.js';
import { eSignatureAlgorithm } from './e-signature-algorithm.js';
import { eSubject } from './e-subject.js';
import { eSubjectAltName } from './e-subject-alt-name.js';
import { eTimeEncoding } from './e-time-encoding.js';
import { eValidityPeriod } from './e-validity-period.js';
import { eValidityWithinIssuer } from './e-validity-within-issuer.js';
import type { Lint, LintContext } from './lint.js';
import { parseLintTarget, type LintIntent, type LintTarget } from './lint-target.js';

export type { Lint, LintContext } from './lint.js';
export { intentOf, parseLintTarget, type LintIntent, type LintTarget } from './lint-target.js';

export const LINTS: readonly Lint[] = [
  eDerEncoding,
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
  eOidComponentRange,
];

export function runLints(target: LintTarget, ctx: LintContext, lints: readonly Lint[] = LINTS): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const lint of lints) {
    if (lint.appliesTo && !lint.appliesTo.includes(target.profile.kind)) continue;
    for (const message of lint.check(target, ctx))
      findings.push({ lint: lint.name, severity: lint.severity, message, citation: lint.citation });
  }
  return findings;
}

/**
 * Parse `tbsDer` and lint it. Throws LintError naming every broken rule (a TBS whose structure
 * is not DER at all fails e_der_encoding); returns the parsed target and the warnings otherwise.
 */
export function lintEncodedTbs(
  tbsDer: Buffer,
  intent: LintIntent,
  ctx: LintContext,
): { target: LintTarget; warnings: LintFinding[] } {
  let target: LintTarget;
  try {
    target = parseLintTarget(tbsDer, intent);
  } catch (e) {
    if (!(e instanceof AgentCaError)) throw e;
    throw new LintError([
      {
        lint: eDerEncoding.name,
        severity: 'error',
        message: `the encoded TBS does not parse: ${e.message}`,
        citation: eDerEncoding.citation,
      },
    ]);
  }
  const findings = runLints(target, ctx);
  if (findings.some((f) => f.severity === 'error')) throw new LintError(findings);
  return { target, warnings: findings };
}
