/**
 * The invalidityDate of a revocation (RFC 5280 §5.3.2): "the date on which it is known or
 * suspected that the private key was compromised or that the certificate otherwise became
 * invalid". It is encoded as a GeneralizedTime in the CRL entry, so it must be representable
 * there, and it cannot be later than the revocation itself. docs/hardening.md (D1) explains
 * the floor: nothing this CA certifies predates the earliest X.509 time (1950, RFC 5280
 * §4.1.2.5), so an earlier date is a typo or an attack, never a fact.
 */
import { AgentCaError } from '../errors.js';

/** 1950-01-01T00:00:00Z: the first instant RFC 5280 §4.1.2.5 gives certificates. */
export const INVALIDITY_DATE_FLOOR_MS = Date.UTC(1950, 0, 1);

/** Why `d` cannot be the invalidityDate of a revocation decided at `revokedAt`, or undefined when it can. */
export function invalidityDateProblem(d: unknown, revokedAt: Date): string | undefined {
  const range = rangeProblem(d);
  if (range) return range;
  const ms = (d as Date).getTime();
  if (ms > revokedAt.getTime())
    return `must not be after the revocation time ${revokedAt.toISOString()} (RFC 5280 §5.3.2)`;
  return undefined;
}

export function assertInvalidityDate(d: Date, revokedAt: Date): void {
  const why = invalidityDateProblem(d, revokedAt);
  if (why) throw new AgentCaError('INPUT_INVALID', `invalidity date ${why}`, { fields: { invalidityDate: why } });
}

function rangeProblem(d: unknown): string | undefined {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(ms)) return 'must be a valid time';
  if (ms < INVALIDITY_DATE_FLOOR_MS) return 'must not be before 1950-01-01T00:00:00Z (RFC 5280 §4.1.2.5)';
  // GeneralizedTime has four year digits.
  if ((d as Date).getUTCFullYear() > 9999) return 'must be before the year 10000 (GeneralizedTime)';
  return undefined;
}

/**
 * For CRL building: the invalidityDate to encode, or undefined when a stored one is out of
 * range (written before the check above existed). The entry itself, with its revocation
 * date and reason, is always listed: a bad optional extension must never hide a revocation.
 */
export function encodableInvalidityDate(d: Date | undefined): Date | undefined {
  return d !== undefined && rangeProblem(d) === undefined ? d : undefined;
}
