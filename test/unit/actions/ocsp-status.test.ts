/**
 * The relying-party OCSP check believes only a response for our CertID, signed by the issuing
 * CA or a responder certificate that CA issued with id-kp-OCSPSigning, and current. A small
 * HTTP server on 127.0.0.1 returns responses crafted per test.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocspStatus } from '../../../src/actions/ocsp-status.js';
import type { StatusQuery } from '../../../src/actions/types.js';
import { pemOrDer } from '../../../src/asn1/pem.js';
import { explicit, octetString, sequence } from '../../../src/asn1/der.js';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { parseOcspRequest } from '../../../src/ocsp/request.js';
import { responderIdentity, type ResponderIdentity } from '../../../src/ocsp/responder-identity.js';
import { buildBasicResponse } from '../../../src/ocsp/response.js';
import type { CertStatus } from '../../../src/ocsp/types.js';
import { algorithmInfo } from '../../../src/signer/algorithms.js';
import { subjectPublicKeyBits } from '../../../src/signer/public-key.js';
import { signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { KeyUri } from '../../../src/types.js';
import { startBytesServer, type BytesServer } from './bytes-server.js';
import { makeActionsFixture, type ActionsFixture, type Agent } from './fixture.js';

const HOUR = 3_600_000;
let f: ActionsFixture;
let other: ActionsFixture;
let agent: Agent;
let server: BytesServer;
let url: string;

beforeAll(async () => {
  f = await makeActionsFixture();
  other = await makeActionsFixture();
  agent = await f.issue('p256');
  server = await startBytesServer('application/ocsp-response');
  url = `${server.baseUrl}/ocsp`;
});
afterAll(async () => {
  await server.close();
  await f.close();
  await other.close();
});

function query(): StatusQuery {
  return {
    serial: agent.serial,
    certificate: pemOrDer(agent.pem, ['CERTIFICATE']),
    issuer: f.authority.ca('intermediate').certificate.der,
    now: f.clock.now(),
  };
}

const ourResponder = (): ResponderIdentity =>
  responderIdentity(
    f.authority.ca('intermediate').responder.signer,
    f.authority.ca('intermediate').responder.certificate.der,
  );

/** Answers with `responder` for the CertID of the request (or `certIdDer`), echoing the nonce. */
function respondWith(
  responder: ResponderIdentity,
  o: { status?: CertStatus; certIdDer?: Buffer; thisUpdate?: Date; nextUpdate?: Date; nonce?: Buffer } = {},
) {
  server.answer = async (reqDer) => {
    const req = parseOcspRequest(reqDer);
    const thisUpdate = o.thisUpdate ?? f.clock.now();
    return buildBasicResponse({
      responder,
      producedAt: thisUpdate,
      responses: [
        {
          certIdDer: o.certIdDer ?? Buffer.from(req.certIds[0]!.raw),
          status: o.status ?? { kind: 'good' },
          thisUpdate,
          nextUpdate: o.nextUpdate ?? new Date(thisUpdate.getTime() + HOUR),
        },
      ],
      ...((o.nonce ?? req.nonce) ? { nonce: o.nonce ?? Buffer.from(req.nonce!) } : {}),
    });
  };
}

/** A responder identity for any key + certificate, without responderIdentity()'s EKU check. */
function unchecked(signer: ResponderIdentity['signer'], certDer: Buffer, spki: Buffer): ResponderIdentity {
  const keyHash = createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
  return {
    signer,
    certificate: certDer,
    keyHash,
    responderId: explicit(2, octetString(keyHash)),
    signatureAlgorithm: algorithmInfo(signer.algorithm).identifier,
    certsField: explicit(0, sequence(certDer)),
  };
}

describe('ocspStatus', () => {
  it('good, revoked and on-hold answers from the delegated responder', async () => {
    respondWith(ourResponder());
    expect(await ocspStatus(query(), { url })).toEqual({ ok: true, status: { state: 'good' }, source: `ocsp ${url}` });
    const revokedAt = new Date('2030-02-01T00:00:00Z');
    respondWith(ourResponder(), { status: { kind: 'revoked', revokedAt, reason: 'keyCompromise' } });
    expect(await ocspStatus(query(), { url, nonce: true })).toMatchObject({
      ok: true,
      status: { state: 'revoked', revokedAt, reason: 'keyCompromise' },
    });
    respondWith(ourResponder(), { status: { kind: 'revoked', revokedAt, reason: 'certificateHold' } });
    expect(await ocspStatus(query(), { url })).toMatchObject({ ok: true, status: { state: 'held' } });
  });

  it("a response signed by another CA's responder is not believed", async () => {
    const theirs = responderIdentity(
      other.authority.ca('intermediate').responder.signer,
      other.authority.ca('intermediate').responder.certificate.der,
    );
    respondWith(theirs);
    expect(await ocspStatus(query(), { url })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/not issued by the agent certificate issuer/),
    });
  });

  it('a certificate of our CA without id-kp-OCSPSigning cannot answer', async () => {
    const a2 = await f.issue('p256');
    const der = pemOrDer(a2.pem, ['CERTIFICATE']);
    const spki = a2.publicKey.export({ format: 'der', type: 'spki' });
    respondWith(unchecked(signerFromPrivateKey(a2.privateKey, 'softkey:t' as KeyUri), der, spki));
    expect(await ocspStatus(query(), { url })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/lacks id-kp-OCSPSigning/),
    });
  });

  it('a corrupted signature, another CertID, a stale answer or a wrong nonce are refused', async () => {
    const genuine = ourResponder();
    const flipped = {
      ...genuine.signer,
      sign: async (d: Uint8Array) => {
        const sig = await genuine.signer.sign(d);
        sig[sig.length - 1]! ^= 1; // last octet of s: still DER, no longer the signature
        return sig;
      },
    };
    respondWith({ ...genuine, signer: flipped });
    expect(await ocspStatus(query(), { url })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/signature does not verify with the responder certificate/),
    });

    const issuer = f.authority.ca('intermediate').certificate;
    respondWith(ourResponder(), {
      certIdDer: certIdFor(
        { subjectDer: issuer.subject, publicKeyInfo: issuer.publicKeyInfo },
        Buffer.from('01', 'hex'),
        'sha256',
      ),
    });
    expect(await ocspStatus(query(), { url })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/CertID mismatch/),
    });

    const old = new Date(f.clock.now().getTime() - 3 * HOUR);
    respondWith(ourResponder(), { thisUpdate: old, nextUpdate: new Date(old.getTime() + HOUR) });
    expect(await ocspStatus(query(), { url })).toMatchObject({ ok: false, detail: expect.stringMatching(/stale/) });

    respondWith(ourResponder(), { nonce: Buffer.alloc(16, 1) });
    expect(await ocspStatus(query(), { url, nonce: true })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/nonce/),
    });
  });

  it('an unknown answer is reported as unknown, an error status as a failure', async () => {
    respondWith(ourResponder(), { status: { kind: 'unknown' } });
    expect(await ocspStatus(query(), { url })).toMatchObject({ ok: true, status: { state: 'unknown' } });
    server.answer = async () => Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]); // tryLater
    expect(await ocspStatus(query(), { url })).toMatchObject({ ok: false, detail: expect.stringMatching(/tryLater/) });
  });
});
