import { describe, expect, it } from 'vitest';
import { AgentCaError } from '../../../src/errors.js';
import {
  formatPkcs11Uri,
  parsePkcs11Uri,
  pinFilePath,
  redactPkcs11Uri,
  type Pkcs11Uri,
} from '../../../src/signer/pkcs11-uri.js';

function invalidReason(uri: string): string {
  try {
    parsePkcs11Uri(uri);
  } catch (e) {
    expect(e).toBeInstanceOf(AgentCaError);
    expect((e as AgentCaError).code).toBe('ACA_ERR_SIGNER_URI_INVALID');
    return String((e as AgentCaError).details.reason);
  }
  throw new Error(`accepted ${uri}`);
}

describe('parsePkcs11Uri (RFC 7512)', () => {
  it('parses the RFC 7512 §3 example with path and query attributes', () => {
    const u = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin',
    );
    expect(u).toEqual({
      token: 'The Software PKCS#11 Softtoken',
      manufacturer: 'Snake Oil, Inc.',
      model: '1.0',
      object: 'my-certificate',
      type: 'cert',
      id: Buffer.from('69953e5cf4bdec91', 'hex'),
      serial: '',
      pinSource: 'file:/etc/token_pin',
    });
  });

  it('accepts an empty URI and an empty query', () => {
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
    expect(parsePkcs11Uri('pkcs11:token=a?')).toEqual({ token: 'a' });
    expect(parsePkcs11Uri('PKCS11:object=k')).toEqual({ object: 'k' });
  });

  it('percent-decodes to UTF-8 text and raw id bytes', () => {
    const u = parsePkcs11Uri('pkcs11:object=cl%C3%A9%20%3B%2F;id=%00%FF%25a');
    expect(u.object).toBe('clé ;/');
    expect(u.id).toEqual(Buffer.from([0x00, 0xff, 0x25, 0x61]));
  });

  it('keeps "=" and "&" in path values, "/" "?" "|" in query values', () => {
    const u = parsePkcs11Uri('pkcs11:object=a=b&c?module-path=/usr/lib/x.so&pin-source=file:/run/pin?x|y');
    expect(u.object).toBe('a=b&c');
    expect(u.modulePath).toBe('/usr/lib/x.so');
    expect(u.pinSource).toBe('file:/run/pin?x|y');
  });

  it('parses slot-id, library-version and every path attribute name', () => {
    const u = parsePkcs11Uri(
      'pkcs11:slot-id=1563435431;library-version=2.6;library-manufacturer=SoftHSM;library-description=Impl;slot-description=S;slot-manufacturer=M',
    );
    expect(u.slotId).toBe(1563435431);
    expect(u.libraryVersion).toBe('2.6');
    expect(u.libraryManufacturer).toBe('SoftHSM');
    expect(u.libraryDescription).toBe('Impl');
    expect(u.slotDescription).toBe('S');
    expect(u.slotManufacturer).toBe('M');
  });

  it('accepts pin-source env: (our extension) and file:///', () => {
    expect(parsePkcs11Uri('pkcs11:object=k?pin-source=env:HSM_PIN').pinSource).toBe('env:HSM_PIN');
    expect(parsePkcs11Uri('pkcs11:object=k?pin-source=file:///run/pin').pinSource).toBe('file:///run/pin');
    expect(parsePkcs11Uri('pkcs11:object=k?pin-value=1234').pinValue).toBe('1234');
  });

  it.each([
    ['pkcs12:object=k', /scheme/],
    ['pkcs11:object=k;object=j', /duplicate attribute object/],
    ['pkcs11:object=k?pin-source=env:A&pin-source=env:B', /duplicate attribute pin-source/],
    ['pkcs11:colour=blue', /unknown attribute colour/],
    ['pkcs11:x-vendor=1', /unknown attribute x-vendor/],
    ['pkcs11:object=k?token=t', /token is a path attribute/],
    ['pkcs11:module-path=/x.so', /module-path is a query attribute/],
    ['pkcs11:object=a b', /not allowed unencoded/],
    ['pkcs11:object=a/b', /not allowed unencoded/],
    ['pkcs11:object=k?pin-source=env:A&module-path=/a;b', /not allowed unencoded/],
    ['pkcs11:object=%4', /bad %-escape/],
    ['pkcs11:object=%zz', /bad %-escape/],
    ['pkcs11:object=%C3%28', /UTF-8/],
    ['pkcs11:object=k#frag', /fragments/],
    ['pkcs11:object=k;', /without a name/],
    ['pkcs11:;object=k', /without a name/],
    ['pkcs11:object', /without a name/],
    ['pkcs11:=k', /without a name/],
    ['pkcs11:type=secret', /type must be/],
    ['pkcs11:slot-id=-1', /slot-id/],
    ['pkcs11:slot-id=0x10', /slot-id/],
    ['pkcs11:slot-id=99999999999999999999', /slot-id/],
    ['pkcs11:library-version=2.x', /library-version/],
    ['pkcs11:object=k?pin-source=|/bin/pinentry', /pin-source must be/],
    ['pkcs11:object=k?pin-source=file:relative/pin', /pin-source must be/],
    ['pkcs11:object=k?pin-source=https://example/pin', /pin-source must be/],
    ['pkcs11:object=k?pin-source=env:1BAD', /env: needs a variable name/],
    ['pkcs11:object=k?pin-source=env:A&pin-value=1', /mutually exclusive/],
  ])('refuses %s', (uri, reason) => {
    expect(invalidReason(uri)).toMatch(reason);
  });

  it('does not echo a pin-value in the error details', () => {
    try {
      parsePkcs11Uri('pkcs11:nope=1?pin-value=s3cret');
      throw new Error('accepted');
    } catch (e) {
      expect(JSON.stringify((e as AgentCaError).details)).not.toContain('s3cret');
    }
  });
});

