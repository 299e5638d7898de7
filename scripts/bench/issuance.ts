/**
 * Issuance bench: certificates issued per second with softkey (RSA-2048, P-256) through the full
 * library path (CSR-less request -> TBS -> lints -> Issuer token -> sign -> LevelDB store +
 * audit entries), agents with keys of their own, beside node:crypto's raw sign rate for the same key type, in the same run.
 *
 * Two raw baselines, because the authority signs RSA on libuv's thread pool: synchronous
 * `sign()` on one core (the figure the targets are stated against), and `sign()` with a
 * callback, 32 in flight, which is what the thread pool gets out of every core. CPU per
 * issuance (the whole process, and the main thread alone where Linux says it) is printed too:
 * unlike the rates, it barely moves with the load of a shared machine (docs/throughput.md).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority } from '../../src/authority/create-authority.js';
import type { KeyType } from '../../src/types.js';
import { concurrentRate, fmt, header, line, rate, ratio, type Rate } from './util.js';

const TBS_LIKE = Buffer.alloc(900, 7); // about the size of an agent TBS
const IN_FLIGHT = 32;
const P256_TARGET = 5000;
const RSA_TARGET = 0.7;
/** Distinct agent keys the issuances cycle through. */
const AGENT_KEYS_EC = 4096;
const AGENT_KEYS_RSA = 64;

/** CPU time of the main thread so far, in µs (Linux /proc; undefined elsewhere). */
function mainThreadCpuUs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return undefined;
  }
}

/** `run`'s rate with the process CPU and main-thread CPU it took per operation. */
async function withCpu(run: () => Promise<Rate>): Promise<Rate & { cpuUs: number; mainUs?: number }> {
  const main0 = mainThreadCpuUs();
  const cpu0 = process.cpuUsage();
  const r = await run();
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpuUs();
  return {
    ...r,
    cpuUs: (cpu.user + cpu.system) / r.ops,
    ...(main0 !== undefined && main1 !== undefined ? { mainUs: (main1 - main0) / r.ops } : {}),
  };
}

function rawSignAsync(privateKey: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    sign('sha256', TBS_LIKE, privateKey, (err, sig) => (err ? reject(err) : resolve(sig))),
  );
}

const verdict = (met: boolean) => (met ? 'MET' : 'MISSED');

export async function benchIssuance(seconds: number): Promise<Record<string, number>> {
  header(
    'issuance (softkey, LevelDB store, audit on; one Node.js process) vs raw node:crypto sign of the same key type',
  );
  line(
    'key'.padEnd(8),
    'raw sign/s (sync, 1 core)'.padStart(26),
    `raw sign/s (pool, ${IN_FLIGHT} in flight)`.padStart(30),
    'issued/s (1 in flight)'.padStart(23),
    `issued/s (${IN_FLIGHT} in flight)`.padStart(24),
    'best/raw sync'.padStart(14),
    'best/raw pool'.padStart(14),
    'CPU µs/issued (process, main thread)'.padStart(37),
  );
  const results: Record<string, number> = {};
  const verdicts: string[] = [];
  for (const keyType of ['rsa2048', 'p256'] as KeyType[]) {
    const dir = mkdtempSync(join(tmpdir(), 'aca-bench-'));
    const a = await createAuthority({ dataDir: dir, env: {} });
    await a.init({ keyType, config: { organization: 'Bench Operator' } });
    // raw: the same private key object type, same digest, via node:crypto directly
    const { privateKey } =
      keyType === 'rsa2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const raw = await rate(() => sign('sha256', TBS_LIKE, privateKey), seconds);
    const rawPool = await concurrentRate(() => rawSignAsync(privateKey), IN_FLIGHT, seconds);
    // Agents with keys of their own, as in a fleet: the SPKI, its key identifier and the AKI/SKI
    // extension bytes differ from one certificate to the next (RSA keys are slow to make: fewer).
    const agentKeys = Array.from({ length: keyType === 'rsa2048' ? AGENT_KEYS_RSA : AGENT_KEYS_EC }, () =>
      (keyType === 'rsa2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      ).publicKey.export({ format: 'der', type: 'spki' }),
    );
    let i = 0;
    const issueOne = () =>
      a.issue({
        agentId: `bench-${i}`,
        publicKey: agentKeys[i++ % agentKeys.length]!,
        scope: ['read:accounts', 'write:/data/processed/*'],
        policy: { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['EUR_USD'] },
        tenant: 'bench',
        environment: 'production',
      });
    const sequential = await rate(issueOne, seconds);
    const concurrent = await withCpu(() => concurrentRate(issueOne, IN_FLIGHT, seconds));
    const best = Math.max(sequential.perSecond, concurrent.perSecond);
    line(
      keyType.padEnd(8),
      fmt(raw.perSecond).padStart(26),
      fmt(rawPool.perSecond).padStart(30),
      fmt(sequential.perSecond).padStart(23),
      fmt(concurrent.perSecond).padStart(24),
      ratio(best, raw.perSecond).padStart(14),
      ratio(best, rawPool.perSecond).padStart(14),
      `${fmt(concurrent.cpuUs)}, ${concurrent.mainUs === undefined ? '–' : fmt(concurrent.mainUs)}`.padStart(37),
    );
    if (keyType === 'rsa2048')
      verdicts.push(
        `rsa2048 issued/raw sync sign ${ratio(best, raw.perSecond)} (target >= ${RSA_TARGET * 100}%): ${verdict(best >= RSA_TARGET * raw.perSecond)}`,
      );
    else
      verdicts.push(
        `p256 issued/s, ${IN_FLIGHT} in flight ${fmt(concurrent.perSecond)} (target >= ${fmt(P256_TARGET)}/s): ${verdict(concurrent.perSecond >= P256_TARGET)}`,
      );
    results[`${keyType}.raw`] = raw.perSecond;
    results[`${keyType}.raw.pool`] = rawPool.perSecond;
    results[`${keyType}.issued.sequential`] = sequential.perSecond;
    results[`${keyType}.issued.concurrent`] = concurrent.perSecond;
    results[`${keyType}.issued.cpuUs`] = concurrent.cpuUs;
    if (concurrent.mainUs !== undefined) results[`${keyType}.issued.mainThreadUs`] = concurrent.mainUs;
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const v of verdicts) line(v);
  return results;
}
