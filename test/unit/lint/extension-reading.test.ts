/**
 * The lints remember what an extension value says by its exact bytes (src/lint/extension-reading.ts):
 * a remembered reading must never stand in for different bytes, and a value that is not DER is
 * reported every time it is seen, not only the first.
 */
import { describe, expect, it } from 'vitest';
import { Oids } from '../../../src/asn1/oids.js';
import { keyUsageValue } from '../../../src/asn1/x509-extensions.js';
import { extensionEntry } from '../../../src/profile/build-tbs.js';
import { readExtensionValue } from '../../../src/lint/extension-reading.js';
import { lintOid } from '../../../src/lint/oid-reading.js';
import { readDerTree } from '../../../src/asn1/der-tree.js';
import { oid } from '../../../src/asn1/der.js';
import { agentTbs, errorLints, lintFindings, tweak } from './tbs-fixtures.js';

function withKeyUsageValue(value: Buffer) {
  const t = agentTbs();
  return tweak(t, {
    extensions: t.extensions.map((e) => (e.name === 'keyUsage' ? extensionEntry(e.name, e.oid, true, value) : e)),
  });
}

describe('remembered extension readings', () => {
  it('a fixed extension changed in one byte is read afresh and refused, before and after the clean one', () => {
    const clean = agentTbs();
    expect(lintFindings(clean)).toEqual([]);
    expect(lintFindings(clean)).toEqual([]);
    // keyCertSign on an agent certificate: the same length, one bit more.
    const broken = withKeyUsageValue(keyUsageValue(['digitalSignature', 'keyCertSign']));
    expect(errorLints(broken)).toContain('e_key_usage');
    expect(errorLints(broken)).toContain('e_key_usage');
    expect(lintFindings(clean)).toEqual([]);
  });

  it('a value that is not DER is reported on every certificate that carries it', () => {
    const notDer = withKeyUsageValue(Buffer.from([0x03, 0x81, 0x02, 0x07, 0x80]));
    expect(errorLints(notDer)).toContain('e_der_encoding');
    expect(errorLints(notDer)).toContain('e_der_encoding');
  });

  it('the same bytes under another OID are a different reading', () => {
    const value = keyUsageValue(['digitalSignature']);
    const asKeyUsage = readExtensionValue(Oids.keyUsage, 'keyUsage', value);
    const asEku = readExtensionValue(Oids.extKeyUsage, 'extKeyUsage', value);
    expect(asKeyUsage.malformed).toBeUndefined();
    expect(asEku.malformed).toMatch(/extKeyUsage/);
    expect(readExtensionValue(Oids.keyUsage, 'keyUsage', Buffer.from(value))).toBe(asKeyUsage);
  });
});

describe('remembered OBJECT IDENTIFIERs', () => {
  it('decodes each encoding once and still refuses a bad one every time', () => {
    const good = readDerTree(oid('2.5.29.15'), 'oid');
    expect(lintOid(good, 'oid')).toBe('2.5.29.15');
    expect(lintOid(readDerTree(oid('2.5.29.15'), 'oid'), 'oid')).toBe('2.5.29.15');
    // X.690 §8.19.2: a sub-identifier starting with 0x80 is not minimal.
    const bad = readDerTree(Buffer.from([0x06, 0x03, 0x55, 0x80, 0x0f]), 'oid');
    expect(() => lintOid(bad, 'oid')).toThrow(/not minimal/);
    expect(() => lintOid(bad, 'oid')).toThrow(/not minimal/);
    expect(() => lintOid(readDerTree(Buffer.from([0x04, 0x01, 0x55]), 'oid'), 'oid')).toThrow();
  });
});
