/**
 * `agent-ca start` (= `npm start`): the CA on the embedded default (LevelDB + softkey), made on
 * first run with the same options as `init` (one table, ./ca-options.ts), then served.
 */
import type { Authority } from '../../authority/authority.js';
import { AgentCaError } from '../../errors.js';
import { parse, type Io } from '../args.js';
import { openAuthority } from '../open.js';
import { withProgress } from '../progress.js';
import { caInitFromFlags, caOptions, givenCaFlags, type CaOptionValues } from './ca-options.js';
import { serveAuthority } from './serve.js';

export const startUsage =
  'agent-ca start [--org ORG] [--key-type T] [--base-url URL] [--agent-domain D] [--country CC] [--max-agent-days N] [--signer S] [--port P] [--host H] [--data DIR]   (npm start: init on first run with these options, then serve)';

/**
 * CA options given to `start` on a CA that exists already: accepted when they say what the CA
 * already is, refused otherwise (they only apply when the CA is made), so that
 * `start --org X` never silently serves a CA named otherwise.
 */
function checkAgainstExisting(a: Authority, v: CaOptionValues, io: Io): void {
  const given = givenCaFlags(v);
  if (given.length === 0) return;
  const { config } = caInitFromFlags(v, io).init;
  const c = a.config;
  const differ: string[] = [];
  if (v.org !== undefined && config.organization !== c.organization)
    differ.push(`--org (the CA's is "${c.organization}")`);
  if (v['base-url'] !== undefined && config.baseUrl !== c.baseUrl) differ.push(`--base-url (the CA's is ${c.baseUrl})`);
  if (v['key-type'] !== undefined && config.keyType !== c.keyType) differ.push(`--key-type (the CA's is ${c.keyType})`);
  if (v.country !== undefined && config.country !== c.country)
    differ.push(`--country (the CA's is ${c.country ?? 'none'})`);
  if (v['agent-domain'] !== undefined && config.agentDomains?.join(',') !== c.agentDomains.join(','))
    differ.push(`--agent-domain (the CA's are ${c.agentDomains.join(',')})`);
  if (v['max-agent-days'] !== undefined && config.maxAgentValidityDays !== c.maxAgentValidityDays)
    differ.push(`--max-agent-days (the CA's is ${c.maxAgentValidityDays ?? "the profiles' maxima"})`);
  for (const f of ['--signer', '--responder-signer', '--pkcs11-module', '--pkcs11-token', '--key-uri'])
    if (given.includes(f)) differ.push(`${f} (keys exist already)`);
  if (differ.length)
    throw new AgentCaError(
      'CA_ALREADY_INITIALISED',
      `${a.dataDir} already holds a CA; these options only apply when start makes one: ${differ.join('; ')}. ` +
        `Start without them, use another --data DIR, or remove ${a.dataDir} if nothing it issued is in use`,
      { dataDir: a.dataDir },
    );
}

export async function startCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, caOptions);
  const { env, init } = caInitFromFlags(v, io);
  const a = await openAuthority({ ...io, env }, v.data, true);
  try {
    if (!a.initialised) {
      await withProgress(io, `creating ${init.keyType ?? 'p256'} CA keys`, () => a.init(init));
      io.out(
        `created a new CA in ${a.dataDir} for ${a.config.baseUrl} (${init.signer} keys, ${a.store.kind} store${init.signer === 'softkey' ? '; production keys belong in a KMS or HSM' : ''})`,
      );
    } else checkAgainstExisting(a, v, io);
    return await serveAuthority(a, v, io);
  } finally {
    await a.close();
  }
}
