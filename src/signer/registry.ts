/**
 * Key URI scheme registry: `openSigner(uri)` picks the backend by scheme. Backends register
 * here; embedders may add their own with `registerSignerScheme`.
 */
import { AgentCaError } from '../errors.js';
import type { KeyUri } from '../types.js';
import type { KeyManager, KeyManagerFactory, Signer, SignerContext, SignerOpener } from './signer.js';
import { openSoftKeySigner, softKeyManager } from './soft-key.js';
import { awsKmsKeyManager, openAwsKmsSigner } from './aws-kms.js';
import { openPkcs11Signer, pkcs11KeyManager } from './pkcs11.js';

interface SchemeEntry {
  open: SignerOpener;
  keyManager?: KeyManagerFactory;
}

const schemes = new Map<string, SchemeEntry>();

export function registerSignerScheme(scheme: string, entry: SchemeEntry): void {
  schemes.set(scheme, entry);
}

registerSignerScheme('softkey', { open: openSoftKeySigner, keyManager: softKeyManager });
registerSignerScheme('awskms', { open: openAwsKmsSigner, keyManager: awsKmsKeyManager });
registerSignerScheme('pkcs11', { open: openPkcs11Signer, keyManager: pkcs11KeyManager });

export function schemeOf(uri: string): string {
  const i = uri.indexOf(':');
  if (i <= 0) throw new AgentCaError('SIGNER_URI_INVALID', `not a key URI: ${JSON.stringify(uri)}`);
  return uri.slice(0, i);
}

function entryFor(uri: string): SchemeEntry {
  const scheme = schemeOf(uri);
  const e = schemes.get(scheme);
  if (!e)
    throw new AgentCaError(
      'SIGNER_SCHEME_UNKNOWN',
      `no signer backend for scheme ${scheme}: (known: ${[...schemes.keys()].join(', ')})`,
    );
  return e;
}

export async function openSigner(uri: KeyUri | string, ctx: SignerContext = {}): Promise<Signer> {
  return entryFor(uri).open(uri as KeyUri, ctx);
}

export function keyManagerFor(scheme: string, ctx: SignerContext = {}): KeyManager {
  const e = schemes.get(scheme);
  if (!e?.keyManager) throw new AgentCaError('SIGNER_UNSUPPORTED', `scheme ${scheme}: cannot create or delete keys`);
  return e.keyManager(ctx);
}
