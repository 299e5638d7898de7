/**
 * Building CertIDs (RFC 6960 §4.1.1) for an issuer we know, to pre-sign responses before any
 * request arrives and to index issuers: issuerNameHash = H(issuer's subject Name DER),
 * issuerKeyHash = H(subjectPublicKey BIT STRING contents, without tag, length and unused-bits).
 */
import { createHash } from 'node:crypto';
import { algorithmIdentifier, octetString, sequence, unsignedInteger } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { subjectPublicKeyBits } from '../signer/public-key.js';
import type { OcspHashAlgorithm } from './types.js';

/** What identifies an issuer in a CertID: its certificate's subject and public key. */
export interface IssuerKeyInfo {
  /** The issuer certificate's subject Name, DER (= the issuer Name of what it signs). */
  subjectDer: Buffer;
  /** The issuer certificate's SubjectPublicKeyInfo, DER. */
  publicKeyInfo: Buffer;
}

export interface IssuerHashes {
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
}

/**
 * Hash AlgorithmIdentifiers as OpenSSL writes them in CertIDs (parameters NULL). Requests that
 * omit the parameters still match (request.ts accepts both); the response then carries this
 * encoding, which clients compare by OID (OpenSSL OCSP_id_issuer_cmp, RFC 5754 §2).
 */
const HASH_ALG_IDS: Readonly<Record<OcspHashAlgorithm, Buffer>> = {
  sha1: algorithmIdentifier(Oids.sha1, 'null'),
  sha256: algorithmIdentifier(Oids.sha256, 'null'),
  sha384: algorithmIdentifier(Oids.sha384, 'null'),
  sha512: algorithmIdentifier(Oids.sha512, 'null'),
};

export function issuerHashes(issuer: IssuerKeyInfo, hash: OcspHashAlgorithm): IssuerHashes {
  return {
    issuerNameHash: createHash(hash).update(issuer.subjectDer).digest(),
    issuerKeyHash: createHash(hash).update(subjectPublicKeyBits(issuer.publicKeyInfo)).digest(),
  };
}

/** CertID DER for `serialMagnitude` (unsigned big-endian bytes) under `issuer`. */
export function certIdFor(
  issuer: IssuerKeyInfo | IssuerHashes,
  serialMagnitude: Uint8Array,
  hash: OcspHashAlgorithm,
): Buffer {
  const h = 'issuerNameHash' in issuer ? issuer : issuerHashes(issuer, hash);
  return sequence(
    HASH_ALG_IDS[hash],
    octetString(h.issuerNameHash),
    octetString(h.issuerKeyHash),
    unsignedInteger(serialMagnitude),
  );
}
