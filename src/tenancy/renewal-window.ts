/**
 * When an agent should renew, in the manner of ACME Renewal Information (RFC 9773 §4.2): a
 * suggested window { start, end } and a Retry-After for polling. A good certificate's window
 * runs from 2/3 of its lifetime to 5/6 of it, so a renewal
 * retried for a while still lands well before notAfter (Let's Encrypt's choice for ARI). A
 * revoked, held or superseded certificate, or one whose agent drifted from its registration,
 * gets a window that has already begun (RFC 9773 §4.2: "renew immediately").
 */
import type { RenewalInfo } from '../client/types.js';
import type { Drift } from './drift.js';

export type { RenewalInfo };

const RETRY_AFTER_SECONDS = 6 * 3600;

export function renewalWindow(c: {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  state: string;
  superseded?: string;
  drift: Drift[];
  now: Date;
}): RenewalInfo {
  const life = c.notAfter.getTime() - c.notBefore.getTime();
  let start = new Date(c.notBefore.getTime() + Math.floor((life * 2) / 3));
  let end = new Date(c.notBefore.getTime() + Math.floor((life * 5) / 6));
  let explanation: string | undefined;
  if (c.state === 'revoked' || c.state === 'held') explanation = `certificate is ${c.state}`;
  else if (c.superseded) explanation = `certificate superseded: ${c.superseded}`;
  else if (c.drift.length)
    explanation = `registration changed since this certificate: ${c.drift.map((d) => d.field).join(', ')}`;
  if (explanation) {
    // Already open: start a minute back so clocks a little behind ours still see it open.
    start = new Date(c.now.getTime() - 60_000);
    end = new Date(Math.max(c.now.getTime(), Math.min(end.getTime(), c.notAfter.getTime())));
  }
  const untilStart = Math.ceil((start.getTime() - c.now.getTime()) / 1000);
  return {
    serial: c.serial,
    suggestedWindow: { start: start.toISOString(), end: end.toISOString() },
    retryAfterSeconds: Math.max(60, Math.min(RETRY_AFTER_SECONDS, untilStart > 0 ? untilStart : RETRY_AFTER_SECONDS)),
    notAfter: c.notAfter.toISOString(),
    ...(explanation ? { explanation } : {}),
    drift: c.drift,
  };
}
