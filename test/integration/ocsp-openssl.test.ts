/**
 * OCSP interop without HTTP (every artifact a counterparty sees is checked by the openssl
 * binary): `openssl ocsp -reqout` writes the requests, the transport-free responder
 * answers them, and `openssl ocsp -respin` verifies the signature and chain, the nonce
 * (with -reqin), and prints good / revoked (reason, time) / unknown.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPem } from '../../src/asn1/pem.js';
import { createLiveSource } from '../../src/ocsp/live-source.js';
import { createPrecomputedSource } from '../../src/ocsp/precomputed-source.js';
import { presignForSerial } from '../../src/ocsp/presign.js';
import { OcspResponder, type OcspResult } from '../../src/ocsp/responder.js';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';
import { certStatusFrom } from '../../src/ocsp/status-map.js';
import type { CertStatus } from '../../src/ocsp/types.js';
import type { IssuerId, KeyType, Serial } from '../../src/types.js';
import { INTERMEDIATE, makeCaFixture, ROOT, type CaFixture } from '../unit/ocsp/ca-fixture.js';

const HOUR = 3_600_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** How openssl prints a GeneralizedTime (ASN1_TIME_print). */
const opensslTime = (d: Date): string =>
  `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${[d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join(':')} ${d.getUTCFullYear()} GMT`;

