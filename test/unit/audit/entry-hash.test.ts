import { describe, expect, it } from 'vitest';
import { canonicalJson, jsonNormalise } from '../../../src/audit/canonical-json.js';
import { canonicalEntry, entryHash, GENESIS_HASH } from '../../../src/audit/entry-hash.js';

describe('canonicalJson (RFC 8785 style)', () => {
  it('sorts keys at every depth, drops undefined members, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, é: 'x' })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"é":"x"}',
    );
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
  });

  it('uses toJSON (Dates become ISO strings), matching what the store reads back', () => {
    const d = new Date('2025-02-03T04:05:06.789Z');
    expect(canonicalJson({ when: d })).toBe('{"when":"2025-02-03T04:05:06.789Z"}');
    expect(jsonNormalise({ when: d, n: undefined })).toEqual({ when: '2025-02-03T04:05:06.789Z' });
  });

  it('refuses values JSON cannot carry faithfully', () => {
    for (const bad of [{ n: 10n }, { n: Number.NaN }, { n: Infinity }, { f: () => 1 }]) {
      expect(() => canonicalJson(bad)).toThrow(/cannot be stored as JSON/);
    }
  });

  it('names the path of a refused value, and a refusal leaves no trace in the next call', () => {
    expect(() => canonicalJson({ a: [1, { b: Number.NaN }] })).toThrow('audit details at $.a[1].b: NaN');
    expect(() => canonicalJson({ c: 1n })).toThrow('audit details at $.c: bigint');
    expect(canonicalJson({ x: [{ y: 1 }] })).toBe('{"x":[{"y":1}]}');
  });
});

describe('entryHash', () => {
  const entry = {
    seq: 1,
    time: new Date('2025-01-01T00:00:00.000Z'),
    actor: 'alice',
    action: 'certificate.revoke',
    subject: '7f01',
    details: { z: { y: 'é', x: true }, reason: 'keyCompromise', a: [1, 'two', null] },
    prevHash: GENESIS_HASH,
  };

  it('hashes the canonical form (pinned vector, computed independently with Python hashlib)', () => {
    expect(canonicalEntry(entry)).toBe(
      '{"action":"certificate.revoke","actor":"alice","details":{"a":[1,"two",null],"reason":"keyCompromise","z":{"x":true,"y":"é"}},' +
        '"prevHash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"subject":"7f01","time":"2025-01-01T00:00:00.000Z"}',
    );
    expect(entryHash(entry)).toBe('c5e5c8f63292ff476890083990fd24c21710785a1f02bd63c53da02fe0674b97');
  });

  it('the same hash when the caller hands over the canonical details it already made', () => {
    const detailsJson = canonicalJson(entry.details);
    expect(canonicalEntry(entry, detailsJson)).toBe(canonicalEntry(entry));
    expect(entryHash(entry, detailsJson)).toBe(entryHash(entry));
    const normalised = { ...entry, details: jsonNormalise({ when: new Date(0), n: undefined, x: [1] }) };
    expect(entryHash(normalised, canonicalJson(normalised.details))).toBe(entryHash(normalised));
  });

  it('changes when any covered field changes', () => {
    const base = entryHash(entry);
    const variants = [
      { ...entry, seq: 2 },
      { ...entry, time: new Date(entry.time.getTime() + 1) },
      { ...entry, actor: 'bob' },
      { ...entry, action: 'certificate.hold' },
      { ...entry, subject: '7f02' },
      { ...entry, details: { ...entry.details, reason: 'superseded' } },
      { ...entry, prevHash: '1'.repeat(64) },
    ];
    for (const v of variants) expect(entryHash(v)).not.toBe(base);
  });
});
