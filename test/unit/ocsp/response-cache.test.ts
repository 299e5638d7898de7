import { describe, expect, it } from 'vitest';
import { ResponseCache, serialKey } from '../../../src/ocsp/response-cache.js';

describe('ResponseCache', () => {
  it('evicts the oldest entry when full, and forgets evicted keys in the serial index', () => {
    const c = new ResponseCache<string>(2, 1000);
    c.set('a', 'A', 0, 10_000, [serialKey('int', '01')]);
    c.set('b', 'B', 0, 10_000, [serialKey('int', '02')]);
    c.set('c', 'C', 0, 10_000, [serialKey('int', '01')]);
    expect(c.size).toBe(2);
    expect(c.get('a', 1)).toBeUndefined();
    expect(c.get('b', 1)).toBe('B');
    expect(c.invalidate('int', '01')).toBe(1);
    expect(c.get('c', 1)).toBeUndefined();
    expect(c.invalidate('int', '01')).toBe(0);
  });

  it('expires at min(now + ttl, notAfter) and stores nothing already expired', () => {
    const c = new ResponseCache<string>(10, 1000);
    c.set('a', 'A', 0, 500, []);
    expect(c.get('a', 499)).toBe('A');
    expect(c.get('a', 500)).toBeUndefined();
    c.set('b', 'B', 0, 10_000, []);
    expect(c.get('b', 999)).toBe('B');
    expect(c.get('b', 1000)).toBeUndefined();
    c.set('x', 'X', 100, 100, []);
    expect(c.size).toBe(0);
    c.set('y', 'Y', 0, 10_000, [serialKey('root', 'aa')]);
    c.clear();
    expect(c.get('y', 1)).toBeUndefined();
    expect(c.invalidate('root', 'aa')).toBe(0);
  });
});
