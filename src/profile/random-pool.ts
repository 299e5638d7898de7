/**
 * CSPRNG bytes drawn from a pooled block: one `randomFillSync` call fills 4 KiB, which the next
 * 256 16-byte requests share instead of one system call each. Every byte handed out is fresh
 * CSPRNG output, used once (the pool is never rewound), and copied out so no caller can see
 * another's bytes.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** `n` fresh random bytes (a new Buffer the caller owns). */
export function pooledRandomBytes(n: number): Buffer {
  if (n > POOL_SIZE / 4) return randomFillSync(Buffer.alloc(n));
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  // Wipe what was handed out: the pool never holds a copy of a serial or token once given.
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
