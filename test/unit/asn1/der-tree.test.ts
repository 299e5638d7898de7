/**
 * readDerTree: the asn1js-free strict DER tree the lints parse every TBS with. Same tree as
 * parseDer on DER input, and the same refusals of non-DER forms (X.690 §10.1, §10.2).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '../../../src/asn1/certificate-parse.js';
import { parseDer, type DerNode } from '../../../src/asn1/decode.js';
import { decodeOid } from '../../../src/asn1/der-reader.js';
import { readDerTree } from '../../../src/asn1/der-tree.js';
import { AgentCaError } from '../../../src/errors.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const shape = (n: DerNode): unknown => ({
  c: n.tagClass,
  t: n.tagNumber,
  k: n.constructed,
  v: Buffer.from(n.content).toString('hex'),
  ch: n.children.map(shape),
});

function refuses(h: string | Buffer, reason: RegExp, limits = {}): void {
  let err: unknown;
  try {
    readDerTree(typeof h === 'string' ? hex(h) : h, 'x', limits);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AgentCaError);
  expect((err as AgentCaError).code).toBe('ACA_ERR_ASN1_DECODE');
  expect((err as Error).message).toMatch(reason);
}

describe('readDerTree', () => {
  it('gives the same tree as parseDer for a whole certificate', () => {
    const pem = readFileSync(new URL('../../../vectors/ca-p256/agent/rsa2048.pem', import.meta.url), 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(shape(readDerTree(der, 'c'))).toEqual(shape(parseDer(der, 'c')));
    expect(Buffer.from(readDerTree(parseCertificate(der).tbs, 't').der).equals(parseCertificate(der).tbs)).toBe(true);
  });

  it.each([
    ['30 80 02 01 01 00 00', /indefinite length/],
    ['04 81 01 aa', /non-minimal length/],
    ['24 03 04 01 aa', /constructed OCTET STRING is not DER/],
    ['10 00', /primitive SEQUENCE/],
    ['30 03 02 01 01 00', /trailing byte/],
    ['30 05 02 01 01', /truncated/],
    ['30 03 02 05 01', /overruns|truncated/],
    ['', /empty input/],
  ])('refuses %s', (h, reason) => refuses(h, reason));

  it('enforces the depth and node limits', () => {
    refuses('30 06 30 04 30 02 30 00', /nested deeper than 2/, { maxDepth: 2 });
    refuses('30 06 05 00 05 00 05 00', /more than 3 elements/, { maxNodes: 3 });
  });
});

describe('decodeOid', () => {
  it('reads components past 2^46 exactly (the legacy 123-bit arc) and small ones as before', () => {
    const legacy = '2.25.8486429543056106623930373175689343363.1.2';
    const enc = (oid: string) => {
      const [a, b, ...rest] = oid.split('.').map(BigInt);
      const out: number[] = [];
      for (const v of [a! * 40n + b!, ...rest]) {
        const groups: number[] = [];
        let x = v;
        do {
          groups.unshift(Number(x & 0x7fn));
          x >>= 7n;
        } while (x > 0n);
        out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
      }
      return Buffer.from(out);
    };
    for (const oid of [
      legacy,
      '1.2.840.113556.1.8000.2554.1634.27975.56549.17106.37927.4247664.2093443.1.1',
      '1.3.6.1.4.1.2147483648',
      '2.999.70368744177664',
      '0.9.2342.19200300.100.1.1',
    ]) {
      expect(decodeOid(enc(oid))).toBe(oid);
    }
  });
});
