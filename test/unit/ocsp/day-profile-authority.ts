/**
 * Test fixtures for the OCSP service: an authority with an `agent-day` profile (the agent
 * profile with answers pre-signed for a day, so background passes have work), and a proxy
 * that replaces some of an object's members (the rest bound to the object itself).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthority } from '../../../src/authority/create-authority.js';
import type { Authority } from '../../../src/authority/authority.js';

export async function dayProfileAuthority(dir: string): Promise<Authority> {
  const profilesDir = join(dir, 'profiles');
  mkdirSync(profilesDir);
  writeFileSync(
    join(profilesDir, 'agent-day.json'),
    JSON.stringify({
      ...JSON.parse(readFileSync('ca-config/profiles/agent.json', 'utf8')),
      name: 'agent-day',
      ocspValiditySeconds: 86_400,
    }),
  );
  const a = await createAuthority({ dataDir: join(dir, 'data'), env: {} });
  await a.init({ keyType: 'p256', config: { organization: 'Example Operator', profilesDir } });
  return a;
}

/** `target` with `overrides` in place of some members; `overrides` is read on every access. */
export function withOverrides<T extends object>(target: T, overrides: () => Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, p) {
      const o = overrides() as Record<string | symbol, unknown>;
      if (p in o) return o[p];
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(t) : v;
    },
  });
}
