/** D8: an agent's RSA key must have an odd public exponent of at least 65537 (NIST SP 800-89 §5.3.3). */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spkiKeyType } from '../../../src/asn1/spki.js';
import { AgentCaError } from '../../../src/errors.js';

const spki = (publicExponent: number): Buffer =>
  generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent }).publicKey.export({ format: 'der', type: 'spki' });

describe('RSA public exponent', () => {
  it.each([3, 17, 257])('refuses e = %d with ACA_ERR_INPUT_PUBLIC_KEY_INVALID', (e) => {
    let caught: unknown;
    try {
      spkiKeyType(spki(e));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AgentCaError);
    expect(caught).toMatchObject({
      code: 'ACA_ERR_INPUT_PUBLIC_KEY_INVALID',
      message: expect.stringMatching(/exponent must be odd and in 65537/),
    });
  });

  it.each([65537, 65539])('accepts e = %d', (e) => {
    expect(spkiKeyType(spki(e))).toBe('rsa2048');
  });
});
