/** `createAuthority()`: the one call an embedding service makes. */
import { existsSync, mkdirSync } from 'node:fs';
import { AgentCaError } from '../errors.js';
import type { Clock } from '../clock.js';
import { openLevelStore } from '../store/level/level-store.js';
import type { Store } from '../store/ports.js';
import { Authority } from './authority.js';

export interface CreateAuthorityOptions {
  /** Default: $AGENT_CA_DATA or ./agent-ca-data */
  dataDir?: string;
  /** Default: LevelDB in <dataDir>/db (the embedded default). */
  store?: Store;
  clock?: Clock;
  /** Default: $AGENT_CA_PASSPHRASE */
  passphrase?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Create the data directory when missing (default true); the CLI passes false except for init/start. */
  create?: boolean;
}

export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.AGENT_CA_DATA ?? './agent-ca-data';
}

export async function createAuthority(opts: CreateAuthorityOptions = {}): Promise<Authority> {
  const env = opts.env ?? process.env;
  const dataDir = opts.dataDir ?? defaultDataDir(env);
  if (opts.create === false && !existsSync(dataDir)) {
    throw new AgentCaError('STORE_UNAVAILABLE', `no agent-ca data directory at ${dataDir}: run \`agent-ca init\` (or set AGENT_CA_DATA / --data)`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = opts.store ?? (await openLevelStore({ dataDir }));
  const passphrase = opts.passphrase ?? env.AGENT_CA_PASSPHRASE;
  const authority = new Authority({ dataDir, store, ...(opts.clock ? { clock: opts.clock } : {}), ...(passphrase ? { passphrase } : {}), env });
  try {
    await authority.load();
  } catch (e) {
    await store.close();
    throw e;
  }
  return authority;
}
