/** Branded primitives: a Serial can't be passed where a KeyUri is expected. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Certificate serial as lowercase hex of the positive DER INTEGER's content, no leading 00. */
export type Serial = Brand<string, 'Serial'>;
export type CrlNumber = Brand<bigint, 'CrlNumber'>;
/** Which CA signed: 'root' | 'intermediate' (hex SKI in stores that hold several). */
export type IssuerId = Brand<string, 'IssuerId'>;
/** A key reference: softkey:..., awskms:..., pkcs11:... (RFC 7512). Never key material. */
export type KeyUri = Brand<string, 'KeyUri'>;

export type KeyType = 'rsa2048' | 'rsa3072' | 'rsa4096' | 'p256' | 'p384' | 'ed25519';
export const KEY_TYPES: readonly KeyType[] = ['rsa2048', 'rsa3072', 'rsa4096', 'p256', 'p384', 'ed25519'];

export type SignatureAlgorithm =
  | 'sha256WithRSAEncryption'
  | 'sha384WithRSAEncryption'
  | 'sha512WithRSAEncryption'
  | 'ecdsaWithSHA256'
  | 'ecdsaWithSHA384'
  | 'Ed25519';

/** The CAs an Authority runs: a root and one intermediate that issues agent certificates. */
export type CaName = 'root' | 'intermediate';
export const CA_NAMES: readonly CaName[] = ['root', 'intermediate'];
