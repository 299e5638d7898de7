import { createHash } from 'node:crypto';
import type { Authority } from '../../authority/authority.js';
import { KEY_TYPES, type KeyType, type KeyUri } from '../../types.js';
import type { HierarchyKeys } from '../../authority/hierarchy.js';
import { list, parse, positiveInt, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';

export const initUsage =
  'agent-ca init [--org ORG] [--key-type rsa2048|rsa3072|rsa4096|p256|p384|ed25519] [--base-url URL] [--agent-domain D] [--country CC] [--max-agent-days N] [--signer softkey|awskms|pkcs11] [--responder-signer softkey|awskms|pkcs11] [--pkcs11-module PATH --pkcs11-token LABEL] [--key-uri root|intermediate|ocsp-root|ocsp-intermediate=URI] [--data DIR]';

export function parseKeyType(v: string | undefined): KeyType | undefined {
  if (v === undefined) return undefined;
  if (!KEY_TYPES.includes(v as KeyType)) throw new UsageError(`--key-type must be one of ${KEY_TYPES.join(', ')}`);
  return v as KeyType;
}

const KEY_NAMES = {
  root: 'root',
  intermediate: 'intermediate',
  'ocsp-root': 'ocspRoot',
  'ocsp-intermediate': 'ocspIntermediate',
} as const;

/** --key-uri NAME=URI (repeatable): adopt existing keys instead of creating them. */
export function parseKeyUris(values: string[] | undefined): HierarchyKeys | undefined {
  if (!values?.length) return undefined;
  const keys: HierarchyKeys = {};
  for (const item of values) {
    const m = item.match(/^(root|intermediate|ocsp-root|ocsp-intermediate)=(.+)$/);
    if (!m)
      throw new UsageError(
        `--key-uri takes NAME=URI with NAME root, intermediate, ocsp-root or ocsp-intermediate, got ${JSON.stringify(item)}`,
      );
    keys[KEY_NAMES[m[1] as keyof typeof KEY_NAMES]] = m[2] as KeyUri;
  }
  return keys;
}

export function describeCa(a: Authority): string[] {
  const lines: string[] = [];
  for (const name of ['root', 'intermediate'] as const) {
    const ca = a.ca(name);
    const fp = createHash('sha256').update(ca.certificate.der).digest('hex').toUpperCase().match(/../g)!.join(':');
    lines.push(`${name.padEnd(12)} ${ca.issuing.subject.text}`);
    lines.push(
      `${''.padEnd(12)} key ${ca.signer.keyUri} (${ca.signer.keyType}), valid until ${ca.certificate.notAfter.toISOString()}`,
    );
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
    signer: { type: 'string' },
    'pkcs11-module': { type: 'string' },
    'pkcs11-token': { type: 'string' },
    'key-uri': { type: 'string', multiple: true },
    'responder-signer': { type: 'string' },
  });
  const keyType = parseKeyType(v['key-type']);
  const domains = list(v['agent-domain']);
  const signer = v.signer ?? 'softkey';
  if (!['softkey', 'awskms', 'pkcs11'].includes(signer))
    throw new UsageError('--signer must be softkey, awskms or pkcs11');
  const responderSigner = v['responder-signer'];
  if (responderSigner !== undefined && !['softkey', 'awskms', 'pkcs11'].includes(responderSigner))
    throw new UsageError('--responder-signer must be softkey, awskms or pkcs11');
  if ((signer === 'pkcs11' || responderSigner === 'pkcs11') && !v['pkcs11-token'] && !io.env.AGENT_CA_PKCS11_TOKEN)
    throw new UsageError('--signer pkcs11 needs --pkcs11-token LABEL (PIN from AGENT_CA_PKCS11_PIN)');
  const keys = parseKeyUris(v['key-uri']);
  // The PKCS#11 module and token become part of every key URI made, so later opens need no flags.
  const env = {
    ...io.env,
    ...(v['pkcs11-module'] ? { AGENT_CA_PKCS11_MODULE: v['pkcs11-module'] } : {}),
    ...(v['pkcs11-token'] ? { AGENT_CA_PKCS11_TOKEN: v['pkcs11-token'] } : {}),
    ...((signer === 'pkcs11' || responderSigner === 'pkcs11') &&
    !io.env.AGENT_CA_PKCS11_PIN_SOURCE &&
    io.env.AGENT_CA_PKCS11_PIN
      ? { AGENT_CA_PKCS11_PIN_SOURCE: 'env:AGENT_CA_PKCS11_PIN' }
      : {}),
  };
  return withAuthority(
    { ...io, env },
    v.data,
    async (a) => {
      await a.init({
        signer,
        ...(responderSigner ? { responderSigner } : {}),
        ...(keys ? { keys } : {}),
        actor: 'cli',
        config: {
          ...(v.org ? { organization: v.org } : {}),
          ...(v['base-url'] ? { baseUrl: v['base-url'] } : {}),
          ...(domains ? { agentDomains: domains } : {}),
          ...(v.country ? { country: v.country } : {}),
          ...(v['max-agent-days']
            ? { maxAgentValidityDays: positiveInt(v['max-agent-days'], '--max-agent-days')! }
            : {}),
          ...(keyType ? { keyType } : {}),
        },
        ...(keyType ? { keyType } : {}),
      });
      io.out(`initialised a CA in ${a.dataDir}`);
      for (const l of describeCa(a)) io.out(l);
      io.out(`chain written to ${a.dataDir}/ca/root.pem and intermediate.pem`);
      return 0;
    },
    true,
  );
}
