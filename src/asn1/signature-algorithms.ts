/**
 * Signature algorithm facts in one place: the AlgorithmIdentifier DER for each (RFC 4055 §5:
 * RSA with NULL params; RFC 5758 §3.2: ECDSA with params absent; RFC 8410 §3: Ed25519 absent),
 * the digest, and the default algorithm for a key type. SHA-1 is deliberately not here.
 */
import { algorithmIdentifier } from './der.js';
import { Oids } from './oids.js';
import { AgentCaError } from '../errors.js';
import type { KeyType, SignatureAlgorithm } from '../types.js';

export interface AlgorithmInfo {
  oid: string;
  /** node:crypto digest name, or null for Ed25519 (PureEdDSA). */
  digest: 'sha256' | 'sha384' | 'sha512' | null;
  family: 'rsa' | 'ecdsa' | 'ed25519';
  identifier: Buffer;
}

const table: Record<SignatureAlgorithm, Omit<AlgorithmInfo, 'identifier'> & { params: 'null' | 'absent' }> = {
  sha256WithRSAEncryption: { oid: Oids.sha256WithRSAEncryption, digest: 'sha256', family: 'rsa', params: 'null' },
  sha384WithRSAEncryption: { oid: Oids.sha384WithRSAEncryption, digest: 'sha384', family: 'rsa', params: 'null' },
  sha512WithRSAEncryption: { oid: Oids.sha512WithRSAEncryption, digest: 'sha512', family: 'rsa', params: 'null' },
  ecdsaWithSHA256: { oid: Oids.ecdsaWithSHA256, digest: 'sha256', family: 'ecdsa', params: 'absent' },
  ecdsaWithSHA384: { oid: Oids.ecdsaWithSHA384, digest: 'sha384', family: 'ecdsa', params: 'absent' },
  Ed25519: { oid: Oids.ed25519, digest: null, family: 'ed25519', params: 'absent' },
};

const infos = new Map<SignatureAlgorithm, AlgorithmInfo>();
for (const [name, t] of Object.entries(table) as [SignatureAlgorithm, (typeof table)[SignatureAlgorithm]][]) {
  infos.set(
    name,
    Object.freeze({ oid: t.oid, digest: t.digest, family: t.family, identifier: algorithmIdentifier(t.oid, t.params) }),
  );
}

export function algorithmInfo(alg: SignatureAlgorithm): AlgorithmInfo {
  const info = infos.get(alg);
  if (!info) throw new AgentCaError('SIGNER_UNSUPPORTED', `unsupported signature algorithm ${alg}`);
  return info;
}

export function algorithmByOid(oid: string): SignatureAlgorithm | undefined {
  for (const [name, t] of Object.entries(table)) if (t.oid === oid) return name as SignatureAlgorithm;
  return undefined;
}

/** sha256WithRSAEncryption is the baseline; P-384 pairs with SHA-384 (RFC 5480 §4). */
export function defaultAlgorithm(keyType: KeyType): SignatureAlgorithm {
  switch (keyType) {
    case 'rsa2048':
    case 'rsa3072':
    case 'rsa4096':
      return 'sha256WithRSAEncryption';
    case 'p256':
      return 'ecdsaWithSHA256';
    case 'p384':
      return 'ecdsaWithSHA384';
    case 'ed25519':
      return 'Ed25519';
  }
}
