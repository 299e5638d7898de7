/**
 * PKCS#11 plumbing shared by the signer and the key manager: loading a module once per process
 * (reference-counted, C_Finalize on the last release), mapping CKR_* to typed errors, finding
 * the token and the key objects an RFC 7512 URI names, sessions and login, and reading a key's
 * SubjectPublicKeyInfo. See pkcs11.ts for the design notes.
 */
import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import type * as P11 from 'pkcs11js';
import { algorithmIdentifier, bitString, oid, sequence, Tag, unsignedInteger } from '../asn1/der.js';
import { readWhole } from '../asn1/der-reader.js';
import { Oids } from '../asn1/oids.js';
import { AgentCaError, Asn1DecodeError, isAgentCaError } from '../errors.js';
import { pinFilePath, redactPkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
import type { SignerContext } from './signer.js';

/** Debian/Ubuntu path of SoftHSM2 (`dpkg -L softhsm2`), the fallback when nothing is configured. */
export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const DEFAULT_POOL = 4;

// PKCS#11 constants (v2.40 pkcs11t.h; EdDSA from v3.0). Kept here so this file type-checks and
// loads without the native addon; the addon is only required when a module is opened.
export const CK = {
  CKF_OS_LOCKING_OK: 0x2,
  CKF_RW_SESSION: 0x2,
  CKF_SERIAL_SESSION: 0x4,
  CKF_TOKEN_INITIALIZED: 0x400,
  CKU_USER: 1,
  CKO_CERTIFICATE: 1,
  CKO_PUBLIC_KEY: 2,
  CKO_PRIVATE_KEY: 3,
  CKK_RSA: 0,
  CKK_EC: 3,
  CKK_EC_EDWARDS: 0x40,
  CKA_CLASS: 0x0,
  CKA_TOKEN: 0x1,
  CKA_PRIVATE: 0x2,
  CKA_LABEL: 0x3,
  CKA_VALUE: 0x11,
  CKA_KEY_TYPE: 0x100,
  CKA_ID: 0x102,
  CKA_SENSITIVE: 0x103,
  CKA_DECRYPT: 0x105,
  CKA_UNWRAP: 0x107,
  CKA_SIGN: 0x108,
  CKA_VERIFY: 0x10a,
  CKA_DERIVE: 0x10c,
  CKA_MODULUS: 0x120,
  CKA_MODULUS_BITS: 0x121,
  CKA_PUBLIC_EXPONENT: 0x122,
  CKA_EXTRACTABLE: 0x162,
  CKA_EC_PARAMS: 0x180,
  CKA_EC_POINT: 0x181,
  CKM_RSA_PKCS_KEY_PAIR_GEN: 0x0,
  CKM_SHA256_RSA_PKCS: 0x40,
  CKM_SHA384_RSA_PKCS: 0x41,
  CKM_SHA512_RSA_PKCS: 0x42,
  CKM_EC_KEY_PAIR_GEN: 0x1040,
  CKM_ECDSA: 0x1041,
  CKM_EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  CKM_EDDSA: 0x1057,
} as const;

export type Pkcs11Module = typeof P11;
export type Handle = Buffer;

export interface LoadedModule {
  path: string;
  p11: P11.PKCS11;
  refs: number;
  /** Whose PIN logged each token in (slot id hex -> salted SHA-256), see the header. */
  logins: Map<string, Buffer>;
}

export const modules = new Map<string, LoadedModule>();
export const pinSalt = randomBytes(16);
let addon: Pkcs11Module | undefined;

export function loadAddon(): Pkcs11Module {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
    return addon;
  } catch (e) {
    throw new AgentCaError(
      'SIGNER_UNAVAILABLE',
      `the pkcs11js native addon cannot be loaded: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
}

export function acquireModule(path: string): LoadedModule {
  const hit = modules.get(path);
  if (hit) {
    hit.refs++;
    return hit;
  }
  if (!existsSync(path))
    throw new AgentCaError('SIGNER_UNAVAILABLE', `PKCS#11 module not found: ${path}`, { module: path });
  const lib = loadAddon();
  const p11 = new lib.PKCS11();
  try {
    p11.load(path);
  } catch (e) {
    throw new AgentCaError(
      'SIGNER_UNAVAILABLE',
      `cannot load PKCS#11 module ${path}: ${(e as Error).message}`,
      { module: path },
      { cause: e },
    );
  }
  try {
    // The addon runs C_Sign etc. on libuv worker threads, so the module must lock for itself.
    p11.C_Initialize({ flags: CK.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckrName(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      p11.close();
      throw toAgentCaError(e, `C_Initialize of ${path}`, { module: path });
    }
  }
  const m: LoadedModule = { path, p11, refs: 1, logins: new Map() };
  modules.set(path, m);
  return m;
}

export function releaseModule(m: LoadedModule): void {
  if (--m.refs > 0) return;
  modules.delete(m.path);
  try {
    m.p11.C_Finalize();
  } finally {
    m.p11.close();
  }
}

// ---- errors -------------------------------------------------------------------------------

export function ckrName(e: unknown): string | undefined {
  const msg = (e as { message?: unknown })?.message;
  return typeof msg === 'string' ? /CKR_[A-Z0-9_]+/.exec(msg)?.[0] : undefined;
}

export const DENIED = new Set([
  'CKR_PIN_INCORRECT',
  'CKR_PIN_INVALID',
  'CKR_PIN_LEN_RANGE',
  'CKR_PIN_EXPIRED',
  'CKR_PIN_LOCKED',
  'CKR_USER_PIN_NOT_INITIALIZED',
  'CKR_KEY_FUNCTION_NOT_PERMITTED',
  'CKR_USER_TYPE_INVALID',
]);
export const UNSUPPORTED = new Set([
  'CKR_MECHANISM_INVALID',
  'CKR_MECHANISM_PARAM_INVALID',
  'CKR_KEY_TYPE_INCONSISTENT',
  'CKR_KEY_SIZE_RANGE',
  'CKR_DOMAIN_PARAMS_INVALID',
  'CKR_CURVE_NOT_SUPPORTED',
  'CKR_TEMPLATE_INCONSISTENT',
  'CKR_ATTRIBUTE_VALUE_INVALID',
]);
/** Errors after which a pooled session (or the object handle it holds) must not be reused. */
export const SESSION_FATAL = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_DEVICE_ERROR',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_OPERATION_ACTIVE',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_GENERAL_ERROR',
]);

export function toAgentCaError(e: unknown, what: string, details: Record<string, unknown>): AgentCaError {
  if (isAgentCaError(e)) return e;
  const ckr = ckrName(e);
  const msg = `${what}: ${ckr ?? (e as Error)?.message ?? String(e)}`;
  const d = { ...details, ckr };
  if (ckr && DENIED.has(ckr)) return new AgentCaError('SIGNER_ACCESS_DENIED', msg, d, { cause: e });
  if (ckr && UNSUPPORTED.has(ckr)) return new AgentCaError('SIGNER_UNSUPPORTED', msg, d, { cause: e });
  if (ckr === 'CKR_KEY_HANDLE_INVALID' || ckr === 'CKR_OBJECT_HANDLE_INVALID')
    return new AgentCaError('SIGNER_KEY_NOT_FOUND', msg, d, { cause: e });
  return new AgentCaError('SIGNER_UNAVAILABLE', msg, d, { cause: e });
}

// ---- configuration: module, PIN, token ----------------------------------------------------

export function envOf(ctx: SignerContext): Readonly<Record<string, string | undefined>> {
  return ctx.env ?? process.env;
}

/** module-path (a file, or a directory holding module-name), else AGENT_CA_PKCS11_MODULE, else SoftHSM2. */
export function resolveModulePath(u: Pkcs11Uri, ctx: SignerContext): string {
  if (u.modulePath !== undefined) {
    if (!isAbsolute(u.modulePath))
      throw new AgentCaError('SIGNER_URI_INVALID', `module-path must be absolute: ${u.modulePath}`);
    if (!(existsSync(u.modulePath) && statSync(u.modulePath).isDirectory())) return u.modulePath;
    if (u.moduleName === undefined || u.moduleName.includes('/')) {
      throw new AgentCaError(
        'SIGNER_URI_INVALID',
        `module-path ${u.modulePath} is a directory: module-name must name the library in it`,
      );
    }
    return join(u.modulePath, /\.(so|dylib|dll)$/.test(u.moduleName) ? u.moduleName : `${u.moduleName}.so`);
  }
  if (u.moduleName !== undefined)
    throw new AgentCaError('SIGNER_URI_INVALID', 'module-name needs module-path (the directory to look in)');
  return envOf(ctx).AGENT_CA_PKCS11_MODULE || DEFAULT_PKCS11_MODULE;
}

/** pin-value, else pin-source (file: / env:), else AGENT_CA_PKCS11_PIN. */
export function resolvePin(u: Pkcs11Uri, ctx: SignerContext): string {
  const env = envOf(ctx);
  let pin: string | undefined;
  let from: string;
  if (u.pinValue !== undefined) {
    pin = u.pinValue;
    from = 'pin-value';
  } else if (u.pinSource?.startsWith('env:')) {
    from = `pin-source ${u.pinSource}`;
    pin = env[u.pinSource.slice(4)];
  } else if (u.pinSource !== undefined) {
    from = `pin-source ${u.pinSource}`;
    const file = pinFilePath(u.pinSource);
    try {
      // one trailing newline is what `echo 1234 > pinfile` leaves behind
      pin = file === undefined ? undefined : readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new AgentCaError('CONFIG_INVALID', `cannot read the PIN file of ${from}: ${(e as Error).message}`);
    }
  } else {
    from = 'AGENT_CA_PKCS11_PIN';
    pin = env.AGENT_CA_PKCS11_PIN;
  }
  if (!pin) throw new AgentCaError('CONFIG_INVALID', `no PKCS#11 user PIN: ${from} is unset or empty`);
  return pin;
}

export function slotKey(slot: Handle): string {
  return slot.toString('hex');
}

export function slotNumber(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}

/** The slot whose token matches token/serial/manufacturer/model/slot-id (label from env if none given). */
export function findSlot(m: LoadedModule, u: Pkcs11Uri, ctx: SignerContext): Handle {
  const label =
    u.token ?? (u.serial === undefined && u.slotId === undefined ? envOf(ctx).AGENT_CA_PKCS11_TOKEN : undefined);
  const seen: string[] = [];
  const matches: Handle[] = [];
  let slots: Handle[];
  try {
    slots = m.p11.C_GetSlotList(true);
  } catch (e) {
    throw toAgentCaError(e, 'C_GetSlotList', { module: m.path });
  }
  for (const slot of slots) {
    const info = m.p11.C_GetTokenInfo(slot);
    if (!(info.flags & CK.CKF_TOKEN_INITIALIZED)) continue;
    const t = {
      label: info.label.trimEnd(),
      serial: info.serialNumber.trimEnd(),
      manufacturer: info.manufacturerID.trimEnd(),
      model: info.model.trimEnd(),
    };
    seen.push(t.label);
    if (label !== undefined && t.label !== label) continue;
    if (u.serial !== undefined && t.serial !== u.serial) continue;
    if (u.manufacturer !== undefined && t.manufacturer !== u.manufacturer) continue;
    if (u.model !== undefined && t.model !== u.model) continue;
    if (u.slotId !== undefined && slotNumber(slot) !== u.slotId) continue;
    matches.push(slot);
  }
  const want = { token: label, serial: u.serial, slotId: u.slotId, module: m.path };
  // A configured token that is not there is an outage (unplugged, HSM partition unreachable).
  if (matches.length === 0)
    throw new AgentCaError(
      'SIGNER_UNAVAILABLE',
      `no PKCS#11 token matches ${JSON.stringify(want)} (present: ${seen.join(', ') || 'none'})`,
      want,
    );
  if (matches.length > 1)
    throw new AgentCaError(
      'SIGNER_URI_INVALID',
      `${matches.length} PKCS#11 tokens match ${JSON.stringify(want)}: add token= or serial=`,
      want,
    );
  return matches[0]!;
}

// ---- sessions -----------------------------------------------------------------------------

export function pinHash(pin: string): Buffer {
  return createHash('sha256').update(pinSalt).update(pin, 'utf8').digest();
}

export function login(m: LoadedModule, slot: Handle, session: Handle, pin: string): void {
  try {
    m.p11.C_Login(session, CK.CKU_USER, pin);
    m.logins.set(slotKey(slot), pinHash(pin));
  } catch (e) {
    if (ckrName(e) !== 'CKR_USER_ALREADY_LOGGED_IN') throw toAgentCaError(e, 'C_Login', { module: m.path });
    const known = m.logins.get(slotKey(slot));
    if (!known || !timingSafeEqual(known, pinHash(pin))) {
      throw new AgentCaError('SIGNER_ACCESS_DENIED', 'C_Login: the token is already logged in with a different PIN', {
        module: m.path,
        ckr: 'CKR_PIN_INCORRECT',
      });
    }
  }
}

export function openSession(m: LoadedModule, slot: Handle, pin: string, rw: boolean): Handle {
  let s: Handle;
  try {
    s = m.p11.C_OpenSession(slot, CK.CKF_SERIAL_SESSION | (rw ? CK.CKF_RW_SESSION : 0));
  } catch (e) {
    throw toAgentCaError(e, 'C_OpenSession', { module: m.path });
  }
  try {
    login(m, slot, s, pin);
    return s;
  } catch (e) {
    closeSession(m, s);
    throw e;
  }
}

export function closeSession(m: LoadedModule, s: Handle): void {
  try {
    m.p11.C_CloseSession(s);
  } catch {
    // already gone (token removed, module finalised): nothing left to release
  }
}

export function findObjects(m: LoadedModule, s: Handle, template: P11.Template, max = 2): Handle[] {
  m.p11.C_FindObjectsInit(s, template);
  try {
    return m.p11.C_FindObjects(s, max);
  } finally {
    m.p11.C_FindObjectsFinal(s);
  }
}

export function ulong(b: Buffer): number {
  return b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0);
}

export function attr(m: LoadedModule, s: Handle, h: Handle, type: number): Buffer {
  const [a] = m.p11.C_GetAttributeValue(s, h, [{ type }]);
  return a?.value ?? Buffer.alloc(0);
}

/** The private key the URI names: exactly one match, or a typed error. */
export function findPrivateKey(m: LoadedModule, s: Handle, u: Pkcs11Uri, uri: string): Handle {
  const t: P11.Template = [{ type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY }];
  if (u.object !== undefined) t.push({ type: CK.CKA_LABEL, value: u.object });
  if (u.id !== undefined) t.push({ type: CK.CKA_ID, value: u.id });
  const found = findObjects(m, s, t);
  const details = { keyUri: redactPkcs11Uri(uri) };
  if (found.length === 0)
    throw new AgentCaError(
      'SIGNER_KEY_NOT_FOUND',
      `no private key on the token matches ${redactPkcs11Uri(uri)}`,
      details,
    );
  if (found.length > 1)
    throw new AgentCaError(
      'SIGNER_URI_INVALID',
      `several private keys match ${redactPkcs11Uri(uri)}: add id=`,
      details,
    );
  return found[0]!;
}

// ---- public key -> SPKI -------------------------------------------------------------------

/** CKA_EC_POINT is a DER OCTET STRING around the point (v2.40 §2.3.3); some tokens return it bare. */
export function unwrapEcPoint(v: Buffer, pointLen: number): Buffer {
  if (v.length === pointLen) return v;
  if (v[0] === Tag.OCTET_STRING) {
    try {
      const t = readWhole(v, Tag.OCTET_STRING, 'CKA_EC_POINT');
      if (t.end - t.contentStart === pointLen) return v.subarray(t.contentStart);
    } catch (e) {
      if (!(e instanceof Asn1DecodeError)) throw e; // not DER: refused below like any other shape
    }
  }
  throw new AgentCaError(
    'SIGNER_UNSUPPORTED',
    `CKA_EC_POINT of ${v.length} bytes is not an uncompressed point of ${pointLen}`,
  );
}

export const ED25519_PRINTABLE = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]);

