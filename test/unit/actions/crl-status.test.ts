/** crlStatus believes only a current, complete CRL signed by the agent certificate's issuer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crlStatus } from '../../../src/actions/crl-status.js';
import type { StatusQuery } from '../../../src/actions/types.js';
import { pemOrDer } from '../../../src/asn1/pem.js';
import { buildCrl, type BuildCrlInput } from '../../../src/crl/crl-builder.js';
import { crlIssuerFromCa } from '../../../src/crl/publisher.js';
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
  server = await startBytesServer('application/pkix-crl');
  url = `${server.baseUrl}/crl/intermediate.crl`;
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

function serve(over: Partial<BuildCrlInput> = {}): void {
  const now = f.clock.now();
  server.answer = () =>
    buildCrl({
      issuer: crlIssuerFromCa(f.authority.ca('intermediate')),
      number: 3n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 24 * HOUR),
      entries: [{ serial: 'abcdef', revokedAt: now }],
      ...over,
    });
}

describe('crlStatus', () => {
  it('good when the serial is not listed; revoked / held when it is', async () => {
    serve();
    expect(await crlStatus(query(), { url })).toEqual({ ok: true, status: { state: 'good' }, source: `crl ${url}` });
    const revokedAt = new Date('2030-02-20T00:00:00Z');
    serve({ entries: [{ serial: agent.serial, revokedAt, reason: 'superseded' }] });
    expect(await crlStatus(query(), { url })).toMatchObject({
      ok: true,
      status: { state: 'revoked', revokedAt, reason: 'superseded' },
    });
    serve({ entries: [{ serial: agent.serial, revokedAt, reason: 'certificateHold' }] });
    expect(await crlStatus(query(), { url })).toMatchObject({ ok: true, status: { state: 'held' } });
  });

  it('refuses a CRL signed by another key under our issuer name', async () => {
    serve({
      issuer: { ...crlIssuerFromCa(f.authority.ca('intermediate')), signer: other.authority.ca('intermediate').signer },
    });
    expect(await crlStatus(query(), { url })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/signature does not verify/),
    });
  });

  it("refuses another CA's CRL, a stale CRL and a delta CRL", async () => {
    server.answer = () => {
      const now = f.clock.now();
      return buildCrl({
        issuer: crlIssuerFromCa(other.authority.ca('intermediate')),
        number: 1n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + HOUR),
        entries: [],
      });
    };
    // both fixture CAs carry the same names, so the signature is what tells them apart
    expect(await crlStatus(query(), { url })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/another CA|signature does not verify/),
    });
    const old = new Date(f.clock.now().getTime() - 30 * HOUR);
    serve({ thisUpdate: old, nextUpdate: new Date(old.getTime() + 24 * HOUR) });
    expect(await crlStatus(query(), { url })).toMatchObject({ ok: false, detail: expect.stringMatching(/stale/) });
    serve({ delta: { baseNumber: 2n } });
    expect(await crlStatus(query(), { url })).toMatchObject({ ok: false, detail: expect.stringMatching(/delta CRL/) });
  });

  it('refuses something that is not a CRL', async () => {
    server.answer = async () => Buffer.from('<html>');
    expect(await crlStatus(query(), { url })).toMatchObject({ ok: false });
  });
});
