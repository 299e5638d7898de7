/**
 * The Signer port: the only way a CA (or agent) private key is used. A signer is addressed by
 * a key URI (`softkey:`, `awskms:`, `pkcs11:` per RFC 7512) and never exposes key material.
 */
import type { Clock } from '../clock.js';
import type { KeyType, KeyUri, SignatureAlgorithm } from '../types.js';

export interface Signer {
  readonly keyUri: KeyUri;
  readonly keyType: KeyType;
  /** The X.509 signature algorithm this signer produces (RFC 5280 §4.1.1.2). */
  readonly algorithm: SignatureAlgorithm;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKeyInfo: Buffer;
  /**
   * Sign `data` (the whole TBS; the signer hashes). Returns the signature as X.509 carries it:
   * PKCS#1 v1.5 bytes, ECDSA as DER Ecdsa-Sig-Value (RFC 3279 §2.2.3), Ed25519 raw 64 bytes.
   */
  sign(data: Uint8Array): Promise<Buffer>;
  close?(): Promise<void>;
}

/** Key lifecycle beside signing, for backends that can create and destroy keys (KMS, HSM, softkey). */
export interface KeyManager {
  readonly scheme: string;
  createKey(spec: { keyType: KeyType; label?: string }): Promise<KeyUri>;
  /** Schedules destruction (KMS: 7-30 days pending window). Returns when deletion takes effect. */
  scheduleKeyDeletion(uri: KeyUri, pendingWindowDays: number): Promise<Date>;
}

/** What an opener may need from the authority: where softkeys live, the passphrase, env. */
export interface SignerContext {
  dataDir?: string;
  passphrase?: string;
  env?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
}

export type SignerOpener = (uri: KeyUri, ctx: SignerContext) => Promise<Signer>;
export type KeyManagerFactory = (ctx: SignerContext) => KeyManager;
