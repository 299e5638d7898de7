/**
 * Throwaway SoftHSM2 tokens for tests: a temp dir with its own softhsm2.conf and tokendir,
 * SOFTHSM2_CONF pointed at it for this process, one initialised token.
 *
 * SoftHSM reads its configuration and token list at C_Initialize, so create the token before
 * the first signer opens the module, and use one helper per test file (vitest runs files in
 * separate processes).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

export type SoftHsmAvailability = { available: true; module: string } | { available: false; reason: string };

export interface SoftHsmToken {
  module: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  dir: string;
  /** Environment for SignerContext.env / pkcs11KeyManager. */
  env: Record<string, string>;
  cleanup(): void;
}

/** Synchronous, so it can gate `describe.runIf` at collection time. */
export function softHsmAvailability(): SoftHsmAvailability {
  const module = [process.env.AGENT_CA_PKCS11_MODULE, ...MODULE_CANDIDATES].find((p) => p && existsSync(p));
  if (!module)
    return {
      available: false,
      reason: `no libsofthsm2.so in ${MODULE_CANDIDATES.join(', ')} (apt-get install softhsm2)`,
    };
  const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (util.error || util.status !== 0)
    return { available: false, reason: `softhsm2-util is not runnable: ${util.error?.message ?? util.stderr}` };
  try {
    createRequire(import.meta.url)('pkcs11js');
  } catch (e) {
    return { available: false, reason: `the pkcs11js native addon does not load: ${(e as Error).message}` };
  }
  return { available: true, module };
}

export function createSoftHsmToken(opts: { label?: string; pin?: string } = {}): SoftHsmToken {
  const avail = softHsmAvailability();
  if (!avail.available) throw new Error(`SoftHSM2 unavailable: ${avail.reason}`);
  const dir = mkdtempSync(join(tmpdir(), 'agent-ca-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const tokenLabel = opts.label ?? `agent-ca-test-${randomBytes(3).toString('hex')}`;
  const pin = opts.pin ?? randomBytes(4).toString('hex');
  const soPin = randomBytes(8).toString('hex');
  const r = spawnSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--so-pin', soPin, '--pin', pin],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, SOFTHSM2_CONF: conf },
    },
  );
  const cleanup = (): void => {
    if (previous === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previous;
    rmSync(dir, { recursive: true, force: true });
  };
  if (r.status !== 0) {
    cleanup();
    throw new Error(`softhsm2-util --init-token failed: ${r.stderr || r.stdout || r.error?.message}`);
  }
  return {
    module: avail.module,
    tokenLabel,
    pin,
    soPin,
    dir,
    env: {
      SOFTHSM2_CONF: conf,
      AGENT_CA_PKCS11_MODULE: avail.module,
      AGENT_CA_PKCS11_TOKEN: tokenLabel,
      AGENT_CA_PKCS11_PIN: pin,
    },
    cleanup,
  };
}
