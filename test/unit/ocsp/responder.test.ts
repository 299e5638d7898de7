import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError } from '../../../src/errors.js';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { createLiveSource, type StatusLookup } from '../../../src/ocsp/live-source.js';
import { createPrecomputedSource, type PrecomputedLookup } from '../../../src/ocsp/precomputed-source.js';
import { presignForSerial, serialMagnitude } from '../../../src/ocsp/presign.js';
import { OcspResponder, type OcspResponderOptions } from '../../../src/ocsp/responder.js';
import { parseOcspRequest } from '../../../src/ocsp/request.js';
import { parseOcspResponse, verifyBasicResponse } from '../../../src/ocsp/response-parse.js';
import type { CertStatus, OcspHashAlgorithm } from '../../../src/ocsp/types.js';
import type { Serial } from '../../../src/types.js';
import { INTERMEDIATE, makeCaFixture, ROOT, type CaFixture } from './ca-fixture.js';
import { certIdDer, criticalUnknownExtension, nonceExtension, requestDer } from './request-builder.js';

let ca: CaFixture;
const clock = new FixedClock('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;
/** Pre-signed responses: `${issuer}/${serial}/${hash}` -> DER. */
const presigned = new Map<string, Buffer>();
const statuses = new Map<string, CertStatus>();
let agentSerials: string[];

const keyInfo = (name: 'root' | 'intermediate') => {
  const c = ca.authority.ca(name).certificate;
  return { subjectDer: c.subject, publicKeyInfo: c.publicKeyInfo };
};
const certId = (serial: string, hash: OcspHashAlgorithm = 'sha1', issuer: 'root' | 'intermediate' = 'intermediate') =>
  certIdFor(keyInfo(issuer), serialMagnitude(serial), hash);

async function presign(
  issuer: 'root' | 'intermediate',
  serial: string,
  status: CertStatus,
  thisUpdate = clock.now(),
  nextUpdate = new Date(clock.now().getTime() + HOUR),
): Promise<void> {
  const out = await presignForSerial({
    responder: ca.responders[issuer],
    issuer: keyInfo(issuer),
    serial: serial as Serial,
    status,
    thisUpdate,
    nextUpdate,
  });
  for (const o of out) presigned.set(`${issuer}/${serial}/${o.hashAlgorithm}`, o.der);
}

beforeAll(async () => {
  ca = await makeCaFixture('p256', clock);
  agentSerials = [];
  for (const name of ['a1', 'a2', 'a3']) agentSerials.push((await ca.issueAgent(name)).serial);
});
afterAll(async () => {
  await ca.close();
});
beforeEach(async () => {
  clock.set('2026-03-01T12:00:00Z');
  presigned.clear();
  statuses.clear();
  statuses.set(`intermediate/${agentSerials[0]}`, { kind: 'good' });
  statuses.set(`intermediate/${agentSerials[1]}`, {
    kind: 'revoked',
    revokedAt: new Date('2026-02-20T08:00:00Z'),
    reason: 'keyCompromise',
  });
  statuses.set(`intermediate/${agentSerials[2]}`, { kind: 'good' });
  statuses.set(`root/${ca.authority.ca('intermediate').certificate.serial}`, { kind: 'good' });
  await presign('intermediate', agentSerials[0]!, { kind: 'good' });
});

interface Setup {
  lookup: ReturnType<typeof vi.fn<PrecomputedLookup>>;
  status: ReturnType<typeof vi.fn<StatusLookup>>;
  responder: OcspResponder;
  errors: unknown[];
}

function setup(
  opts: {
    maxConcurrent?: number;
    status?: StatusLookup;
    lookup?: PrecomputedLookup;
    responder?: Partial<OcspResponderOptions>;
  } = {},
): Setup {
  const lookup = vi.fn<PrecomputedLookup>(
    opts.lookup ?? (async (issuerId, serial, hash) => presigned.get(`${issuerId}/${serial}/${hash}`)),
  );
  const status = vi.fn<StatusLookup>(
    opts.status ?? (async (issuerId, serial) => statuses.get(`${issuerId}/${serial}`) ?? { kind: 'unknown' }),
  );
  const errors: unknown[] = [];
  const live = createLiveSource({
    responderFor: (id) => ca.responderFor(id),
    status,
    validityMs: HOUR,
    maxConcurrent: opts.maxConcurrent ?? 4,
  });
  const responder = new OcspResponder({
    issuers: ca.index,
    sources: [createPrecomputedSource({ lookup }), live],
    clock,
    onError: (e) => errors.push(e),
    ...opts.responder,
  });
  return { lookup, status, responder, errors };
}

/** Parses a successful response and checks it is signed by the right delegated responder and answers the request's CertIDs. */
function answered(der: Buffer, request: Buffer, issuer: 'root' | 'intermediate' = 'intermediate') {
  const parsed = parseOcspResponse(der);
  expect(parsed.status).toBe('successful');
  const b = parsed.basic!;
  expect(verifyBasicResponse(b, ca.responders[issuer].signer.publicKeyInfo)).toBe(true);
  const req = parseOcspRequest(request);
  expect(b.responses.map((r) => [r.certId.hashAlgorithm, r.certId.serial])).toEqual(
    req.certIds.map((c) => [c.hashAlgorithm, c.serial]),
  );
  return b;
}

describe('OcspResponder', () => {
  it('answers a plain single-CertID request from the pre-signed response', async () => {
    const { responder, lookup, status } = setup();
    const req = requestDer({ certIds: [certId(agentSerials[0]!)] });
    const r = await responder.respond(req);
    expect(r).toMatchObject({
      status: 'successful',
      source: 'precomputed',
      cached: false,
      nonce: false,
      issuerId: INTERMEDIATE,
    });
    expect(r.der).toEqual(presigned.get(`intermediate/${agentSerials[0]}/sha1`));
    expect(answered(r.der, req).responses[0]!.status).toEqual({ kind: 'good' });
    expect(lookup).toHaveBeenCalledWith(INTERMEDIATE, agentSerials[0], 'sha1');
    expect(status).not.toHaveBeenCalled();
  });

  it('signs live when nothing is pre-signed, when it is stale, and for SHA-512 CertIDs', async () => {
    const { responder } = setup();
    const revoked = requestDer({ certIds: [certId(agentSerials[1]!)] });
    const r = await responder.respond(revoked);
    expect(r).toMatchObject({ status: 'successful', source: 'live' });
    expect(answered(r.der, revoked).responses[0]!.status).toEqual({
      kind: 'revoked',
      revokedAt: new Date('2026-02-20T08:00:00Z'),
      reason: 'keyCompromise',
    });

    await presign(
      'intermediate',
      agentSerials[2]!,
      { kind: 'good' },
      new Date(clock.now().getTime() - 2 * HOUR),
      new Date(clock.now().getTime() - HOUR),
    );
    expect((await responder.respond(requestDer({ certIds: [certId(agentSerials[2]!)] }))).source).toBe('live');

    const sha512 = requestDer({ certIds: [certId(agentSerials[0]!, 'sha512')] });
    const s = await responder.respond(sha512);
    expect(s.source).toBe('live');
    expect(answered(s.der, sha512).responses[0]!.certId.raw).toEqual(parseOcspRequest(sha512).certIds[0]!.raw);
  });

  it('answers unknown (signed) for a serial the CA never issued', async () => {
    const { responder } = setup();
    const req = requestDer({ certIds: [certId('0badc0de')] });
    const r = await responder.respond(req);
    expect(r.status).toBe('successful');
    expect(answered(r.der, req).responses[0]!.status).toEqual({ kind: 'unknown' });
  });

  it('echoes the nonce by live signing, and answers several CertIDs in one signed response', async () => {
    const { responder } = setup();
    const nonce = Buffer.alloc(20, 0xab);
    const req = requestDer({
      certIds: [certId(agentSerials[0]!), certId(agentSerials[1]!, 'sha256'), certId('01')],
      extensions: [nonceExtension(nonce)],
    });
    const r = await responder.respond(req);
    expect(r).toMatchObject({ status: 'successful', source: 'live', nonce: true });
    const b = answered(r.der, req);
    expect(b.nonce).toEqual(nonce);
    expect(b.responses.map((x) => x.status.kind)).toEqual(['good', 'revoked', 'unknown']);

    // A pre-signed response exists for this serial, but it cannot carry the nonce.
    const single = requestDer({
      certIds: [certId(agentSerials[0]!)],
      extensions: [nonceExtension(Buffer.from([7, 7]))],
    });
    const s = await responder.respond(single);
    expect(s).toMatchObject({ status: 'successful', source: 'live', nonce: true });
    expect(answered(s.der, single).nonce).toEqual(Buffer.from([7, 7]));
  });

  it('signs the intermediate CA status with the root responder', async () => {
    const { responder } = setup();
    const req = requestDer({ certIds: [certId(ca.authority.ca('intermediate').certificate.serial, 'sha1', 'root')] });
    const r = await responder.respond(req);
    expect(r).toMatchObject({ status: 'successful', issuerId: ROOT });
    expect(answered(r.der, req, 'root').responses[0]!.status).toEqual({ kind: 'good' });
  });

  it('over the live cap: falls back to the pre-signed response without nonce, else tryLater', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { responder } = setup({
      maxConcurrent: 1,
      status: async (issuerId, serial) => {
        await gate;
        return statuses.get(`${issuerId}/${serial}`) ?? { kind: 'unknown' };
      },
    });
    const blocking = responder.respond(
      requestDer({ certIds: [certId(agentSerials[1]!)], extensions: [nonceExtension(Buffer.from([1]))] }),
    );
    await new Promise((r) => setImmediate(r));

    const withNonce = requestDer({
      certIds: [certId(agentSerials[0]!)],
      extensions: [nonceExtension(Buffer.from([2]))],
    });
    const fallback = await responder.respond(withNonce);
    expect(fallback).toMatchObject({ status: 'successful', source: 'precomputed', nonce: false });
    expect(parseOcspResponse(fallback.der).basic!.nonce).toBeUndefined();

    const nothingPresigned = await responder.respond(
      requestDer({ certIds: [certId(agentSerials[2]!)], extensions: [nonceExtension(Buffer.from([3]))] }),
    );
    expect(nothingPresigned).toMatchObject({ status: 'tryLater', source: 'error' });
    expect(nothingPresigned.der).toEqual(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]));
    const multi = await responder.respond(
      requestDer({ certIds: [certId(agentSerials[0]!), certId(agentSerials[2]!)] }),
    );
    expect(multi.status).toBe('tryLater');

    release();
    expect(await blocking).toMatchObject({ status: 'successful', source: 'live', nonce: true });
    expect(
      (
        await responder.respond(
          requestDer({ certIds: [certId(agentSerials[2]!)], extensions: [nonceExtension(Buffer.from([3]))] }),
        )
      ).source,
    ).toBe('live');
  });

  it('refuses garbage, oversize, unknown critical extensions and too many CertIDs with malformedRequest', async () => {
    const { responder, lookup, status } = setup({ responder: { maxCertIds: 2, maxRequestBytes: 600 } });
    const cases = [
      Buffer.from('hello, not DER'),
      Buffer.alloc(0),
      Buffer.alloc(601, 0x30),
      requestDer({ certIds: [certId(agentSerials[0]!)], extensions: [criticalUnknownExtension()] }),
      requestDer({ certIds: [certId('01'), certId('02'), certId('03')] }),
    ];
    for (const c of cases) {
      const r = await responder.respond(c);
      expect(r).toMatchObject({ status: 'malformedRequest', source: 'error' });
      expect(r.der).toEqual(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01]));
    }
    expect(lookup).not.toHaveBeenCalled();
    expect(status).not.toHaveBeenCalled();
  });

  it('answers unauthorized for a foreign issuer and for CertIDs of two issuers', async () => {
    const { responder } = setup();
    const foreign = await responder.respond(requestDer({ certIds: [certIdDer()] }));
    expect(foreign).toMatchObject({ status: 'unauthorized' });
    expect(foreign.der).toEqual(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]));
    const mixed = await responder.respond(
      requestDer({ certIds: [certId(agentSerials[0]!), certId('01', 'sha1', 'root')] }),
    );
    expect(mixed).toMatchObject({ status: 'unauthorized' });
  });

  it('maps a failing status lookup to tryLater (store unavailable) or internalError, and never throws', async () => {
    const down = setup({ status: async () => Promise.reject(new AgentCaError('STORE_UNAVAILABLE', 'db down')) });
    expect(await down.responder.respond(requestDer({ certIds: [certId(agentSerials[1]!)] }))).toMatchObject({
      status: 'tryLater',
      source: 'error',
    });
    expect(down.errors).toHaveLength(1);
    const broken = setup({ status: async () => Promise.reject(new Error('bug')) });
    const r = await broken.responder.respond(requestDer({ certIds: [certId(agentSerials[1]!)] }));
    expect(r).toMatchObject({ status: 'internalError', reason: 'bug' });
    expect(r.der).toEqual(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x02]));
    const lookupDown = setup({ lookup: async () => Promise.reject(new AgentCaError('STORE_UNAVAILABLE', 'db down')) });
    // The live source still answers when the pre-signed store fails.
    expect(await lookupDown.responder.respond(requestDer({ certIds: [certId(agentSerials[0]!)] }))).toMatchObject({
      status: 'successful',
      source: 'live',
    });
    const throwingLogger = new OcspResponder({
      issuers: ca.index,
      sources: [{ name: 'x', response: () => Promise.reject(new Error('boom')) }],
      clock,
      onError: () => {
        throw new Error('logger');
      },
    });
    expect((await throwingLogger.respond(requestDer({ certIds: [certId('01')] }))).status).toBe('internalError');
  });

  it('caches nonce-free answers by request bytes until invalidated or expired', async () => {
    const { responder, lookup, status } = setup({ responder: { cache: { ttlMs: 60_000 } } });
    const req = requestDer({ certIds: [certId(agentSerials[0]!)] });
    const first = await responder.respond(req);
    const second = await responder.respond(Buffer.from(req));
    expect(second).toMatchObject({ status: 'successful', source: 'precomputed', cached: true });
    expect(second.der).toEqual(first.der);
    expect(lookup).toHaveBeenCalledTimes(1);

    // A revocation re-signs and invalidates: the next answer is the new one.
    statuses.set(`intermediate/${agentSerials[0]}`, { kind: 'revoked', revokedAt: clock.now(), reason: 'superseded' });
    await presign('intermediate', agentSerials[0]!, { kind: 'revoked', revokedAt: clock.now(), reason: 'superseded' });
    responder.invalidate(INTERMEDIATE, agentSerials[0]!);
    const third = await responder.respond(req);
    expect(third.cached).toBe(false);
    expect(parseOcspResponse(third.der).basic!.responses[0]!.status.kind).toBe('revoked');

    // Live multi-CertID answers are cached and invalidated by any of their serials.
    const multi = requestDer({ certIds: [certId(agentSerials[1]!), certId(agentSerials[2]!)] });
    await responder.respond(multi);
    expect((await responder.respond(multi)).cached).toBe(true);
    responder.invalidate(INTERMEDIATE, agentSerials[2]!);
    expect((await responder.respond(multi)).cached).toBe(false);
    const liveCalls = status.mock.calls.length;

    // Nonce requests are never served from the cache.
    const withNonce = requestDer({
      certIds: [certId(agentSerials[1]!)],
      extensions: [nonceExtension(Buffer.from([9]))],
    });
    await responder.respond(withNonce);
    expect((await responder.respond(withNonce)).cached).toBe(false);
    expect(status.mock.calls.length).toBe(liveCalls + 2);

    // Expiry: the TTL passes.
    clock.advance(61_000);
    expect((await responder.respond(req)).cached).toBe(false);
  });

  it('never serves a cached answer past its nextUpdate', async () => {
    const { responder } = setup({ responder: { cache: { ttlMs: 10 * HOUR } } });
    await presign(
      'intermediate',
      agentSerials[2]!,
      { kind: 'good' },
      clock.now(),
      new Date(clock.now().getTime() + 60_000),
    );
    const req = requestDer({ certIds: [certId(agentSerials[2]!)] });
    expect((await responder.respond(req)).source).toBe('precomputed');
    clock.advance(30_000);
    expect((await responder.respond(req)).cached).toBe(true);
    clock.advance(31_000);
    const r = await responder.respond(req);
    expect(r).toMatchObject({ cached: false, source: 'live' });
  });
});

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('OcspResponder under mutated input', () => {
  it('answers every truncation and bit flip of valid requests with malformedRequest or a valid response', async () => {
    const { responder } = setup({ responder: { cache: false } });
    const seeds = [
      requestDer({ certIds: [certId(agentSerials[0]!)] }),
      requestDer({ certIds: [certId(agentSerials[1]!, 'sha256')], extensions: [nonceExtension(Buffer.alloc(16, 1))] }),
      requestDer({ certIds: [certId(agentSerials[0]!), certId(agentSerials[2]!)], version: 0, signature: true }),
    ];
    const random = rng(6960);
    const counts: Record<string, number> = {};
    const check = async (input: Buffer): Promise<void> => {
      const r = await responder.respond(input);
      counts[r.status] = (counts[r.status] ?? 0) + 1;
      expect(['successful', 'malformedRequest', 'unauthorized']).toContain(r.status);
      if (r.status === 'successful') answered(r.der, input, r.issuerId === ROOT ? 'root' : 'intermediate');
      else expect(parseOcspResponse(r.der)).toEqual({ status: r.status });
    };
    for (const seed of seeds) {
      for (let len = 0; len < seed.length; len++) await check(seed.subarray(0, len));
      for (let i = 0; i < 300; i++) {
        const m = Buffer.from(seed);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) m[Math.floor(random() * m.length)]! ^= 1 << Math.floor(random() * 8);
        await check(m);
      }
    }
    expect(counts.malformedRequest).toBeGreaterThan(100);
    expect(counts.successful).toBeGreaterThan(0);
  });
});

describe('status changes during a lookup (answer cache and single flight)', () => {
  it('does not cache an answer whose lookup started before invalidate(), nor let new requests join it', async () => {
    const serial = agentSerials[0]!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const { responder } = setup({
      lookup: async (issuerId, s, hash) => {
        calls++;
        const read = presigned.get(`${issuerId}/${s}/${hash}`);
        if (calls === 1) await gate; // the first lookup read the old status, and is slow to return
        return read;
      },
    });
    const req = requestDer({ certIds: [certId(serial)] });
    const first = responder.respond(req); // in flight with the "good" response
    await new Promise((r) => setImmediate(r));
    await presign('intermediate', serial, { kind: 'revoked', revokedAt: clock.now(), reason: 'keyCompromise' });
    responder.invalidate(INTERMEDIATE, serial); // the revocation committed meanwhile
    const second = responder.respond(req); // must not join the stale lookup
    release();
    expect(parseOcspResponse((await first).der).basic!.responses[0]!.status.kind).toBe('good');
    expect(parseOcspResponse((await second).der).basic!.responses[0]!.status.kind).toBe('revoked');
    const third = await responder.respond(req);
    expect(parseOcspResponse(third.der).basic!.responses[0]!.status.kind).toBe('revoked');
  });
});
