/**
 * Decimal amounts compared without floating point: 0.1 + 0.2 must never decide whether a
 * payment passes its limit. One grammar for every amount (policy limits in certificates, signed
 * action claims, risk events, the HTTP API): agentPolicy's DecimalAmount
 * (asn1/AgentCA-Extensions.asn): 1 to 18 integer digits without leading zeros, optionally "."
 * and 1 to 6 fraction digits; no sign, no exponent, no separators. Amounts stay strings end to end.
 */
export const DECIMAL_AMOUNT = /^(0|[1-9][0-9]{0,17})(?:\.([0-9]{1,6}))?$/;
/** The refusal every amount check gives. */
export const DECIMAL_AMOUNT_RULE =
  'must be a decimal like "50000" or "1250.50" (no sign, no leading zeros, at most 18 integer and 6 fraction digits)';
const DECIMAL = DECIMAL_AMOUNT;
const CURRENCY = /^[A-Z]{3}$/;

/** Why `s` is not a decimal amount, or undefined. */
export function decimalViolation(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'must be a string';
  if (!DECIMAL.test(s)) return `${JSON.stringify(s)} ${DECIMAL_AMOUNT_RULE}`;
  return undefined;
}

export function currencyViolation(s: unknown): string | undefined {
  if (typeof s !== 'string' || !CURRENCY.test(s))
    return `${JSON.stringify(s)} is not an ISO 4217 alphabetic code (three upper-case letters)`;
  return undefined;
}

/** Scaled to 10^-6 units as a bigint: exact for every value the grammar allows (sums stay exact too). */
export function decimalUnits(s: string): bigint {
  const m = DECIMAL.exec(s);
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(s)}`);
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** -1, 0 or 1 as a < b, a = b, a > b. Throws RangeError on a string outside the grammar. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const x = decimalUnits(a);
  const y = decimalUnits(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Canonical text: no trailing fraction zeros ("100.50" -> "100.5", "7.0" -> "7"). */
export function canonicalDecimal(s: string): string {
  return formatDecimalUnits(decimalUnits(s));
}

/** Canonical text of a non-negative amount in 10^-6 units (the inverse of decimalUnits, any size). */
export function formatDecimalUnits(v: bigint): string {
  const int = v / 1_000_000n;
  const frac = (v % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
}
