/**
 * Property-based fuzzing (fast-check) of everything that reads bytes or JSON from outside:
 * the DER reader, the OCSP request parser, CSR parsing, the risk event validator and the
 * issue-body validator. The property everywhere: an answer or a typed AgentCaError, never
 * another exception (a crash at the edge is a 500 or a dead process). Valid inputs also
 * round-trip. Bounded here; `npm run fuzz` runs the same properties longer.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  algorithmIdentifier,
  integer,
  octetString,
  sequence,
  unsignedInteger,
  utf8String,
} from '../../src/asn1/der.js';
import { childrenOf, content, readWhole, type Tlv } from '../../src/asn1/der-reader.js';
import { Oids } from '../../src/asn1/oids.js';
import { pemOrDer } from '../../src/asn1/pem.js';
import { isAgentCaError } from '../../src/errors.js';
import { issueRequestFromJson } from '../../src/http/routes/issue-body.js';
import { parseAndVerifyCsr } from '../../src/issuance/csr.js';
import { parseOcspRequest } from '../../src/ocsp/request.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { DEFAULT_EVENT_LIMITS, validateEvents } from '../../src/risk/events.js';
import { fuzzParams, mutated } from './fuzz-runs.js';

/** Runs fn; true when it returned or threw an AgentCaError. Anything else fails the property with the error. */
function typedOrOk(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (isAgentCaError(e)) return true;
    throw e;
  }
}

/** Walks every constructed node the reader finds (bounded depth), reading contents. */
function walk(buf: Uint8Array, t: Tlv, depth = 0): void {
  content(buf, t);
  if (depth < 16 && (t.tag & 0x20) !== 0) for (const c of childrenOf(buf, t)) walk(buf, c, depth + 1);
}

const certIdDer = (serial: Uint8Array): Buffer =>
  sequence(
    algorithmIdentifier(Oids.sha1, 'null'),
    octetString(Buffer.alloc(20, 1)),
    octetString(Buffer.alloc(20, 2)),
    unsignedInteger(serial),
  );
const validRequest = ocspRequestDer(certIdDer(Buffer.from('0123456789abcdef', 'hex')), Buffer.alloc(16, 7));

describe('DER reader', () => {
  it('never throws anything but a typed error on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(0x30, 0x02, 0x04, 0x31), (bytes, tag) =>
        typedOrOk(() => walk(bytes, readWhole(bytes, tag, 'fuzz'))),
      ),
      fuzzParams(),
    );
  });

  it('round-trips what der.ts writes (nested SEQUENCEs of INTEGERs, OCTET STRINGs, UTF8Strings)', () => {
    const leaf = fc.oneof(
      fc.bigInt({ min: 0n, max: 1n << 200n }).map((v) => ({ der: integer(v), tag: 0x02 })),
      fc.uint8Array({ maxLength: 300 }).map((v) => ({ der: octetString(v), tag: 0x04, value: Buffer.from(v) })),
      fc
        .string({ maxLength: 40 })
        .filter((s) => !/\p{Cs}/u.test(s))
        .map((s) => ({ der: utf8String(s), tag: 0x0c, value: Buffer.from(s, 'utf8') })),
    );
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 20 }), (leaves) => {
        const der = sequence(...leaves.map((l) => l.der));
        const kids = childrenOf(der, readWhole(der, 0x30, 'fuzz'));
        expect(kids.map((k) => k.tag)).toEqual(leaves.map((l) => l.tag));
        kids.forEach((k, i) => {
          const v = (leaves[i] as { value?: Buffer }).value;
          if (v) expect(content(der, k).equals(v)).toBe(true);
        });
      }),
      fuzzParams(),
    );
  });
});

describe('OCSP request parser', () => {
  it('parses what the encoder writes, for any serial and nonce', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 20 }).filter((s) => s[0] !== 0),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }), { nil: undefined }),
        (serial, nonce) => {
          const req = parseOcspRequest(ocspRequestDer(certIdDer(serial), nonce));
          expect(req.certIds.map((c) => c.serial)).toEqual([Buffer.from(serial).toString('hex')]);
          expect(req.nonce?.toString('hex')).toBe(nonce ? Buffer.from(nonce).toString('hex') : undefined);
          expect(req.hasUnknownCritical).toBe(false);
        },
      ),
      fuzzParams(),
    );
  });

  it('answers mutated and random requests with a result or a typed error (malformedRequest), never a crash', () => {
    fc.assert(
      fc.property(mutated(validRequest), (bytes) => typedOrOk(() => parseOcspRequest(bytes))),
      fuzzParams(),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => typedOrOk(() => parseOcspRequest(bytes))),
      fuzzParams(),
    );
  });
});

