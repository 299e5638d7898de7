/** Helpers shared by the key-custody tests (awskms, pkcs11): the CLI in-process, CA state, audit. */
import type { Authority } from '../../src/authority/authority.js';
import { CA_STATE_KEY, type CaState } from '../../src/authority/ca-state.js';
import { runCli } from '../../src/cli/main.js';
import type { AuditEntry } from '../../src/store/ports.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function cli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

export async function caState(a: Authority): Promise<CaState> {
  const s = await a.store.meta.get<CaState>(CA_STATE_KEY);
  if (!s) throw new Error('no CA state');
  return s;
}

/** Every key URI the CA state holds: root, intermediate and both OCSP responders. */
export function keyUris(s: CaState): string[] {
  return [s.cas.root.keyUri, s.cas.intermediate.keyUri, s.responders.root.keyUri, s.responders.intermediate.keyUri];
}

export async function auditEntries(a: Authority, action: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of a.store.audit.iterate()) if (e.action === action) out.push(e);
  return out;
}