export function ecCurve(params: Buffer): { keyType: 'p256' | 'p384' | 'ed25519'; pointLen: number } {
  if (params.equals(oid(Oids.prime256v1))) return { keyType: 'p256', pointLen: 65 };
  if (params.equals(oid(Oids.secp384r1))) return { keyType: 'p384', pointLen: 97 };
  if (params.equals(oid(Oids.ed25519)) || params.equals(ED25519_PRINTABLE)) return { keyType: 'ed25519', pointLen: 32 };
  throw new AgentCaError(
    'SIGNER_UNSUPPORTED',
    `EC key on an unsupported curve (CKA_EC_PARAMS ${params.toString('hex')})`,
  );
}

/** SubjectPublicKeyInfo from the public key object with the same CKA_ID, else the private key / certificate. */
export function readPublicKeyInfo(m: LoadedModule, s: Handle, priv: Handle): Buffer {
  const keyType = ulong(attr(m, s, priv, CK.CKA_KEY_TYPE));
  const id = attr(m, s, priv, CK.CKA_ID);
  const byId = (cls: number): Handle | undefined =>
    id.length
      ? findObjects(
          m,
          s,
          [
            { type: CK.CKA_CLASS, value: cls },
            { type: CK.CKA_ID, value: id },
          ],
          1,
        )[0]
      : undefined;
  const pub = byId(CK.CKO_PUBLIC_KEY);
  if (keyType === CK.CKK_RSA) {
    // CKA_MODULUS / CKA_PUBLIC_EXPONENT are public attributes of the private key too.
    const src = pub ?? priv;
    const n = attr(m, s, src, CK.CKA_MODULUS);
    const e = attr(m, s, src, CK.CKA_PUBLIC_EXPONENT);
    if (!n.length || !e.length)
      throw new AgentCaError('SIGNER_KEY_NOT_FOUND', 'RSA key without a readable modulus / exponent');
    return sequence(
      algorithmIdentifier(Oids.rsaEncryption, 'null'),
      bitString(sequence(unsignedInteger(n), unsignedInteger(e))),
    );
  }
  if (keyType === CK.CKK_EC || keyType === CK.CKK_EC_EDWARDS) {
    if (!pub) {
      const cert = byId(CK.CKO_CERTIFICATE);
      if (!cert)
        throw new AgentCaError(
          'SIGNER_KEY_NOT_FOUND',
          'EC private key without a public key or certificate object of the same CKA_ID',
        );
      return new X509Certificate(attr(m, s, cert, CK.CKA_VALUE)).publicKey.export({ format: 'der', type: 'spki' });
    }
    const curve = ecCurve(attr(m, s, pub, CK.CKA_EC_PARAMS));
    const point = unwrapEcPoint(attr(m, s, pub, CK.CKA_EC_POINT), curve.pointLen);
    if (curve.keyType === 'ed25519') return sequence(algorithmIdentifier(Oids.ed25519), bitString(point));
    return sequence(
      sequence(oid(Oids.ecPublicKey), oid(curve.keyType === 'p256' ? Oids.prime256v1 : Oids.secp384r1)),
      bitString(point),
    );
  }
  throw new AgentCaError('SIGNER_UNSUPPORTED', `PKCS#11 key type 0x${keyType.toString(16)} is not supported`);
}

// ---- the signer ---------------------------------------------------------------------------

/** Run `fn` in a fresh logged-in R/W session on the token the URI (or the environment) names. */
export async function withSession<T>(
  u: Pkcs11Uri,
  ctx: SignerContext,
  fn: (m: LoadedModule, s: Handle, slot: Handle) => Promise<T> | T,
): Promise<T> {
  const pin = resolvePin(u, ctx);
  const m = acquireModule(resolveModulePath(u, ctx));
  try {
    const slot = findSlot(m, u, ctx);
    const s = openSession(m, slot, pin, true);
    try {
      return await fn(m, s, slot);
    } finally {
      closeSession(m, s);
    }
  } catch (e) {
    throw toAgentCaError(e, 'PKCS#11 key management', {});
  } finally {
    releaseModule(m);
  }
}
