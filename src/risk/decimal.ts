/**
 * Money amounts as exact decimal strings. A policy limit ("50000", asn1 DecimalAmount: up to 18
 * integer and 6 fraction digits) is compared with an event's amount digit by digit, never
 * through binary floating point, so "50000.000001" is over a 50000 limit and "50000.0" is not.
 */
import { canonicalDecimal, DECIMAL_AMOUNT as DECIMAL, DECIMAL_AMOUNT_RULE } from '../asn1/decimal-amount.js';

const FRACTION_DIGITS = 6;
/** Numbers at or above this cannot be written with 18 integer digits. */
const MAX_NUMBER = 1e18;

/**
 * The canonical decimal string for an amount given as a string or a JSON number (no trailing
 * fraction zeros, "." dropped when nothing follows), or the reason it is not an amount.
 */
export function canonicalAmount(v: unknown): { amount: string } | { error: string } {
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return { error: 'must be a non-negative finite number' };
    if (v >= MAX_NUMBER) return { error: 'must be below 10^18' };
    // toFixed(6) is exact enough for the 6 fraction digits the policy grammar allows.
    s = v.toFixed(FRACTION_DIGITS);
  } else if (typeof v === 'string') {
    if (!DECIMAL.test(v)) return { error: DECIMAL_AMOUNT_RULE };
    s = v;
  } else {
    return { error: 'must be a decimal string or a number' };
  }
  return { amount: canonicalDecimal(s) };
}

/** One comparator for every amount check (agent actions and risk features alike). */
export { compareDecimal } from '../asn1/decimal-amount.js';
