/**
 * One entry point for "is this agent certificate revoked?", whatever the source: a callback
 * (an embedder that has the authority: `(s) => authority.show(s).then((v) => v.status)`),
 * OCSP to the AIA responder, or the full CRL at the CRL DP. A callback that throws is a
 * status that could not be established, never "good".
 */
import { crlStatus } from './crl-status.js';
import { ocspStatus, type StatusOutcome } from './ocsp-status.js';
import type { StatusQuery, StatusSource } from './types.js';

export async function checkStatus(source: StatusSource, q: StatusQuery): Promise<StatusOutcome> {
  if (typeof source === 'function') {
    try {
      return { ok: true, status: await source(q.serial, q), source: 'callback' };
    } catch (e) {
      return { ok: false, detail: `status callback failed: ${(e as Error)?.message ?? String(e)}` };
    }
  }
  if (source === 'ocsp') return ocspStatus(q);
  if (source === 'crl') return crlStatus(q);
  if ('ocsp' in source) return ocspStatus(q, source.ocsp);
  return crlStatus(q, source.crl);
}
