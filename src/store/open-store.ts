/**
 * Which Store a data dir uses: `--store URL` / AGENT_CA_STORE selects PostgreSQL
 * (postgres://…); without it, or with `level`, the embedded LevelDB under <dataDir>/db.
 */
import { AgentCaError } from '../errors.js';
import { openLevelStore } from './level/level-store.js';
import type { Store } from './ports.js';
import { isPostgresUrl } from './postgres/connection.js';
import { openPostgresStore } from './postgres/postgres-store.js';

export interface OpenStoreOptions {
  /** postgres://… or `level`; undefined = level. */
  url?: string;
  dataDir: string;
  create?: boolean;
}

export function storeKindOf(url: string | undefined): 'level' | 'postgres' {
  if (url === undefined || url === '' || url === 'level') return 'level';
  if (isPostgresUrl(url)) return 'postgres';
  throw new AgentCaError(
    'STORE_URL_INVALID',
    `unknown store ${JSON.stringify(url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@'))}: use postgres://user@host:5432/db or level`,
  );
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (storeKindOf(opts.url) === 'postgres') return openPostgresStore({ url: opts.url! });
  return openLevelStore({ dataDir: opts.dataDir, ...(opts.create !== undefined ? { create: opts.create } : {}) });
}
