/**
 * The smallest OCSPRequest a relying party needs (RFC 6960 §4.1.1): one CertID, unsigned,
 * optionally an RFC 8954 nonce.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest }
 *   TBSRequest  ::= SEQUENCE { requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID }
 *
 * version is DEFAULT v1 and so omitted (X.690 §11.5).
 */
import { explicit, extension, octetString, sequence } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';

export function ocspRequestDer(certIdDer: Uint8Array, nonce?: Uint8Array): Buffer {
  // RFC 8954 §2.1: extnValue is the DER of Nonce ::= OCTET STRING (1..32).
  const extensions = nonce ? explicit(2, sequence(extension(Oids.ocspNonce, false, octetString(nonce)))) : undefined;
  return sequence(sequence(sequence(sequence(certIdDer)), extensions));
}
