/**
 * Starts the project's KMS-API emulator in-process on 127.0.0.1 (port 0) for tests, with a
 * temporary data directory removed on close (unless the caller supplied `dataDir`, e.g. to
 * restart on the same keys). `env` holds the SDK variables that point @aws-sdk/client-kms at
 * it; pass it as SignerContext.env, or apply it to process.env with `applyKmsEnv`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsEmulator, type KmsEmulator, type KmsEmulatorOptions } from '../../scripts/kms-emulator/server.js';

export interface TestKmsEmulator {
  endpoint: string;
  dataDir: string;
  emulator: KmsEmulator;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startTestKmsEmulator(
  opts: { dataDir?: string; region?: string; now?: KmsEmulatorOptions['now'] } = {},
): Promise<TestKmsEmulator> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'agent-ca-kms-'));
  const emulator = await startKmsEmulator({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return {
    endpoint: emulator.url,
    dataDir,
    emulator,
    env: {
      AWS_ENDPOINT_URL_KMS: emulator.url,
      AWS_REGION: opts.region ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
    async close() {
      await emulator.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Sets the given variables on process.env; the returned function restores the previous values. */
export function applyKmsEnv(env: Record<string, string>): () => void {
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
