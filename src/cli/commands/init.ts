import { createHash } from 'node:crypto';
import type { Authority } from '../../authority/authority.js';
import { KEY_TYPES, type KeyType } from '../../types.js';
import { list, parse, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';

export const initUsage = 'agent-ca init [--org ORG] [--key-type rsa2048|rsa3072|rsa4096|p256|p384|ed25519] [--base-url URL] [--agent-domain D] [--country CC] [--max-agent-days N] [--data DIR]';

export function parseKeyType(v: string | undefined): KeyType | undefined {
  if (v === undefined) return undefined;
  if (!KEY_TYPES.includes(v as KeyType)) throw new UsageError(`--key-type must be one of ${KEY_TYPES.join(', ')}`);
  return v as KeyType;
}

export function describeCa(a: Authority): string[] {
  const lines: string[] = [];
  for (const name of ['root', 'intermediate'] as const) {
    const ca = a.ca(name);
    const fp = createHash('sha256').update(ca.certificate.der).digest('hex').toUpperCase().match(/../g)!.join(':');
    lines.push(`${name.padEnd(12)} ${ca.issuing.subject.text}`);
    lines.push(`${''.padEnd(12)} key ${ca.signer.keyUri} (${ca.signer.keyType}), valid until ${ca.certificate.notAfter.toISOString()}`);
    lines.push(`${''.padEnd(12)} SHA-256 ${fp}`);
  }
  return lines;
}

export async function initCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, {
    org: { type: 'string' },
    'key-type': { type: 'string' },
    'base-url': { type: 'string' },
    'agent-domain': { type: 'string', multiple: true },
    country: { type: 'string' },
    'max-agent-days': { type: 'string' },
    data: { type: 'string' },
  });
  const keyType = parseKeyType(v['key-type']);
  const domains = list(v['agent-domain']);
  return withAuthority(io, v.data, async (a) => {
    await a.init({
      config: {
        ...(v.org ? { organization: v.org } : {}),
        ...(v['base-url'] ? { baseUrl: v['base-url'] } : {}),
        ...(domains ? { agentDomains: domains } : {}),
        ...(v.country ? { country: v.country } : {}),
        ...(v['max-agent-days'] ? { maxAgentValidityDays: Number(v['max-agent-days']) } : {}),
        ...(keyType ? { keyType } : {}),
      },
      ...(keyType ? { keyType } : {}),
    });
    io.out(`initialised a CA in ${a.dataDir}`);
    for (const l of describeCa(a)) io.out(l);
    io.out(`chain written to ${a.dataDir}/ca/root.pem and intermediate.pem`);
    return 0;
  }, true);
}
