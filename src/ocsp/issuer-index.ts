/**
 * Which of our CAs a CertID names (RFC 6960 §4.1.1: issuerNameHash + issuerKeyHash under the
 * CertID's hash algorithm). Hashes are computed once per issuer and per algorithm; a lookup is
 * a handful of 20..64-byte comparisons. A CertID naming no CA of ours is answered
 * `unauthorized` (RFC 6960 §2.3: the server cannot respond authoritatively).
 */
import { AgentCaError } from '../errors.js';
import type { IssuerId } from '../types.js';
import { issuerHashes, type IssuerKeyInfo } from './cert-id.js';
import { OCSP_HASH_ALGORITHMS, type CertId, type OcspHashAlgorithm } from './types.js';

export interface IndexedIssuer extends IssuerKeyInfo {
  id: IssuerId;
}

interface Entry {
  id: IssuerId;
  nameHash: Buffer;
  keyHash: Buffer;
}

export class IssuerIndex {
  private readonly byAlg: ReadonlyMap<OcspHashAlgorithm, readonly Entry[]>;
  private readonly issuers: ReadonlyMap<IssuerId, IndexedIssuer>;

  constructor(issuers: readonly IndexedIssuer[]) {
    const ids = new Map<IssuerId, IndexedIssuer>();
    for (const i of issuers) {
      if (ids.has(i.id)) throw new AgentCaError('CONFIG_INVALID', `issuer ${i.id} indexed twice`);
      ids.set(i.id, i);
    }
    const byAlg = new Map<OcspHashAlgorithm, Entry[]>();
    for (const alg of OCSP_HASH_ALGORITHMS) {
      byAlg.set(
        alg,
        issuers.map((i) => {
          const h = issuerHashes(i, alg);
          return { id: i.id, nameHash: h.issuerNameHash, keyHash: h.issuerKeyHash };
        }),
      );
    }
    this.byAlg = byAlg;
    this.issuers = ids;
  }

  /** The issuer a CertID names, or undefined when it is none of ours. */
  lookup(certId: Pick<CertId, 'hashAlgorithm' | 'issuerNameHash' | 'issuerKeyHash'>): IssuerId | undefined {
    const entries = this.byAlg.get(certId.hashAlgorithm);
    if (!entries) return undefined;
    for (const e of entries) {
      // Key hash first: it differs between any two CAs, names may not (re-keyed CA).
      if (e.keyHash.equals(certId.issuerKeyHash) && e.nameHash.equals(certId.issuerNameHash)) return e.id;
    }
    return undefined;
  }

  issuer(id: IssuerId): IndexedIssuer | undefined {
    return this.issuers.get(id);
  }

  get ids(): IssuerId[] {
    return [...this.issuers.keys()];
  }
}

/** Index built from parsed CA certificates (e.g. `authority.ca('root').certificate`). */
export function issuerIndexFromCertificates(
  cas: readonly { id: IssuerId; certificate: { subject: Buffer; publicKeyInfo: Buffer } }[],
): IssuerIndex {
  return new IssuerIndex(
    cas.map((c) => ({ id: c.id, subjectDer: c.certificate.subject, publicKeyInfo: c.certificate.publicKeyInfo })),
  );
}
