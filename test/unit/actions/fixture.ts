/** A CA (memory store, soft keys, fixed clock) and agents with P-256, RSA-2048 and Ed25519 keys for the action tests. */
import type { KeyObject } from 'node:crypto';
import { generateKeyPair } from '../../../src/signer/soft-key.js';
import type { Authority } from '../../../src/authority/authority.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { FixedClock } from '../../../src/clock.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import type { KeyType } from '../../../src/types.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';

export const START = '2030-03-01T12:00:00Z';

export interface Agent {
  serial: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  pem: string;
}

export interface ActionsFixture {
  authority: Authority;
  clock: FixedClock;
  tmp: TmpDir;
  rootPem: string;
  intermediatePem: string;
  issue(
    keyType: KeyType,
    opts?: {
      agentId?: string;
      scope?: string[];
      maxTx?: { amount: string; currency: string };
      markets?: string[];
      days?: number;
    },
  ): Promise<Agent>;
  close(): Promise<void>;
}

/** The key a soft agent holds (the same generator the CLI's --generate-key uses). */
export function keyPair(keyType: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPair(keyType);
}

export async function makeActionsFixture(
  opts: { baseUrl?: string; caKeyType?: KeyType } = {},
): Promise<ActionsFixture> {
  const tmp = await makeTmpDir('agent-ca-actions-');
  const clock = new FixedClock(START);
  const authority = await createAuthority({ dataDir: tmp.dir, store: await createMemoryStore(), clock, env: {} });
  await authority.init({
    keyType: opts.caKeyType ?? 'p256',
    ...(opts.baseUrl ? { config: { baseUrl: opts.baseUrl } } : {}),
  });
  const chain = authority.chain();
  let n = 0;
  return {
    authority,
    clock,
    tmp,
    rootPem: chain.root,
    intermediatePem: chain.intermediate,
    async issue(keyType, o = {}) {
      const { privateKey, publicKey } = keyPair(keyType);
      const issued = await authority.issue({
        agentId: o.agentId ?? `trader-${keyType}-${++n}`,
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
        scope: o.scope ?? ['write:payments', 'read:accounts', 'read:/data/raw/*'],
        policy: {
          maxTransactionSize: o.maxTx ?? { amount: '50000', currency: 'USD' },
          allowedMarkets: o.markets ?? ['EUR_USD', 'GBP_USD'],
        },
        ...(o.days ? { validityDays: o.days } : {}),
      });
      return { serial: issued.serial, privateKey, publicKey, pem: issued.pem };
    },
    async close() {
      await authority.close();
      await tmp.cleanup();
    },
  };
}
