/**
 * An initialised P-256 authority on a memory store at a fixed clock, with one agent certificate
 * issued (scope read:accounts): what the risk engine's unit tests score events against.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Authority } from '../../../src/authority/authority.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { FixedClock } from '../../../src/clock.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';

export const RISK_TEST_NOW = '2031-05-01T12:20:00Z';

export async function withOneAgent(
  agentId: string,
  fn: (a: Authority, serial: string, clock: FixedClock) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'risk-one-agent-'));
  const clock = new FixedClock(RISK_TEST_NOW);
  const a = await createAuthority({ dataDir: dir, store: await createMemoryStore(), env: {}, clock });
  try {
    await a.init({ keyType: 'p256' });
    const pk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const { serial } = await a.issue({ agentId, publicKey: pk, scope: ['read:accounts'] });
    await fn(a, serial, clock);
  } finally {
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
