/**
 * `softkey:` — the embedded default and development backend. Keys are made with node:crypto,
 * kept as PKCS#8 PEM under <dataDir>/keys with mode 0600, and encrypted (PBES2, AES-256-CBC)
 * when a passphrase is given. Production keys belong in a KMS or HSM (awskms:, pkcs11:).
 *
 * URIs: `softkey:<name>` (file <dataDir>/keys/<name>.key.pem) or `softkey:file=<absolute path>`.
 */
import {
  generateKeyPairSync,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { encryptPrivateKeyPem } from './pkcs8-encrypt.js';
import { AgentCaError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { KeyType, KeyUri } from '../types.js';
import { algorithmInfo, defaultAlgorithm } from './algorithms.js';
import { keyTypeOf } from './public-key.js';
import type { KeyManager, Signer, SignerContext } from './signer.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function softKeyPath(uri: KeyUri | string, ctx: SignerContext): string {
  const rest = uri.slice('softkey:'.length);
  if (rest.startsWith('file=')) {
    const p = rest.slice(5);
    if (!isAbsolute(p)) throw new AgentCaError('SIGNER_URI_INVALID', `softkey file= must be absolute: ${uri}`);
    return p;
  }
  if (!NAME.test(rest)) throw new AgentCaError('SIGNER_URI_INVALID', `bad softkey name in ${uri}`);
  if (!ctx.dataDir) throw new AgentCaError('SIGNER_URI_INVALID', `softkey:${rest} needs a data directory`);
  return join(ctx.dataDir, 'keys', `${rest}.key.pem`);
}

export function generateKeyPair(keyType: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (keyType) {
    case 'rsa2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'rsa3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
    case 'rsa4096':
      return generateKeyPairSync('rsa', { modulusLength: 4096 });
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
  }
}

export function exportPrivateKeyPem(key: KeyObject, passphrase?: string): string {
  return passphrase ? encryptPrivateKeyPem(key, passphrase) : (key.export({ format: 'pem', type: 'pkcs8' }) as string);
}

export function loadPrivateKeyPem(pem: string | Buffer, passphrase: string | undefined, what: string): KeyObject {
  const encrypted = pem.toString().includes('ENCRYPTED');
  if (encrypted && !passphrase)
    throw new AgentCaError('SIGNER_PASSPHRASE', `${what} is encrypted: set AGENT_CA_PASSPHRASE`);
  try {
    return createPrivateKey(
      encrypted ? { key: pem, format: 'pem', passphrase: passphrase! } : { key: pem, format: 'pem' },
    );
  } catch (e) {
    if (encrypted) throw new AgentCaError('SIGNER_PASSPHRASE', `cannot decrypt ${what}: wrong AGENT_CA_PASSPHRASE?`);
    throw new AgentCaError('SIGNER_KEY_NOT_FOUND', `cannot read ${what}: ${(e as Error).message}`);
  }
}

/**
 * Key types whose signature is signed on the event loop. A P-256 or Ed25519 signature takes
 * 24-30 µs of CPU; handing it to libuv's thread pool instead cost the loop as much (the hop,
 * the completion, and on a 2-core host the pool thread taking the loop's core at every wake-up)
 * and the process ~30 µs more per signature (docs/throughput.md). RSA (0.3-3 ms) and P-384
 * (~0.5 ms) sign on the pool, where another core does the math while the loop goes on.
 */
const ON_THE_LOOP: ReadonlySet<KeyType> = new Set<KeyType>(['p256', 'ed25519']);

/** A Signer over an in-memory private key (also used for agent keys generated with --generate-key). */
export function signerFromPrivateKey(privateKey: KeyObject, keyUri: KeyUri): Signer {
  const publicKey = createPublicKey(privateKey);
  const keyType = keyTypeOf(publicKey);
  const algorithm = defaultAlgorithm(keyType);
  const digest = algorithmInfo(algorithm).digest;
  const publicKeyInfo = publicKey.export({ format: 'der', type: 'spki' });
  return {
    keyUri,
    keyType,
    algorithm,
    publicKeyInfo,
    sign: ON_THE_LOOP.has(keyType)
      ? async (data) => cryptoSign(digest, data, privateKey)
      : (data) =>
          new Promise<Buffer>((resolve, reject) => {
            cryptoSign(digest, data, privateKey, (err, sig) => (err ? reject(err) : resolve(sig)));
          }),
  };
}

export async function openSoftKeySigner(uri: KeyUri, ctx: SignerContext): Promise<Signer> {
  const path = softKeyPath(uri, ctx);
  if (!existsSync(path))
    throw new AgentCaError('SIGNER_KEY_NOT_FOUND', `no soft key at ${path} (${uri})`, { keyUri: uri });
  return signerFromPrivateKey(loadPrivateKeyPem(readFileSync(path), ctx.passphrase, uri), uri);
}

export function softKeyManager(ctx: SignerContext): KeyManager {
  return {
    scheme: 'softkey',
    async createKey({ keyType, label }) {
      const name =
        label ??
        `key-${(ctx.clock ?? systemClock).now().getTime().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const uri = `softkey:${name}` as KeyUri;
      const path = softKeyPath(uri, ctx);
      if (existsSync(path))
        throw new AgentCaError('CA_ALREADY_INITIALISED', `refusing to overwrite the existing key ${uri}`);
      mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPair(keyType);
      writeFileSync(path, exportPrivateKeyPem(privateKey, ctx.passphrase), { mode: 0o600, flag: 'wx' });
      return uri;
    },
    async scheduleKeyDeletion(uri, pendingWindowDays) {
      // A soft key has no pending window to enforce: it is moved aside at once so nothing can
      // sign with it, and the window is reported for symmetry with KMS.
      const path = softKeyPath(uri, ctx);
      if (existsSync(path)) renameSync(path, `${path}.deleted`);
      return new Date((ctx.clock ?? systemClock).now().getTime() + pendingWindowDays * 86_400_000);
    },
  };
}
