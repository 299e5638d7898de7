/**
 * The delegated OCSP responder that signs for one CA (RFC 6960 §4.2.2.2): its signer, its
 * certificate (issued by that CA, with id-kp-OCSPSigning) and the parts of every response
 * that depend only on it, encoded once: ResponderID byKey, signatureAlgorithm, and `certs`.
 */
import { createHash } from 'node:crypto';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { childrenOf, content, decodeOid, readWhole } from '../asn1/der-reader.js';
import { explicit, octetString, sequence, Tag } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { AgentCaError } from '../errors.js';
import { algorithmInfo } from '../signer/algorithms.js';
import { subjectPublicKeyBits } from '../signer/public-key.js';
import type { Signer } from '../signer/signer.js';

export interface ResponderIdentity {
  readonly signer: Signer;
  /** The delegated responder certificate, DER. */
  readonly certificate: Buffer;
  /** SHA-1 of the responder's subjectPublicKey bits (RFC 6960 §4.2.2.3 KeyHash). */
  readonly keyHash: Buffer;
  /** ResponderID ::= CHOICE { ..., byKey [2] KeyHash } (EXPLICIT tagging module, RFC 6960 §4.2.1). */
  readonly responderId: Buffer;
  readonly signatureAlgorithm: Buffer;
  /** certs [0] EXPLICIT SEQUENCE OF Certificate: the responder certificate only (RFC 6960 §4.2.2.2). */
  readonly certsField: Buffer;
}

function hasOcspSigning(cert: ReturnType<typeof parseCertificate>): boolean {
  const eku = cert.extensions.find((e) => e.oid === Oids.extKeyUsage);
  if (!eku) return false;
  const seq = readWhole(eku.value, Tag.SEQUENCE, 'extKeyUsage');
  return childrenOf(eku.value, seq, 'extKeyUsage').some(
    (t) => t.tag === Tag.OID && decodeOid(content(eku.value, t)) === Oids.kpOcspSigning,
  );
}

/**
 * Checks that `signer` holds the key of `certificateDer` and that the certificate may sign
 * OCSP responses; a CA certificate (no id-kp-OCSPSigning) is refused so that CA keys, which
 * live in a KMS, are never on the request path (docs/architecture.md).
 */
export function responderIdentity(signer: Signer, certificateDer: Uint8Array): ResponderIdentity {
  const certificate = Buffer.from(certificateDer);
  const parsed = parseCertificate(certificate);
  if (!parsed.publicKeyInfo.equals(signer.publicKeyInfo)) {
    throw new AgentCaError(
      'CONFIG_INVALID',
      `OCSP responder key ${signer.keyUri} does not match the responder certificate`,
    );
  }
  if (!hasOcspSigning(parsed)) {
    throw new AgentCaError(
      'CONFIG_INVALID',
      'the OCSP responder certificate lacks id-kp-OCSPSigning (RFC 6960 §4.2.2.2)',
    );
  }
  const keyHash = createHash('sha1').update(subjectPublicKeyBits(parsed.publicKeyInfo)).digest();
  return Object.freeze({
    signer,
    certificate,
    keyHash,
    responderId: explicit(2, octetString(keyHash)),
    signatureAlgorithm: algorithmInfo(signer.algorithm).identifier,
    certsField: explicit(0, sequence(certificate)),
  });
}