describe.each(['p256', 'rsa2048'] as KeyType[])('OCSP with openssl (%s hierarchy)', (keyType) => {
  let ca: CaFixture;
  let dir: string;
  let responder: OcspResponder;
  let revokedAt: Date;
  let a1: string;
  let a2: string;
  const presigned = new Map<string, Buffer>();
  let n = 0;

  function openssl(args: string[]): { code: number; out: string } {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 10_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  }

  /** openssl writes a request; the responder answers; the response is written for openssl to read. */
  async function roundTrip(reqArgs: string[]): Promise<{ req: string; resp: string; result: OcspResult }> {
    const id = ++n;
    const req = `req${id}.der`;
    const resp = `resp${id}.der`;
    const made = openssl(['ocsp', ...reqArgs, '-reqout', req]);
    expect(made.code, made.out).toBe(0);
    const result = await responder.respond(readFileSync(join(dir, req)));
    writeFileSync(join(dir, resp), result.der);
    return { req, resp, result };
  }

  const verifyArgs = ['-CAfile', 'root.pem', '-verify_other', 'int.pem'];

  beforeAll(async () => {
    ca = await makeCaFixture(keyType);
    dir = ca.tmp.dir;
    const store = ca.authority.store;
    const first = await ca.issueAgent('trading-bot-1');
    const second = await ca.issueAgent('trading-bot-2');
    a1 = first.serial;
    a2 = second.serial;
    writeFileSync(join(dir, 'root.pem'), toPem(ca.authority.ca('root').certificate.der));
    writeFileSync(join(dir, 'int.pem'), toPem(ca.authority.ca('intermediate').certificate.der));
    writeFileSync(join(dir, 'a1.pem'), first.pem);
    writeFileSync(join(dir, 'a2.pem'), second.pem);
    revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await store.commit([
      {
        op: 'putRevocation',
        record: { serial: a2 as Serial, issuerId: INTERMEDIATE, revokedAt, reason: 'keyCompromise', actor: 'test' },
      },
    ]);

    // The status lookup the responder will get from the service: store-backed.
    const status = async (issuerId: IssuerId, serial: Serial): Promise<CertStatus> => {
      const cert = await store.certificates.get(serial);
      if (!cert || cert.issuerId !== issuerId) return { kind: 'unknown' };
      const rev = await store.revocations.get(serial);
      if (!rev) return certStatusFrom({ state: 'good' });
      return certStatusFrom({
        state: rev.reason === 'certificateHold' ? 'held' : 'revoked',
        revokedAt: rev.revokedAt,
        reason: rev.reason,
      });
    };
    const now = new Date();
    for (const [issuer, serial] of [
      ['intermediate', a1],
      ['root', ca.authority.ca('intermediate').certificate.serial],
    ] as const) {
      const c = ca.authority.ca(issuer).certificate;
      const out = await presignForSerial({
        responder: ca.responders[issuer],
        issuer: { subjectDer: c.subject, publicKeyInfo: c.publicKeyInfo },
        serial: serial as Serial,
        status: await status(issuer as IssuerId, serial as Serial),
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + HOUR),
      });
      for (const o of out) presigned.set(`${issuer}/${serial}/${o.hashAlgorithm}`, o.der);
    }
    responder = new OcspResponder({
      issuers: ca.index,
      clock: { now: () => new Date() },
      cache: false,
      sources: [
        createPrecomputedSource({
          lookup: async (issuerId, serial, hash) => presigned.get(`${issuerId}/${serial}/${hash}`),
        }),
        createLiveSource({ responderFor: (id) => ca.responderFor(id), status, validityMs: HOUR }),
      ],
    });
  });

  afterAll(async () => {
    await ca?.close();
  });

  it.each([
    ['sha1', []],
    ['sha256', ['-sha256']],
  ])('good, pre-signed, %s CertID', async (hash, digest) => {
    // openssl wants the digest option before -cert.
    const { resp, result } = await roundTrip([...digest, '-issuer', 'int.pem', '-cert', 'a1.pem', '-no_nonce']);
    expect(result).toMatchObject({ status: 'successful', source: 'precomputed' });
    expect(parseOcspResponse(result.der).basic!.responses[0]!.certId.hashAlgorithm).toBe(hash);
    const check = openssl([
      'ocsp',
      '-respin',
      resp,
      ...digest,
      '-issuer',
      'int.pem',
      '-cert',
      'a1.pem',
      '-no_nonce',
      ...verifyArgs,
    ]);
    expect(check.out).toContain('Response verify OK');
    expect(check.out).toMatch(/a1\.pem: good/);
    expect(check.code, check.out).toBe(0);
  });

  it('revoked with reason and time, nonce echoed (live)', async () => {
    const { req, resp, result } = await roundTrip(['-issuer', 'int.pem', '-cert', 'a2.pem']);
    expect(result).toMatchObject({ status: 'successful', source: 'live', nonce: true });
    // -reqin: openssl checks the response's nonce against the request's.
    const nonce = openssl(['ocsp', '-reqin', req, '-respin', resp, ...verifyArgs]);
    expect(nonce.out).toContain('Response verify OK');
    expect(nonce.out).not.toMatch(/nonce/i);
    expect(nonce.code, nonce.out).toBe(0);
    const check = openssl([
      'ocsp',
      '-respin',
      resp,
      '-issuer',
      'int.pem',
      '-cert',
      'a2.pem',
      '-no_nonce',
      ...verifyArgs,
    ]);
    expect(check.out).toContain('Response verify OK');
    expect(check.out).toMatch(/a2\.pem: revoked/);
    expect(check.out).toContain('Reason: keyCompromise');
    expect(check.out).toContain(`Revocation Time: ${opensslTime(revokedAt)}`);

    // And the nonce check is real: this response does not answer another request's nonce.
    const other = openssl(['ocsp', '-issuer', 'int.pem', '-cert', 'a2.pem', '-reqout', 'other.der']);
    expect(other.code).toBe(0);
    const mismatch = openssl(['ocsp', '-reqin', 'other.der', '-respin', resp, ...verifyArgs]);
    expect(mismatch.out).toContain('Nonce Verify error');
    expect(mismatch.code).not.toBe(0);
  });

  it('unknown for a serial the CA never issued, and several CertIDs in one response', async () => {
    const { req, resp, result } = await roundTrip([
      '-issuer',
      'int.pem',
      '-cert',
      'a1.pem',
      '-cert',
      'a2.pem',
      '-serial',
      '0x0badc0de',
    ]);
    expect(result).toMatchObject({ status: 'successful', source: 'live' });
    expect(parseOcspResponse(result.der).basic!.responses).toHaveLength(3);
    expect(openssl(['ocsp', '-reqin', req, '-respin', resp, ...verifyArgs]).code).toBe(0);
    const check = openssl([
      'ocsp',
      '-respin',
      resp,
      '-issuer',
      'int.pem',
      '-cert',
      'a1.pem',
      '-cert',
      'a2.pem',
      '-serial',
      '0x0badc0de',
      '-no_nonce',
      ...verifyArgs,
    ]);
    expect(check.out).toContain('Response verify OK');
    expect(check.out).toMatch(/a1\.pem: good/);
    expect(check.out).toMatch(/a2\.pem: revoked/);
    expect(check.out).toMatch(/0x0badc0de: unknown/);
  });

  it("the intermediate's status, signed by the root's delegated responder", async () => {
    for (const nonce of [['-no_nonce'], []]) {
      const { resp, result } = await roundTrip(['-issuer', 'root.pem', '-cert', 'int.pem', ...nonce]);
      expect(result).toMatchObject({
        status: 'successful',
        issuerId: ROOT,
        source: nonce.length ? 'precomputed' : 'live',
      });
      const check = openssl([
        'ocsp',
        '-respin',
        resp,
        '-issuer',
        'root.pem',
        '-cert',
        'int.pem',
        '-no_nonce',
        '-CAfile',
        'root.pem',
      ]);
      expect(check.out).toContain('Response verify OK');
      expect(check.out).toMatch(/int\.pem: good/);
    }
  });

  it('unauthorized for a foreign issuer, malformedRequest for garbage', async () => {
    const made = openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'foreign.key',
      '-out',
      'foreign.pem',
      '-subj',
      '/CN=Foreign CA',
      '-days',
      '1',
    ]);
    expect(made.code, made.out).toBe(0);
    const { resp } = await roundTrip(['-issuer', 'foreign.pem', '-serial', '0x01', '-no_nonce']);
    expect(
      openssl(['ocsp', '-respin', resp, '-issuer', 'foreign.pem', '-serial', '0x01', '-no_nonce', '-noverify']).out,
    ).toContain('Responder Error: unauthorized (6)');

    const garbage = await responder.respond(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    writeFileSync(join(dir, 'garbage.der'), garbage.der);
    expect(openssl(['ocsp', '-respin', 'garbage.der', '-noverify']).out).toContain(
      'Responder Error: malformedrequest (1)',
    );
  });
});
