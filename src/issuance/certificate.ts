/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } (RFC 5280 §4.1.1). */
import { bitString, sequence } from '../asn1/der.js';
import { algorithmInfo } from '../signer/algorithms.js';
import type { SignatureAlgorithm } from '../types.js';

export function assembleSigned(tbsDer: Buffer, algorithm: SignatureAlgorithm, signature: Buffer): Buffer {
  return sequence(tbsDer, algorithmInfo(algorithm).identifier, bitString(signature));
}
