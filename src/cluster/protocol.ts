/**
 * Messages between the `serve --workers N` primary and its node:cluster workers (IPC,
 * docs/storage-postgres.md "serve --workers").
 *
 * LevelDB: the primary owns the store and the signers; after every commit that changes what a
 * worker may have cached (a status, a pre-signed OCSP response, a certificate, a CRL) it sends
 * `invalidate` to every worker and waits for each `ack` before the commit returns, so a
 * revocation acknowledged by the API is already visible in every worker's OCSP answer.
 * PostgreSQL: workers are peers; `risk-owner` tells them where risk events are ingested.
 */
import type { WriteOp } from '../store/ports.js';

/** Primary -> worker: drop cached answers. */
export interface InvalidateMessage {
  t: 'invalidate';
  gen: number;
  /** Serials whose OCSP and verify answers must be dropped. */
  serials: string[];
  /** Drop the cached CRLs. */
  crls: boolean;
  /** Drop everything (a CA's own status changed, or too many serials to list). */
  all: boolean;
}

/** Worker -> primary: invalidation `gen` applied. */
export interface AckMessage {
  t: 'ack';
  gen: number;
}

/** Worker -> primary: the public listener is up. */
export interface ListeningMessage {
  t: 'listening';
  url: string;
  /** The risk owner's private loopback URL (PostgreSQL peers, worker 0). */
  riskUrl?: string;
}

/** Primary -> PostgreSQL peers: where risk events and notifications are served. */
export interface RiskOwnerMessage {
  t: 'risk-owner';
  url: string;
}

export type ClusterMessage = InvalidateMessage | AckMessage | ListeningMessage | RiskOwnerMessage;

export function isClusterMessage(m: unknown): m is ClusterMessage {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

/** Beyond this many serials one commit invalidates everything (bulk loads). */
const MAX_LISTED_SERIALS = 4096;

/**
 * What a committed batch invalidates in the workers' caches, or undefined when nothing
 * (audit entries, meta): certificates (an `unknown` answer may be cached), revocations and
 * their removal, OCSP responses (re-signed or refreshed), CRLs. A status change of one of the
 * CA certificates (`caSerials`) changes every verify answer's chain: everything is dropped.
 */
export function invalidationFor(
  batch: readonly WriteOp[],
  caSerials: ReadonlySet<string>,
): Omit<InvalidateMessage, 't' | 'gen'> | undefined {
  const serials = new Set<string>();
  let crls = false;
  let all = false;
  for (const op of batch) {
    switch (op.op) {
      case 'putCertificate':
      case 'putRevocation':
      case 'putOcspResponse':
        serials.add(op.record.serial);
        break;
      case 'deleteRevocation':
        serials.add(op.serial);
        break;
      case 'putCrl':
        crls = true;
        break;
      default:
        break;
    }
  }
  if (serials.size === 0 && !crls) return undefined;
  for (const s of serials) if (caSerials.has(s)) all = true;
  if (serials.size > MAX_LISTED_SERIALS) all = true;
  return { serials: all ? [] : [...serials], crls: crls || all, all };
}
