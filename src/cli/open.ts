/** Opening the authority from the CLI: data dir from --data / AGENT_CA_DATA / ./agent-ca-data. */
import { createAuthority } from '../authority/create-authority.js';
import type { Authority } from '../authority/authority.js';
import type { Io } from './args.js';

export async function openAuthority(io: Io, dataDir?: string, create = false): Promise<Authority> {
  return createAuthority({ ...(dataDir ? { dataDir } : {}), env: io.env, create });
}

/** Opens the authority (creating the data dir only when `create`), runs fn, always closes. */
export async function withAuthority<T>(
  io: Io,
  dataDir: string | undefined,
  fn: (a: Authority) => Promise<T>,
  create = false,
): Promise<T> {
  const a = await openAuthority(io, dataDir, create);
  try {
    return await fn(a);
  } finally {
    await a.close();
  }
}
