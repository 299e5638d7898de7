/**
 * The agent's own signing key as the SDK and `agent-ca sign-action --cert` take it: a key URI
 * (`awskms:key-id=<ARN>`, `pkcs11:...` RFC 7512), a PKCS#8 PEM (text or bytes), a KeyObject,
 * or any Signer. The private key never leaves the process or the KMS/HSM.
 */
import type { KeyObject } from 'node:crypto';
import { AgentCaError } from '../errors.js';
import { openSigner } from '../signer/registry.js';
import type { Signer, SignerContext } from '../signer/signer.js';
import { loadPrivateKeyPem, signerFromPrivateKey } from '../signer/soft-key.js';
import type { KeyUri } from '../types.js';

export type AgentKey = { uri: string } | { pem: string | Buffer; passphrase?: string } | KeyObject | Signer;

function isSigner(k: unknown): k is Signer {
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof (k as Signer).sign === 'function' &&
    Buffer.isBuffer((k as Signer).publicKeyInfo)
  );
}

/** Opens the key; `owned` says the caller must close the signer when done. */
export async function openAgentKey(
  key: AgentKey,
  ctx: SignerContext = {},
): Promise<{ signer: Signer; owned: boolean }> {
  if (isSigner(key)) return { signer: key, owned: false };
  if ('uri' in key) {
    if (key.uri.startsWith('softkey:'))
      throw new AgentCaError(
        'INPUT_INVALID',
        'a softkey: URI names a key in a CA data directory: pass the agent key as PEM instead',
      );
    return { signer: await openSigner(key.uri, ctx), owned: true };
  }
  if ('pem' in key)
    return {
      signer: signerFromPrivateKey(loadPrivateKeyPem(key.pem, key.passphrase, 'agent key'), 'softkey:inline' as KeyUri),
      owned: false,
    };
  return { signer: signerFromPrivateKey(key, 'softkey:inline' as KeyUri), owned: false };
}
