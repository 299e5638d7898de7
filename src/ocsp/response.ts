/**
 * Building OCSPResponses (RFC 6960 §4.2.1). Successful responses are BasicOCSPResponses with
 * ResponderID byKey, GeneralizedTime without fractions everywhere (RFC 5019 §2.2.4 / RFC 5280
 * §4.1.2.5.2), the delegated responder certificate in `certs`, and the nonce echoed when the
 * request had one (RFC 8954 §2.1). Error responses carry only a status and are constants.
 *
 *   OCSPResponse      ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
 *   ResponseBytes     ::= SEQUENCE { responseType OID (id-pkix-ocsp-basic), response OCTET STRING }
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT ... }
 *   ResponseData      ::= SEQUENCE { version [0] DEFAULT v1, responderID, producedAt, responses, responseExtensions [1] }
 *   SingleResponse    ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT, singleExtensions [1] }
 */
import {
  bitString,
  enumerated,
  explicit,
  extension,
  generalizedTime,
  octetString,
  oid,
  sequence,
  tlv,
  Tag,
} from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { AgentCaError } from '../errors.js';
import { reasonCode } from '../store/ports.js';
import type { ResponderIdentity } from './responder-identity.js';
import { OCSP_RESPONSE_STATUS, type CertStatus, type OcspErrorStatus } from './types.js';

export interface SingleResponseInput {
  /** CertID DER: exactly the request's bytes (CertId.raw), or certIdFor() when pre-signing. */
  certIdDer: Buffer;
  status: CertStatus;
  thisUpdate: Date;
  /** Required by RFC 5019 §2.2.4 so that caches know when to refresh. */
  nextUpdate: Date;
}

export interface BasicResponseInput {
  responder: ResponderIdentity;
  producedAt: Date;
  responses: readonly SingleResponseInput[];
  /** The request's nonce (1..32 octets), echoed in responseExtensions. */
  nonce?: Buffer;
}

const GOOD = Buffer.from([0x80, 0x00]); // good [0] IMPLICIT NULL
const UNKNOWN = Buffer.from([0x82, 0x00]); // unknown [2] IMPLICIT UnknownInfo (NULL)
const BASIC_TYPE = oid(Oids.ocspBasic);
const SUCCESSFUL = enumerated(OCSP_RESPONSE_STATUS.successful);

function certStatusDer(s: CertStatus): Buffer {
  switch (s.kind) {
    case 'good':
      return GOOD;
    case 'unknown':
      return UNKNOWN;
    case 'revoked': {
      // RevokedInfo ::= SEQUENCE { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL },
      // as revoked [1] IMPLICIT. `unspecified` is left out, as RFC 5280 §5.3.1 asks of CRL
      // entries (and CA/B BR §7.3 of OCSP); removeFromCRL is a CRL-only value (RFC 5280 §5.3.1).
      if (s.reason === 'removeFromCRL')
        throw new AgentCaError(
          'INPUT_REASON_UNKNOWN',
          'removeFromCRL is not a revocation reason an OCSP response can carry',
        );
      const reason = s.reason && s.reason !== 'unspecified' ? explicit(0, enumerated(reasonCode(s.reason))) : undefined;
      return tlv(0xa1, Buffer.concat(reason ? [generalizedTime(s.revokedAt), reason] : [generalizedTime(s.revokedAt)]));
    }
  }
}

export function singleResponseDer(r: SingleResponseInput): Buffer {
  if (r.certIdDer[0] !== Tag.SEQUENCE) throw new AgentCaError('ASN1_ENCODE', 'certIdDer is not a CertID SEQUENCE');
  if (!(r.nextUpdate.getTime() > r.thisUpdate.getTime()))
    throw new AgentCaError('ASN1_ENCODE', 'nextUpdate must be after thisUpdate');
  return sequence(
    r.certIdDer,
    certStatusDer(r.status),
    generalizedTime(r.thisUpdate),
    explicit(0, generalizedTime(r.nextUpdate)),
  );
}

/** ResponseData DER (the bytes the responder signs). */
export function responseDataDer(input: BasicResponseInput): Buffer {
  if (input.responses.length === 0)
    throw new AgentCaError('ASN1_ENCODE', 'a BasicOCSPResponse needs at least one SingleResponse');
  const singles = sequence(...input.responses.map(singleResponseDer));
  let exts: Buffer | undefined;
  if (input.nonce) {
    if (input.nonce.length < 1 || input.nonce.length > 32)
      throw new AgentCaError('ASN1_ENCODE', 'nonce must be 1..32 octets (RFC 8954 §2.1)');
    exts = explicit(1, sequence(extension(Oids.ocspNonce, false, octetString(input.nonce))));
  }
  // version is v1, the DEFAULT, so DER leaves it out (X.690 §11.5).
  return sequence(input.responder.responderId, generalizedTime(input.producedAt), singles, exts);
}

/** Wrap a signed BasicOCSPResponse into a successful OCSPResponse. */
export function wrapBasicResponse(basic: Buffer): Buffer {
  return sequence(SUCCESSFUL, explicit(0, sequence(BASIC_TYPE, octetString(basic))));
}

/** A complete, signed, successful OCSPResponse (DER). */
export async function buildBasicResponse(input: BasicResponseInput): Promise<Buffer> {
  const tbs = responseDataDer(input);
  const r = input.responder;
  const signature = await r.signer.sign(tbs);
  return wrapBasicResponse(sequence(tbs, r.signatureAlgorithm, bitString(signature), r.certsField));
}

const ERROR_RESPONSES: Readonly<Record<OcspErrorStatus, Buffer>> = {
  malformedRequest: sequence(enumerated(OCSP_RESPONSE_STATUS.malformedRequest)),
  internalError: sequence(enumerated(OCSP_RESPONSE_STATUS.internalError)),
  tryLater: sequence(enumerated(OCSP_RESPONSE_STATUS.tryLater)),
  sigRequired: sequence(enumerated(OCSP_RESPONSE_STATUS.sigRequired)),
  unauthorized: sequence(enumerated(OCSP_RESPONSE_STATUS.unauthorized)),
};

/**
 * OCSPResponse with only responseStatus (RFC 6960 §4.2.1: no responseBytes, and unsigned).
 * Shared constant: do not mutate the returned buffer.
 */
export function errorResponse(status: OcspErrorStatus): Buffer {
  const der = ERROR_RESPONSES[status];
  if (!der) throw new AgentCaError('INPUT_INVALID', `not an OCSP error status: ${String(status)}`);
  return der;
}
