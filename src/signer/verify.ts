/**
 * One check for every X.509-style signature we read back (certificates, CSRs, CRLs, OCSP
 * responses): the signature algorithm from its OID, the digest it implies, the signer's SPKI.
 * An unsupported algorithm (SHA-1 included) or an unusable key is simply "does not verify".
 */
import { verify as cryptoVerify } from 'node:crypto';
import type { SignatureAlgorithm } from '../types.js';
import { algorithmByOid, algorithmInfo } from './algorithms.js';
import { publicKeyFromSpki } from './public-key.js';

export function verifySignature(
  algorithm: string, // a SignatureAlgorithm name or a signature algorithm OID
  data: Uint8Array,
  publicKeyInfo: Uint8Array,
  signature: Uint8Array,
): boolean {
  const alg = algorithm.includes('.') ? algorithmByOid(algorithm) : (algorithm as SignatureAlgorithm);
  if (!alg) return false;
  try {
    return cryptoVerify(algorithmInfo(alg).digest, data, publicKeyFromSpki(publicKeyInfo), signature);
  } catch {
    return false;
  }
}
