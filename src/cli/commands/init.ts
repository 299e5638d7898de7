import { createHash } from 'node:crypto';
import type { Authority } from '../../authority/authority.js';
import { KEY_TYPES, type KeyType, type KeyUri } from '../../types.js';
import type { HierarchyKeys } from '../../authority/hierarchy.js';
import { parse, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { AgentCaError } from '../../errors.js';
import { defaultDataDir } from '../../authority/create-authority.js';
import { storeKindOf } from '../../store/open-store.js';
import { withProgress } from '../progress.js';
import { runningServer } from '../server-file.js';
import { caInitFromFlags, caOptions } from './ca-options.js';

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
  const { values: v } = parse(argv, caOptions);
  const { env, init } = caInitFromFlags(v, io);
  refuseWhileServed(v.data, io);
  return withAuthority(
    { ...io, env },
    v.data,
    async (a) => {
      if (a.initialised) throw alreadyInitialised(a);
      await withProgress(io, `creating ${init.keyType ?? 'p256'} CA keys`, () => a.init(init));
      io.out(`initialised a CA in ${a.dataDir}`);
      for (const l of describeCa(a)) io.out(l);
      io.out(`chain written to ${a.dataDir}/ca/root.pem and intermediate.pem`);
      io.out(`certificates will name ${a.config.baseUrl} (OCSP, CRLs, CA certificates): serve it there`);
      return 0;
    },
    true,
  );
}

/**
 * The way out when a CA already exists (e.g. `npm start` made one before `init --org`): say
 * what it is and the two exits, instead of a bare "already initialised".
 */
export function alreadyInitialised(a: Authority): AgentCaError {
  return new AgentCaError(
    'CA_ALREADY_INITIALISED',
    `${a.dataDir} already holds a CA (${a.ca('root').issuing.subject.text}, certificates name ${a.config.baseUrl}); ` +
      `to make another with these options use another --data DIR, or remove ${a.dataDir} if nothing it issued is in use`,
    { dataDir: a.dataDir },
  );
}

/** `init` while `serve`/`start` holds the data directory: name the server instead of a lock error. */
function refuseWhileServed(dataDir: string | undefined, io: Io): void {
  if (storeKindOf(io.env.AGENT_CA_STORE) !== 'level') return;
  const running = runningServer(dataDir ?? defaultDataDir(io.env));
  if (running)
    throw new AgentCaError(
      'STORE_LOCKED',
      `a server (pid ${running.pid}, ${running.url}) is running on this data directory, which already holds a CA; ` +
        `stop it first, or use another --data DIR for a new CA`,
      { dataDir: dataDir ?? defaultDataDir(io.env) },
    );
}
