/** `createAuthority()`: the one call an embedding service makes. */
import { existsSync, mkdirSync } from 'node:fs';
import { AgentCaError } from '../errors.js';
import type { Clock } from '../clock.js';
import { openStore, storeKindOf } from '../store/open-store.js';
import type { Store } from '../store/ports.js';
import { Authority } from './authority.js';

export interface CreateAuthorityOptions {
  /** Default: $AGENT_CA_DATA or ./agent-ca-data */
  dataDir?: string;
  /** Default: the store named by `storeUrl`, else LevelDB in <dataDir>/db (the embedded default). */
  store?: Store;
  /** postgres://… (docs/storage-postgres.md) or `level`; default $AGENT_CA_STORE. */
  storeUrl?: string;
  clock?: Clock;
  /** Default: $AGENT_CA_PASSPHRASE */
  passphrase?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Lint agent certificates on a worker thread (default: on a host with two cores or more). */
  lintThread?: boolean;
  /** Create the data directory when missing (default true); the CLI passes false except for init/start. */
  create?: boolean;
}

export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.AGENT_CA_DATA ?? './agent-ca-data';
}

export async function createAuthority(opts: CreateAuthorityOptions = {}): Promise<Authority> {
  const env = opts.env ?? process.env;
  const dataDir = opts.dataDir ?? defaultDataDir(env);
  const storeUrl = opts.storeUrl ?? env.AGENT_CA_STORE;
  // On PostgreSQL the CA lives in the database; the data dir only holds soft keys (if any).
  if (opts.create === false && !opts.store && storeKindOf(storeUrl) === 'level' && !existsSync(dataDir)) {
    throw new AgentCaError(
      'STORE_UNAVAILABLE',
      `no agent-ca data directory at ${dataDir}: run \`agent-ca init\` (or set AGENT_CA_DATA / --data)`,
    );
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = opts.store ?? (await openStore({ dataDir, ...(storeUrl ? { url: storeUrl } : {}) }));
  const passphrase = opts.passphrase ?? env.AGENT_CA_PASSPHRASE;
  const authority = new Authority({
    dataDir,
    store,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(passphrase ? { passphrase } : {}),
    ...(opts.lintThread !== undefined ? { lintThread: opts.lintThread } : {}),
    env,
  });
  try {
    await authority.load();
  } catch (e) {
    await store.close();
    throw e;
  }
  return authority;
}
