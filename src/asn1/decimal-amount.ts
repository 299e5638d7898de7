/**
 * Decimal amounts compared without floating point: 0.1 + 0.2 must never decide whether a
 * payment passes its limit. The grammar is agentPolicy's DecimalAmount (asn1/AgentCA-Extensions.asn):
 * digits, an optional fraction, no sign, no exponent; leading zeros are tolerated on input
 * ("0100" = "100") and canonicalised away.
 */
const DECIMAL = /^([0-9]{1,18})(?:\.([0-9]{1,6}))?$/;
const CURRENCY = /^[A-Z]{3}$/;

/** Why `s` is not a decimal amount, or undefined. */
export function decimalViolation(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'must be a string';
  if (!DECIMAL.test(s))
    return `${JSON.stringify(s)} is not a decimal like "100" or "1250.50" (no sign, at most 18 integer and 6 fraction digits)`;
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

/** Canonical text: no leading zeros, no trailing fraction zeros ("0100.50" -> "100.5", "7.0" -> "7"). */
export function canonicalDecimal(s: string): string {
  return formatDecimalUnits(decimalUnits(s));
}

/** Canonical text of a non-negative amount in 10^-6 units (the inverse of decimalUnits, any size). */
export function formatDecimalUnits(v: bigint): string {
  const int = v / 1_000_000n;
  const frac = (v % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
}
