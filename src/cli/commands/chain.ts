import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentCaError } from '../../errors.js';
import { parse, required, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { serverOf } from '../remote.js';

export const chainUsage = 'agent-ca chain --out DIR [--server URL]';

/** GET a public CA file from a running server (no token: /ca/* is what counterparties fetch). */
async function fetchPublic(server: string, path: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(new URL(path, server.endsWith('/') ? server : `${server}/`), {
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new AgentCaError('STORE_UNAVAILABLE', `cannot reach ${server}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new AgentCaError('STORE_UNAVAILABLE', `${server}/${path} answered ${res.status}`);
  return res.text();
}

export async function chainCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { out: { type: 'string' }, data: { type: 'string' }, server: { type: 'string' } });
  const dir = required(v.out, '--out');
  const server = serverOf(v, io);
  const chain = server
    ? { root: await fetchPublic(server, 'ca/root.pem'), intermediate: await fetchPublic(server, 'ca/intermediate.pem') }
    : await withAuthority(io, v.data, async (a) => a.chain());
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'root.pem'), chain.root);
  writeFileSync(join(dir, 'intermediate.pem'), chain.intermediate);
  io.out(`wrote ${join(dir, 'root.pem')} and ${join(dir, 'intermediate.pem')}`);
  return 0;
}
