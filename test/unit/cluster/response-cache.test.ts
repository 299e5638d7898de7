/**
 * The LevelDB workers' answer cache and what a commit invalidates in it (src/cluster):
 * invalidation by serial, by CRL and of everything; the generation check that keeps a miss
 * fetched across an invalidation out of the cache; the TTL and the bound.
 */
import { describe, expect, it } from 'vitest';
import { invalidationFor } from '../../../src/cluster/protocol.js';
import { ResponseCache, type CachedAnswer } from '../../../src/cluster/response-cache.js';
import type { WriteOp } from '../../../src/store/ports.js';
import type { IssuerId, Serial } from '../../../src/types.js';

const answer = (kind: CachedAnswer['kind'], serials: string[], at = 0, ttl = 1000): CachedAnswer => ({
  kind,
  status: 200,
  headers: { 'content-type': 'application/ocsp-response' },
  body: Buffer.from('x'),
  fetchedAt: at,
  expiresAt: at + ttl,
  serials,
});

describe('ResponseCache', () => {
  it('drops exactly the answers about an invalidated serial, the CRLs, or everything', () => {
    const c = new ResponseCache();
    c.set('get-a', answer('ocsp', ['aa']), 0);
    c.set('post-a', answer('ocsp', ['aa']), 0);
    c.set('verify-b', answer('verify', ['bb']), 0);
    c.set('crl', answer('crl', []), 0);
    c.invalidate({ serials: ['aa'], crls: false, all: false });
    expect([c.get('get-a', 1), c.get('post-a', 1)]).toEqual([undefined, undefined]);
    expect(c.get('verify-b', 1)).toBeDefined();
    expect(c.get('crl', 1)).toBeDefined();
    c.invalidate({ serials: [], crls: true, all: false });
    expect(c.get('crl', 1)).toBeUndefined();
    expect(c.get('verify-b', 1)).toBeDefined();
    c.invalidate({ serials: [], crls: false, all: true });
    expect(c.size).toBe(0);
  });

  it('does not store an answer fetched across an invalidation', () => {
    const c = new ResponseCache();
    const started = c.generation;
    c.invalidate({ serials: ['cc'], crls: false, all: false });
    expect(c.set('get-c', answer('ocsp', ['cc']), started)).toBe(false);
    expect(c.get('get-c', 1)).toBeUndefined();
    expect(c.set('get-c', answer('ocsp', ['cc']), c.generation)).toBe(true);
    // an invalidation of another serial does not keep this one out
    const again = c.generation;
    c.invalidate({ serials: ['dd'], crls: false, all: false });
    expect(c.set('get-e', answer('ocsp', ['ee']), again)).toBe(true);
    c.invalidate({ serials: [], crls: false, all: true });
    expect(c.set('get-f', answer('ocsp', ['ff']), again)).toBe(false);
  });

  it('expires answers after their TTL and keeps at most maxEntries', () => {
    const c = new ResponseCache(2);
    c.set('a', answer('ocsp', ['aa'], 0, 100), 0);
    expect(c.get('a', 99)).toBeDefined();
    expect(c.get('a', 100)).toBeUndefined();
    c.set('b', answer('ocsp', ['bb']), 0);
    c.set('c', answer('ocsp', ['cc']), 0);
    c.set('d', answer('ocsp', ['dd']), 0);
    expect(c.size).toBe(2);
    expect(c.get('b', 1)).toBeUndefined();
    // the evicted entry's serial index is gone too: invalidating it touches nothing else
    c.invalidate({ serials: ['bb'], crls: false, all: false });
    expect(c.size).toBe(2);
  });
});

describe('invalidationFor', () => {
  const issuerId = 'intermediate' as IssuerId;
  const serial = 'aa01' as Serial;
  it('names the serials of certificates, revocations and OCSP responses, CRLs, and nothing for audit/meta', () => {
    const ops: WriteOp[] = [
      {
        op: 'putRevocation',
        record: { serial, issuerId, revokedAt: new Date(0), reason: 'keyCompromise', actor: 't' },
      },
      { op: 'deleteRevocation', serial: 'bb02' as Serial, issuerId, at: new Date(0), actor: 't' },
      { op: 'putMeta', key: 'k', value: 1 },
    ];
    expect(invalidationFor(ops, new Set())).toEqual({ serials: ['aa01', 'bb02'], crls: false, all: false });
    expect(invalidationFor([{ op: 'putMeta', key: 'k', value: 1 }], new Set())).toBeUndefined();
    expect(
      invalidationFor(
        [
          {
            op: 'putCrl',
            record: {
              issuerId,
              number: 1n,
              kind: 'full',
              der: Buffer.alloc(1),
              thisUpdate: new Date(0),
              nextUpdate: new Date(1),
            },
          },
        ],
        new Set(),
      ),
    ).toEqual({ serials: [], crls: true, all: false });
  });

  it('drops everything when a CA certificate changes status', () => {
    const ops: WriteOp[] = [
      {
        op: 'putRevocation',
        record: { serial, issuerId, revokedAt: new Date(0), reason: 'keyCompromise', actor: 't' },
      },
    ];
    expect(invalidationFor(ops, new Set([serial]))).toEqual({ serials: [], crls: true, all: true });
  });
});
