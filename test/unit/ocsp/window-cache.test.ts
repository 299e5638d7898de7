import { describe, expect, it } from 'vitest';
import { WindowCache } from '../../../src/ocsp/window-cache.js';

const at = (s: number) => new Date(1_700_000_000_000 + s * 1000);
const signer =
  (log: Date[], label = 'good') =>
  async (thisUpdate: Date) => {
    log.push(thisUpdate);
    await new Promise((r) => setTimeout(r, 5));
    return {
      der: Buffer.from(`${label}@${thisUpdate.toISOString()}`),
      nextUpdate: new Date(thisUpdate.getTime() + 60_000),
    };
  };

describe('WindowCache', () => {
  it('signs once per (serial, hash, window), however many ask at once; again after half the validity', async () => {
    const c = new WindowCache();
    const log: Date[] = [];
    const got = await Promise.all(Array.from({ length: 50 }, () => c.get('i', 'aa', 'sha1', at(0), signer(log))));
    expect(log).toHaveLength(1);
    expect(new Set(got.map((g) => g.der.toString())).size).toBe(1);
    expect(got[0]!.staleAt).toEqual(at(30));
    await c.get('i', 'aa', 'sha256', at(1), signer(log)); // another hash is another answer
    await c.get('i', 'aa', 'sha1', at(29.999), signer(log));
    expect(log).toHaveLength(2);
    await c.get('i', 'aa', 'sha1', at(30), signer(log));
    expect(log).toHaveLength(3);
    expect(c.signatures).toBe(3);
  });

  it('a status change during signing: the old answer is not cached, later requests do not join it', async () => {
    const c = new WindowCache();
    const log: Date[] = [];
    const old = c.get('i', 'bb', 'sha1', at(0), signer(log, 'good'));
    c.invalidate('i', 'bb', ['sha1', 'sha256']);
    const fresh = await c.get('i', 'bb', 'sha1', at(0), signer(log, 'revoked'));
    expect((await old).der.toString()).toContain('good');
    expect(fresh.der.toString()).toContain('revoked');
    expect((await c.get('i', 'bb', 'sha1', at(1), signer(log))).der.toString()).toContain('revoked');
    expect(log).toHaveLength(2);
  });

  it("install() serves the revoker's answer; clear() and the entry bound evict", async () => {
    const c = new WindowCache(2);
    const log: Date[] = [];
    c.install('i', 'cc', 'sha1', {
      der: Buffer.from('revoked'),
      thisUpdate: at(0),
      nextUpdate: at(60),
      staleAt: at(30),
    });
    expect((await c.get('i', 'cc', 'sha1', at(5), signer(log))).der.toString()).toBe('revoked');
    await c.get('i', 'd1', 'sha1', at(5), signer(log));
    await c.get('i', 'd2', 'sha1', at(5), signer(log));
    expect(c.size).toBe(2);
    await c.get('i', 'cc', 'sha1', at(5), signer(log)); // evicted first (FIFO): signed again
    expect(log).toHaveLength(3);
    c.clear();
    expect(c.size).toBe(0);
  });
});
