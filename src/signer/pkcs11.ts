/**
 * `pkcs11:` signer (RFC 7512 URIs) over any PKCS#11 v2.x module; tested against SoftHSM2.
 *
 * - One load + C_Initialize per module path per process, reference-counted: the last close()
 *   (of a signer, or of a key-manager operation) calls C_Finalize and unloads.
 * - Each signer keeps a small pool of sessions (PKCS#11 v2.40 §5.6: one active operation per
 *   session), so concurrent sign() calls run in parallel on the HSM without interleaving.
 * - Login state is per application and token (v2.40 §5.5 C_Login), not per session: a second
 *   signer whose C_Login meets CKR_USER_ALREADY_LOGGED_IN must not pass on the strength of the
 *   first one's PIN, so the PIN that did log in is remembered (salted hash) and compared.
 * - RSA uses CKM_SHA{256,384,512}_RSA_PKCS (the token hashes); ECDSA hashes here and sends the
 *   digest to CKM_ECDSA, which returns raw r||s (v2.40 curr. mech. §2.3.1), normalised to DER.
 *   Ed25519 uses CKM_EDDSA (PKCS#11 v3.0) where the token lists it.
 */
import { createHash } from 'node:crypto';
import { ecdsaRawToDer } from '../asn1/ecdsa-signature.js';
import { AgentCaError } from '../errors.js';
import type { KeyType, KeyUri } from '../types.js';
import { algorithmInfo, defaultAlgorithm } from './algorithms.js';
import { parsePkcs11Uri, redactPkcs11Uri } from './pkcs11-uri.js';
import { keyTypeOfSpki } from './public-key.js';
import type { Signer, SignerContext } from './signer.js';
import {
  CK,
  DEFAULT_POOL,
  type Handle,
  SESSION_FATAL,
  acquireModule,
  ckrName,
  closeSession,
  envOf,
  findPrivateKey,
  findSlot,
  openSession,
  readPublicKeyInfo,
  releaseModule,
  resolveModulePath,
  resolvePin,
  toAgentCaError,
} from './pkcs11-session.js';

interface PooledSession {
  handle: Handle;
  key: Handle;
}

function signMechanism(keyType: KeyType): { mechanism: number; prehash: 'sha256' | 'sha384' | null } {
  const info = algorithmInfo(defaultAlgorithm(keyType));
  if (info.family === 'ed25519') return { mechanism: CK.CKM_EDDSA, prehash: null };
  if (info.family === 'ecdsa') return { mechanism: CK.CKM_ECDSA, prehash: info.digest as 'sha256' | 'sha384' };
  const byDigest = {
    sha256: CK.CKM_SHA256_RSA_PKCS,
    sha384: CK.CKM_SHA384_RSA_PKCS,
    sha512: CK.CKM_SHA512_RSA_PKCS,
  } as const;
  return { mechanism: byDigest[info.digest ?? 'sha256'], prehash: null };
}

