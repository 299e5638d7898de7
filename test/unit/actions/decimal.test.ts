import { describe, expect, it } from 'vitest';
import { canonicalDecimal, compareDecimal, decimalViolation } from '../../../src/asn1/decimal-amount.js';

describe('decimal amounts', () => {
  it('compares exactly where floats would not', () => {
    // 0.1 + 0.2 > 0.3 in binary floating point; these are strings, compared exactly.
    expect(0.1 + 0.2 > 0.3).toBe(true);
    expect(compareDecimal('0.3', '0.30')).toBe(0);
    expect(compareDecimal('50000.000001', '50000')).toBe(1);
    expect(compareDecimal('49999.999999', '50000')).toBe(-1);
    // beyond 2^53: floats would call these equal
    expect(Number('900719925474099.3') === Number('900719925474099.2')).toBe(true);
    expect(compareDecimal('900719925474099.3', '900719925474099.2')).toBe(1);
    expect(compareDecimal('999999999999999999.999999', '999999999999999999.999998')).toBe(1);
  });

  it('canonicalises trailing zeros', () => {
    expect(canonicalDecimal('7.000')).toBe('7');
    expect(canonicalDecimal('0.000001')).toBe('0.000001');
    expect(canonicalDecimal('0')).toBe('0');
  });

  it.each(['-1', '+1', '1e3', '1.', '.5', '1.1234567', '1,5', ' 1', 'NaN', '', '1234567890123456789', '0100.50', '00'])(
    'refuses %j',
    (s) => {
      expect(decimalViolation(s)).toBeDefined();
      expect(() => compareDecimal(s, '1')).toThrow(RangeError);
    },
  );
});
