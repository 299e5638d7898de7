/**
 * Issuance bench: certificates issued per second with softkey (RSA-2048, P-256) through the full
 * library path (CSR-less request -> TBS -> lints -> Issuer token -> sign -> LevelDB store +
 * audit entries), beside node:crypto's raw sign rate for the same key type, in the same run.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority } from '../../src/authority/create-authority.js';
import type { KeyType } from '../../src/types.js';
import { concurrentRate, fmt, header, line, rate, ratio } from './util.js';

const TBS_LIKE = Buffer.alloc(900, 7); // about the size of an agent TBS

export async function benchIssuance(seconds: number): Promise<Record<string, number>> {
  header(
    'issuance (softkey, LevelDB store, audit on; one Node.js process) vs raw node:crypto sign of the same key type',
  );
  line(
    'key'.padEnd(8),
    'raw sign/s'.padStart(11),
    'issued/s (1 in flight)'.padStart(23),
    'issued/s (32 in flight)'.padStart(24),
    'best/raw'.padStart(9),
  );
  const results: Record<string, number> = {};
  for (const keyType of ['rsa2048', 'p256'] as KeyType[]) {
    const dir = mkdtempSync(join(tmpdir(), 'aca-bench-'));
    const a = await createAuthority({ dataDir: dir, env: {} });
    await a.init({ keyType, config: { organization: 'Bench Operator' } });
    const signer = a.ca('intermediate');
    // raw: the same private key object type, same digest, via node:crypto directly
    const { privateKey } =
      keyType === 'rsa2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const raw = await rate(() => sign('sha256', TBS_LIKE, privateKey), seconds);
    const agentKey = (
      keyType === 'rsa2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    ).publicKey.export({ format: 'der', type: 'spki' });
    let i = 0;
    const issueOne = () =>
      a.issue({
        agentId: `bench-${i++}`,
        publicKey: agentKey,
        scope: ['read:accounts', 'write:/data/processed/*'],
        policy: { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['EUR_USD'] },
        tenant: 'bench',
        environment: 'production',
      });
    const sequential = await rate(issueOne, seconds);
    const concurrent = await concurrentRate(issueOne, 32, seconds);
    void signer;
    const best = Math.max(sequential.perSecond, concurrent.perSecond);
    line(
      keyType.padEnd(8),
      fmt(raw.perSecond).padStart(11),
      fmt(sequential.perSecond).padStart(23),
      fmt(concurrent.perSecond).padStart(24),
      ratio(best, raw.perSecond).padStart(9),
    );
    results[`${keyType}.raw`] = raw.perSecond;
    results[`${keyType}.issued.sequential`] = sequential.perSecond;
    results[`${keyType}.issued.concurrent`] = concurrent.perSecond;
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
  line(`targets: rsa2048 issued/raw >= 70%; p256 >= 5,000 certificates/s`);
  return results;
}