export async function openPkcs11Signer(uri: KeyUri, ctx: SignerContext): Promise<Signer> {
  const u = parsePkcs11Uri(uri);
  if (u.object === undefined && u.id === undefined)
    throw new AgentCaError('SIGNER_URI_INVALID', `${redactPkcs11Uri(uri)} names no key: add object= and/or id=`);
  if (u.type !== undefined && u.type !== 'private')
    throw new AgentCaError('SIGNER_URI_INVALID', `type=${u.type} cannot sign: use type=private`);
  const modulePath = resolveModulePath(u, ctx);
  const pin = resolvePin(u, ctx);
  const poolSize = Math.min(64, Math.max(1, Number(envOf(ctx).AGENT_CA_PKCS11_SESSIONS) || DEFAULT_POOL));
  const m = acquireModule(modulePath);

  let slot: Handle;
  let first: PooledSession;
  let publicKeyInfo: Buffer;
  let keyType: KeyType;
  try {
    slot = findSlot(m, u, ctx);
    const handle = openSession(m, slot, pin, false);
    try {
      const key = findPrivateKey(m, handle, u, uri);
      publicKeyInfo = readPublicKeyInfo(m, handle, key);
      keyType = keyTypeOfSpki(publicKeyInfo); // also refuses RSA sizes and curves we do not certify
      const { mechanism } = signMechanism(keyType);
      if (!m.p11.C_GetMechanismList(slot).includes(mechanism)) {
        throw new AgentCaError(
          'SIGNER_UNSUPPORTED',
          `the token does not offer mechanism 0x${mechanism.toString(16)} for ${keyType}`,
          { keyType },
        );
      }
      first = { handle, key };
    } catch (e) {
      closeSession(m, handle);
      throw e;
    }
  } catch (e) {
    releaseModule(m);
    throw toAgentCaError(e, `opening ${redactPkcs11Uri(uri)}`, { keyUri: redactPkcs11Uri(uri) });
  }
  const { mechanism, prehash } = signMechanism(keyType);

  const idle: PooledSession[] = [first];
  const waiters: { resolve: (s: PooledSession) => void; reject: (e: unknown) => void }[] = [];
  let open = 1;
  let closed = false;
  let drained: (() => void) | undefined;

  const newSession = (): PooledSession => {
    const handle = openSession(m, slot, pin, false);
    try {
      return { handle, key: findPrivateKey(m, handle, u, uri) };
    } catch (e) {
      closeSession(m, handle);
      throw e;
    }
  };
  const acquire = async (): Promise<PooledSession> => {
    if (closed) throw new AgentCaError('SIGNER_UNAVAILABLE', `signer ${redactPkcs11Uri(uri)} is closed`);
    const s = idle.pop();
    if (s) return s;
    if (open < poolSize) {
      open++;
      try {
        return newSession();
      } catch (e) {
        open--;
        throw e;
      }
    }
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };
  const release = (s: PooledSession, broken: boolean): void => {
    if (broken || closed) {
      closeSession(m, s.handle);
      open--;
      if (closed && open === 0) drained?.();
      // a waiter would otherwise wait for a session that no longer exists: open it a new one
      const w = closed ? undefined : waiters.shift();
      if (w) acquire().then(w.resolve, w.reject);
      return;
    }
    const w = waiters.shift();
    if (w) w.resolve(s);
    else idle.push(s);
  };
  const signOnce = async (s: PooledSession, input: Buffer): Promise<Buffer> => {
    m.p11.C_SignInit(s.handle, { mechanism }, s.key);
    return Buffer.from(await m.p11.C_SignAsync(s.handle, input, Buffer.alloc(1024)));
  };

  return {
    keyUri: uri,
    keyType,
    algorithm: defaultAlgorithm(keyType),
    publicKeyInfo,
    async sign(data) {
      const input = prehash ? createHash(prehash).update(data).digest() : Buffer.from(data);
      // One retry on a fresh session: a stale handle after a token re-insert or a destroyed
      // key then surfaces as the right error (the retry's lookup says SIGNER_KEY_NOT_FOUND).
      for (let attempt = 0; ; attempt++) {
        const s = await acquire();
        let broken = false;
        try {
          const sig = await signOnce(s, input);
          return prehash ? ecdsaRawToDer(sig) : sig;
        } catch (e) {
          broken = SESSION_FATAL.has(ckrName(e) ?? '');
          if (!broken || attempt > 0)
            throw toAgentCaError(e, `C_Sign with ${redactPkcs11Uri(uri)}`, { keyUri: redactPkcs11Uri(uri) });
        } finally {
          release(s, broken);
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiters.splice(0))
        w.reject(new AgentCaError('SIGNER_UNAVAILABLE', `signer ${redactPkcs11Uri(uri)} is closed`));
      for (const s of idle.splice(0)) {
        closeSession(m, s.handle);
        open--;
      }
      if (open > 0) await new Promise<void>((r) => (drained = r));
      releaseModule(m);
    },
  };
}

export { pkcs11KeyManager } from './pkcs11-key-manager.js';
export { DEFAULT_PKCS11_MODULE, resolveModulePath, resolvePin } from './pkcs11-session.js';
