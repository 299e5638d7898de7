import { describe, expect, it } from 'vitest';
import { Asn1DecodeError } from '../../../src/errors.js';
import { integer, oid, sequence, utf8String } from '../../../src/asn1/der.js';
import {
  decodeUtf8Strict,
  describeTag,
  expectSequence,
  parseDer,
  readBigInteger,
  readBoolean,
  readInteger,
  readOctetString,
  readOid,
  readPrintableString,
  readUtf8String,
} from '../../../src/asn1/decode.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function rejects(fn: () => unknown, reason: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(Asn1DecodeError);
  expect((caught as Asn1DecodeError).code).toBe('ACA_ERR_ASN1_DECODE');
  expect((caught as Error).message).toMatch(reason);
}

describe('parseDer', () => {
  it('parses a nested structure into tag/content views', () => {
    const n = parseDer(hex('30 0b a0 06 13 01 35 13 01 55 82 01 05'), 't');
    expect(n).toMatchObject({ tagClass: 'universal', tagNumber: 16, constructed: true });
    expect(n.children.map(describeTag)).toEqual(['[0] constructed', '[2] primitive']);
    expect(Buffer.from(n.children[1]!.content).toString('hex')).toBe('05');
    expect(n.children[0]!.children.map((c) => readPrintableString(c, 'x'))).toEqual(['5', 'U']);
  });

  it.each([
    ['trailing bytes', '02 01 05 00', /1 trailing byte/],
    ['indefinite length', '30 80 02 01 01 00 00', /indefinite length/],
    ['long-form length for a short value', '30 81 03 02 01 01', /minimal form/],
    ['length with a leading zero octet', '04 82 00 01 aa', /minimal form/],
    ['constructed UTF8String', '2c 04 0c 02 41 42', /constructed UTF8String/],
    ['truncated value', '30 05 02 01 01', /malformed|truncated/],
    ['empty input', '', /empty input/],
    ['high-tag form for a low tag number', '9f 02 01 00', /tag number not in minimal form/],
    ['nested non-minimal length', '30 04 04 81 01 aa', /minimal form/],
  ])('rejects %s', (_name, h, reason) => {
    rejects(() => parseDer(hex(h), 'x'), reason);
  });

  it('bounds nesting depth', () => {
    let der: Buffer = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < 40; i++) der = sequence(der);
    rejects(() => parseDer(der, 'deep'), /malformed/);
    expect(parseDer(der, 'deep', { maxDepth: 64 }).tagNumber).toBe(16);
  });
});

describe('strings', () => {
  it('reads valid UTF-8 including multi-byte characters', () => {
    expect(readUtf8String(parseDer(utf8String('zürich-€-😀'), 's'), 's')).toBe('zürich-€-😀');
  });

  it.each([
    ['lone continuation byte', '80'],
    ['overlong "/"', 'c0 af'],
    ['truncated 3-byte sequence', 'e2 82'],
    ['UTF-16 surrogate encoded as UTF-8', 'ed a0 80'],
    ['code point above U+10FFFF', 'f4 90 80 80'],
    ['0xFF byte', '41 ff'],
  ])('rejects invalid UTF-8: %s', (_name, bytes) => {
    const b = hex(bytes);
    const der = Buffer.concat([Buffer.from([0x0c, b.length]), b]);
    rejects(() => readUtf8String(parseDer(der, 's'), 'field'), /field: invalid UTF-8/);
    rejects(() => decodeUtf8Strict(b, 'raw'), /invalid UTF-8/);
  });

  it('applies size and alphabet constraints counting characters, not bytes', () => {
    const n = parseDer(utf8String('ééé'), 's');
    expect(readUtf8String(n, 's', { max: 3 })).toBe('ééé');
    rejects(() => readUtf8String(n, 's', { max: 2 }), /3 character\(s\), at most 2/);
    rejects(() => readUtf8String(n, 's', { alphabet: (c) => /[a-z]/.test(c), alphabetName: 'a-z' }), /outside a-z/);
  });

  it('rejects the wrong string type and bytes outside PrintableString', () => {
    rejects(() => readUtf8String(parseDer(hex('13 01 41'), 's'), 'f'), /expected UTF8String, found PrintableString/);
    rejects(() => readPrintableString(parseDer(hex('13 01 2a'), 's'), 'f'), /0x2a outside the PrintableString set/);
  });

  it('checks IMPLICIT context tags including constructed-ness', () => {
    expect(readUtf8String(parseDer(hex('81 01 41'), 's'), 'f', { implicit: 1 })).toBe('A');
    rejects(
      () => readUtf8String(parseDer(hex('82 01 41'), 's'), 'f', { implicit: 1 }),
      /expected \[1\] primitive, found \[2\] primitive/,
    );
    rejects(() => expectSequence(parseDer(hex('80 00'), 's'), 'f', { implicit: 0 }), /expected \[0\] constructed/);
  });
});

describe('numbers, octets, OIDs', () => {
  it('reads integers with range checks', () => {
    expect(readInteger(parseDer(integer(300), 'i'), 'i', { min: 0, max: 300 })).toBe(300);
    expect(readBigInteger(parseDer(hex('02 01 ff'), 'i'), 'i')).toBe(-1n);
    expect(readBigInteger(parseDer(hex('02 09 00 ff ff ff ff ff ff ff ff'), 'i'), 'i')).toBe(2n ** 64n - 1n);
    rejects(() => readInteger(parseDer(hex('02 01 ff'), 'i'), 'i', { min: 0 }), /-1 outside 0\.\./);
    rejects(() => readInteger(parseDer(integer(301), 'i'), 'i', { max: 300 }), /301 outside/);
    rejects(() => readInteger(parseDer(hex('02 09 01 00 00 00 00 00 00 00 00'), 'i'), 'i'), /outside/);
  });

  it('rejects non-minimal and empty INTEGERs', () => {
    rejects(() => readBigInteger(parseDer(hex('02 02 00 05'), 'i'), 'i'), /minimal form/);
    rejects(() => readBigInteger(parseDer(hex('02 02 ff 80'), 'i'), 'i'), /minimal form/);
    rejects(() => readBigInteger(parseDer(hex('02 00'), 'i'), 'i'), /no content/);
    expect(readBigInteger(parseDer(hex('02 02 00 80'), 'i'), 'i')).toBe(128n);
  });

  it('reads OIDs including the legacy 37-digit UUID arc', () => {
    const arc = '2.25.8486429543056106623930373175689343363.1.2';
    expect(readOid(parseDer(oid(arc), 'o'), 'o')).toBe(arc);
    expect(readOid(parseDer(oid('1.2.840.113549.1.1.11'), 'o'), 'o')).toBe('1.2.840.113549.1.1.11');
    rejects(() => readOid(parseDer(hex('06 03 2a 80 01'), 'o'), 'o'), /not minimal/);
    rejects(() => readOid(parseDer(hex('06 02 2a 86'), 'o'), 'o'), /truncated|malformed/);
  });

  it('reads DER BOOLEANs and OCTET STRING sizes', () => {
    expect(readBoolean(parseDer(hex('01 01 ff'), 'b'), 'b')).toBe(true);
    rejects(() => readBoolean(parseDer(hex('01 01 01'), 'b'), 'b'), /00 or FF/);
    expect(readOctetString(parseDer(hex('04 02 aa bb'), 'o'), 'o', { min: 2, max: 2 }).toString('hex')).toBe('aabb');
    rejects(() => readOctetString(parseDer(hex('04 01 aa'), 'o'), 'o', { min: 2 }), /1 octet\(s\), at least 2/);
  });
});
