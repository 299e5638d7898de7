/** Opening the authority from the CLI: data dir from --data / AGENT_CA_DATA / ./agent-ca-data. */
import { createAuthority } from '../authority/create-authority.js';
import type { Authority } from '../authority/authority.js';
import type { Io } from './args.js';

export async function openAuthority(io: Io, dataDir?: string): Promise<Authority> {
  return createAuthority({ ...(dataDir ? { dataDir } : {}), env: io.env });
}

export async function withAuthority<T>(io: Io, dataDir: string | undefined, fn: (a: Authority) => Promise<T>): Promise<T> {
  const a = await openAuthority(io, dataDir);
  try {
    return await fn(a);
  } finally {
    await a.close();
  }
}
