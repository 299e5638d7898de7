/**
 * Relying-party OCSP (RFC 6960): ask the responder named in the agent certificate's AIA, and
 * believe the answer only if (§3.2) the CertID is the one we asked about, the signature
 * verifies with the issuing CA's key or with a delegated responder certificate that this CA
 * issued with id-kp-OCSPSigning (§4.2.2.2), and thisUpdate/nextUpdate bracket `now`
 * (RFC 5019 §4: a response past nextUpdate is not used). Anything else: status unknown.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { describeCertificate } from '../asn1/certificate-describe.js';
import { parseCertificate, type ParsedCertificate } from '../asn1/certificate-parse.js';
import { certIdFor } from '../ocsp/cert-id.js';
import { parseCertIdDer } from '../ocsp/request.js';
import { parseOcspResponse, verifyBasicResponse, type ParsedBasicResponse } from '../ocsp/response-parse.js';
import { subjectPublicKeyBits } from '../signer/public-key.js';
import { fetchBytes } from './fetch-bytes.js';
import { ocspRequestDer } from '../ocsp/request-encode.js';
import type { OcspStatusOptions, ReportedCertStatus, StatusQuery } from './types.js';

export type StatusOutcome = { ok: true; status: ReportedCertStatus; source: string } | { ok: false; detail: string };

const MAX_RESPONSE_BYTES = 64 * 1024;
/** Tolerated clock difference between us and the responder. */
const SKEW_MS = 5 * 60_000;
/** A response without nextUpdate (allowed by RFC 6960, not by RFC 5019) is used for this long. */
const NO_NEXT_UPDATE_MAX_AGE_MS = 60 * 60_000;

function responderKeyOk(basic: ParsedBasicResponse, c: ParsedCertificate): boolean {
  const id = basic.responderId;
  if ('byKey' in id) return createHash('sha1').update(subjectPublicKeyBits(c.publicKeyInfo)).digest().equals(id.byKey);
  return id.byName.equals(c.subject);
}

function hasOcspSigning(der: Buffer): boolean {
  try {
    return describeCertificate(der).extendedKeyUsage?.includes('ocspSigning') ?? false;
  } catch {
    return false;
  }
}

/** Which key signed the response: the CA itself, or a delegated responder it certified. */
function verifyResponder(basic: ParsedBasicResponse, issuerDer: Buffer, now: Date): string | undefined {
  const issuer = parseCertificate(issuerDer);
  if (responderKeyOk(basic, issuer)) {
    return verifyBasicResponse(basic, issuer.publicKeyInfo)
      ? undefined
      : 'OCSP response signature does not verify with the issuing CA key';
  }
  const issuerX = new X509Certificate(issuerDer);
  for (const der of basic.certs) {
    const c = parseCertificate(der);
    if (!responderKeyOk(basic, c)) continue;
    const x = new X509Certificate(der);
    if (!x.checkIssued(issuerX) || !x.verify(issuerX.publicKey))
      return 'the OCSP responder certificate was not issued by the agent certificate issuer (RFC 6960 §4.2.2.2)';
    if (!hasOcspSigning(der)) return 'the OCSP responder certificate lacks id-kp-OCSPSigning';
    if (now < c.notBefore || now > c.notAfter) return 'the OCSP responder certificate is outside its validity period';
    return verifyBasicResponse(basic, c.publicKeyInfo)
      ? undefined
      : 'OCSP response signature does not verify with the responder certificate';
  }
  return 'the OCSP response is signed by neither the issuing CA nor a responder certificate it carries';
}

export function ocspUrlOf(certificate: Buffer): string | undefined {
  return describeCertificate(certificate).ocsp?.[0];
}

export async function ocspStatus(q: StatusQuery, opts: OcspStatusOptions = {}): Promise<StatusOutcome> {
  const url = opts.url ?? ocspUrlOf(q.certificate);
  if (!url) return { ok: false, detail: 'the agent certificate names no OCSP responder (AIA) and none was given' };
  const leaf = parseCertificate(q.certificate);
  const issuer = parseCertificate(q.issuer);
  const hash = opts.hash ?? 'sha256';
  const certIdDer = certIdFor(
    { subjectDer: issuer.subject, publicKeyInfo: issuer.publicKeyInfo },
    leaf.serialMagnitude,
    hash,
  );
  const asked = parseCertIdDer(certIdDer);
  const nonce = opts.nonce ? randomBytes(16) : undefined;
  let der: Buffer;
  try {
    der = await fetchBytes(url, {
      method: 'POST',
      body: ocspRequestDer(certIdDer, nonce),
      contentType: 'application/ocsp-request',
      accept: 'application/ocsp-response',
      timeoutMs: opts.timeoutMs ?? 5000,
      maxBytes: MAX_RESPONSE_BYTES,
    });
  } catch (e) {
    return { ok: false, detail: `OCSP responder ${url} unreachable: ${(e as Error).message}` };
  }
  let basic: ParsedBasicResponse;
  try {
    const parsed = parseOcspResponse(der);
    if (parsed.status !== 'successful' || !parsed.basic)
      return { ok: false, detail: `OCSP responder ${url} answered ${parsed.status}` };
    basic = parsed.basic;
  } catch (e) {
    return { ok: false, detail: `OCSP response from ${url} is not DER OCSP: ${(e as Error).message}` };
  }
  let problem: string | undefined;
  try {
    problem = verifyResponder(basic, q.issuer, q.now);
  } catch (e) {
    problem = `OCSP responder certificate unreadable: ${(e as Error).message}`;
  }
  if (problem) return { ok: false, detail: problem };
  if (nonce && basic.nonce && !basic.nonce.equals(nonce))
    return { ok: false, detail: 'OCSP response nonce does not match the request (RFC 8954)' };
  const single = basic.responses.find(
    (r) =>
      r.certId.hashAlgorithm === asked.hashAlgorithm &&
      r.certId.serial === asked.serial &&
      r.certId.issuerNameHash.equals(asked.issuerNameHash) &&
      r.certId.issuerKeyHash.equals(asked.issuerKeyHash),
  );
  if (!single) return { ok: false, detail: 'the OCSP response does not answer for this certificate (CertID mismatch)' };
  const now = q.now.getTime();
  if (single.thisUpdate.getTime() > now + SKEW_MS)
    return { ok: false, detail: `OCSP thisUpdate ${single.thisUpdate.toISOString()} is in the future` };
  if (
    single.nextUpdate
      ? single.nextUpdate.getTime() < now - SKEW_MS
      : single.thisUpdate.getTime() < now - NO_NEXT_UPDATE_MAX_AGE_MS
  ) {
    return {
      ok: false,
      detail: `OCSP response is stale (thisUpdate ${single.thisUpdate.toISOString()}, nextUpdate ${single.nextUpdate?.toISOString() ?? 'absent'})`,
    };
  }
  const source = `ocsp ${url}`;
  switch (single.status.kind) {
    case 'good':
      return { ok: true, status: { state: 'good' }, source };
    case 'unknown':
      return { ok: true, status: { state: 'unknown' }, source };
    case 'revoked': {
      const s = single.status;
      return {
        ok: true,
        status: {
          state: s.reason === 'certificateHold' ? 'held' : 'revoked',
          revokedAt: s.revokedAt,
          ...(s.reason ? { reason: s.reason } : {}),
        },
        source,
      };
    }
  }
}