describe('CSR parsing', () => {
  const csrs = ['agent-p256', 'agent-ed25519'].map((n) =>
    pemOrDer(readFileSync(`vectors/csr/${n}.csr.pem`, 'utf8'), ['CERTIFICATE REQUEST']),
  );

  it('accepts the vectors and refuses their mutations with typed errors', () => {
    for (const der of csrs) expect(parseAndVerifyCsr(der).publicKeyInfo.length).toBeGreaterThan(0);
    for (const der of csrs)
      fc.assert(
        fc.property(mutated(der), (bytes) => typedOrOk(() => parseAndVerifyCsr(bytes))),
        fuzzParams(),
      );
  });

  it('refuses random bytes and random PEM text with typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => typedOrOk(() => parseAndVerifyCsr(bytes))),
      fuzzParams(),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) =>
        typedOrOk(() =>
          parseAndVerifyCsr(`-----BEGIN CERTIFICATE REQUEST-----\n${s}\n-----END CERTIFICATE REQUEST-----\n`),
        ),
      ),
      fuzzParams(),
    );
  });
});

const NOW = new Date('2031-01-01T12:00:00Z');
const anyJson = fc.jsonValue({ maxDepth: 4 });

describe('risk event validator', () => {
  const validEvent = fc.record({
    serial: fc
      .uint8Array({ minLength: 8, maxLength: 16 })
      .map((b) => Buffer.from(b).toString('hex').replace(/^0+/, '1')),
    type: fc.constantFrom('api_call', 'data_access', 'transaction', 'auth_attempt', 'scope_check'),
    action: fc.constantFrom('read:accounts', 'write:payments', 'read:/data/raw/x'),
    outcome: fc.constantFrom('success', 'denied', 'failed'),
    time: fc.integer({ min: -240_000, max: 0 }).map((ms) => new Date(NOW.getTime() + ms).toISOString()),
  });

  it('never throws; valid batches are accepted whole', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyJson, fc.array(fc.oneof(validEvent, fc.dictionary(fc.string(), anyJson)), { maxLength: 20 })),
        (raw) => {
          const r = validateEvents(raw, DEFAULT_EVENT_LIMITS, NOW);
          expect('events' in r || 'errors' in r).toBe(true);
        },
      ),
      fuzzParams(),
    );
    fc.assert(
      fc.property(fc.array(validEvent, { minLength: 1, maxLength: 20 }), (events) => {
        const r = validateEvents(events, DEFAULT_EVENT_LIMITS, NOW);
        expect('errors' in r ? r.errors : []).toEqual([]);
      }),
      fuzzParams(),
    );
  });
});

describe('issue-body validator', () => {
  it('returns a request or throws a typed error for any JSON body', () => {
    const body = fc.oneof(
      anyJson,
      fc.record(
        {
          agentId: fc.oneof(fc.string(), anyJson),
          publicKey: fc.oneof(fc.string(), anyJson),
          scope: fc.oneof(fc.array(fc.string()), anyJson),
          policy: fc.oneof(fc.dictionary(fc.string(), anyJson), anyJson),
          modelHash: fc.oneof(fc.record({ algorithm: fc.string(), digest: fc.string() }), anyJson),
          validityDays: anyJson,
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(body, (b) => typedOrOk(() => issueRequestFromJson(b, 'fuzz'))),
      fuzzParams(),
    );
  });

  it('names every unknown policy key', () => {
    const known = new Set(['maxTransactionSize', 'allowedMarkets', 'revocationTimeoutSeconds']);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !known.has(k) && k !== '__proto__'),
        (key) => {
          try {
            issueRequestFromJson({ agentId: 'a', publicKey: 'x', policy: { [key]: 1 } }, 'fuzz');
            return false;
          } catch (e) {
            return (
              isAgentCaError(e) && (e.details.fields as Record<string, string>)[`policy.${key}`] === 'unknown field'
            );
          }
        },
      ),
      fuzzParams(),
    );
  });
});
