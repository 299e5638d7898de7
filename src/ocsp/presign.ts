/**
 * Pre-signing: one complete OCSPResponse per (serial, CertID hash algorithm). The signature
 * covers the CertID, and RFC 6960 §3.2 has clients match the response's CertID to
 * the request's, so a response signed over a SHA-1 CertID cannot answer a SHA-256 request;
 * storing SingleResponse pieces would not help either, since they would still need a fresh
 * signature. See README.md for the choice (SHA-1 + SHA-256 pre-signed, others live).
 */
import { AgentCaError } from '../errors.js';
import type { Serial } from '../types.js';
import { certIdFor, issuerHashes, type IssuerHashes, type IssuerKeyInfo } from './cert-id.js';
import type { ResponderIdentity } from './responder-identity.js';
import { buildBasicResponse } from './response.js';
import type { CertStatus, OcspHashAlgorithm } from './types.js';

/** SHA-1 because RFC 5019 §2.1.1 clients (OpenSSL's default, browsers, Go) send it; SHA-256, which RFC 9919 (obsoleting RFC 5019) recommends instead. */
export const DEFAULT_PRESIGN_HASHES: readonly OcspHashAlgorithm[] = ['sha1', 'sha256'];

export interface PresignInput {
  /** The delegated responder certified by `issuer` (RFC 6960 §4.2.2.2). */
  responder: ResponderIdentity;
  issuer: IssuerKeyInfo;
  serial: Serial;
  status: CertStatus;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Default: thisUpdate. */
  producedAt?: Date;
  hashes?: readonly OcspHashAlgorithm[];
}

export interface PresignedResponse {
  hashAlgorithm: OcspHashAlgorithm;
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
}

export function serialMagnitude(serial: Serial | string): Buffer {
  if (!/^(?:[0-9a-f]{2}){1,20}$/.test(serial))
    throw new AgentCaError('INPUT_SERIAL_MALFORMED', `not a canonical serial: ${JSON.stringify(serial)}`);
  return Buffer.from(serial, 'hex');
}

const hashCache = new WeakMap<IssuerKeyInfo, Map<OcspHashAlgorithm, IssuerHashes>>();

/** Issuer hashes, memoised per issuer object: a refresh pre-signs every serial of a CA. */
function cachedHashes(issuer: IssuerKeyInfo, alg: OcspHashAlgorithm): IssuerHashes {
  let m = hashCache.get(issuer);
  if (!m) hashCache.set(issuer, (m = new Map<OcspHashAlgorithm, IssuerHashes>()));
  let h = m.get(alg);
  if (!h) m.set(alg, (h = issuerHashes(issuer, alg)));
  return h;
}

/** One signed response per hash algorithm (each its own signature), same status and times. */
export async function presignForSerial(input: PresignInput): Promise<PresignedResponse[]> {
  const magnitude = serialMagnitude(input.serial);
  const hashes = input.hashes ?? DEFAULT_PRESIGN_HASHES;
  const out: PresignedResponse[] = [];
  for (const hashAlgorithm of hashes) {
    const der = await buildBasicResponse({
      responder: input.responder,
      producedAt: input.producedAt ?? input.thisUpdate,
      responses: [
        {
          certIdDer: certIdFor(cachedHashes(input.issuer, hashAlgorithm), magnitude, hashAlgorithm),
          status: input.status,
          thisUpdate: input.thisUpdate,
          nextUpdate: input.nextUpdate,
        },
      ],
    });
    out.push({ hashAlgorithm, der, thisUpdate: input.thisUpdate, nextUpdate: input.nextUpdate });
  }
  return out;
}
