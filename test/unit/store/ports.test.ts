import { describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../../src/errors.js';
import { esc, padCrlNumber, padTime, under } from '../../../src/store/level/keys.js';
import { isRevocationReason, reasonCode, reasonFromCode, REVOCATION_REASON_CODES } from '../../../src/store/ports.js';

describe('CRLReason map (RFC 5280 §5.3.1)', () => {
  it('maps names to codes 0-6 and 8-10, and back', () => {
    expect(Object.values(REVOCATION_REASON_CODES).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);
    expect(reasonCode('keyCompromise')).toBe(1);
    expect(reasonCode('removeFromCRL')).toBe(8);
    expect(reasonFromCode(6)).toBe('certificateHold');
    expect(reasonFromCode(10)).toBe('aACompromise');
    for (const [name, code] of Object.entries(REVOCATION_REASON_CODES)) expect(reasonFromCode(code)).toBe(name);
  });

  it('refuses code 7 and unknown names', () => {
    for (const code of [7, 11, -1]) {
      let err: unknown;
      try {
        reasonFromCode(code);
      } catch (e) {
        err = e;
      }
      expect(isAgentCaError(err) && err.code).toBe('ACA_ERR_INPUT_REASON_UNKNOWN');
    }
    expect(isRevocationReason('keyCompromise')).toBe(true);
    expect(isRevocationReason('toString')).toBe(false);
    expect(isRevocationReason(1)).toBe(false);
  });
});

describe('LevelDB key encoding', () => {
  it('escapes components so a prefix range holds exactly its own keys', () => {
    expect(esc('a!b')).toBe('a%21b');
    const r = under('ca', esc('a'));
    for (const k of [`ca!${esc('a')}!01`, `ca!${esc('a')}!ff`]) expect(k >= r.gte && k < r.lt).toBe(true);
    for (const k of [`ca!${esc('a!b')}!01`, `ca!${esc('ab')}!01`, `ca!${esc('a b')}!01`, `ca!${esc('aé')}!01`]) {
      expect(k >= r.gte && k < r.lt).toBe(false);
    }
  });

  it('pads numbers to sort as strings in numeric order', () => {
    const times = [-86_400_000, 0, 1, 1_735_689_600_000, 4_102_444_800_000];
    expect(times.map(padTime)).toEqual([...times.map(padTime)].sort());
    const ns = [1n, 9n, 10n, 2n ** 64n, 2n ** 159n];
    expect(ns.map(padCrlNumber)).toEqual([...ns.map(padCrlNumber)].sort());
  });
});