describe('formatPkcs11Uri', () => {
  it('writes the canonical order with a fully percent-encoded id', () => {
    const s = formatPkcs11Uri({
      type: 'private',
      id: Buffer.from([0x01, 0x41, 0xff]),
      object: 'root ca;2026',
      token: 'agent-ca',
      pinSource: 'env:AGENT_CA_PKCS11_PIN',
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
    });
    expect(s).toBe(
      'pkcs11:token=agent-ca;object=root%20ca%3B2026;id=%01%41%FF;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:AGENT_CA_PKCS11_PIN',
    );
  });

  it('encodes what each component forbids ("/" in the path, "&" in the query)', () => {
    expect(formatPkcs11Uri({ object: 'a/b&c', pinSource: 'file:/p&q' })).toBe(
      'pkcs11:object=a%2Fb&c?pin-source=file:/p%26q',
    );
    expect(formatPkcs11Uri({})).toBe('pkcs11:');
  });

  it('round-trips through parse', () => {
    const u: Pkcs11Uri = {
      token: 'Tøken #1',
      serial: 'add1d665dd3021a7',
      slotId: 7,
      object: 'key?%=;',
      id: Buffer.from('00112233', 'hex'),
      type: 'private',
      moduleName: 'softhsm2',
      modulePath: '/usr/lib/softhsm',
      pinSource: 'file:///run/secrets/pin',
    };
    expect(parsePkcs11Uri(formatPkcs11Uri(u))).toEqual(u);
  });
});

describe('helpers', () => {
  it('pinFilePath accepts file:/p, file:///p and file://localhost/p only', () => {
    expect(pinFilePath('file:/run/pin')).toBe('/run/pin');
    expect(pinFilePath('file:///run/pin')).toBe('/run/pin');
    expect(pinFilePath('file://localhost/run/pin')).toBe('/run/pin');
    expect(pinFilePath('file://host/run/pin')).toBeUndefined();
    expect(pinFilePath('file:run/pin')).toBeUndefined();
  });

  it('redactPkcs11Uri hides pin-value only', () => {
    expect(redactPkcs11Uri('pkcs11:object=k?module-path=/m.so&pin-value=1234')).toBe(
      'pkcs11:object=k?module-path=/m.so&pin-value=***',
    );
    expect(redactPkcs11Uri('pkcs11:object=k?pin-source=env:P')).toBe('pkcs11:object=k?pin-source=env:P');
  });
});
