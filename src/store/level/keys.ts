/**
 * LevelDB key layout. Keys are UTF-8 strings `<prefix>!<component>!...`; every variable
 * component is escaped so it never contains '!' (nor any byte below '%'), which makes
 * `[P!, P")` exactly the range of keys under prefix P ('"' is the byte after '!').
 * Numbers that must sort (times, seqs, CRL numbers) are zero-padded to a fixed width.
 *
 *   c!<serial>                          certificate record
 *   ci!<issuer>!<serial>                index: certificates by issuer
 *   ca!<agentId>!<serial>               index: certificates by agent
 *   ct!<tenant>!<serial>                index: certificates by tenant
 *   ce!<notAfter>!<serial>              index: certificates by expiry
 *   r!<serial>                          revocation record (lookup by serial)
 *   ri!<issuer>!<serial>                revocation record again (streamed per issuer for CRLs)
 *   sc!<issuer>!<seq>                   status change journal (delta CRLs)
 *   o!<issuer>!<serial>                 OCSP response
 *   od!<nextUpdate>!<issuer>!<serial>   index: OCSP responses by nextUpdate (refresher)
 *   l!<issuer>!<crlNumber>              CRL
 *   lk!<issuer>!<kind>                  latest CRL number of a kind
 *   a!<seq>                             audit entry
 *   at!<time>!<seq>                     index: audit entries by time
 *   ak!<seq>                            audit checkpoint
 *   m!<key>                             meta value
 *   x!<name>                            counters: changeSeq, certCount, crl!<issuer>
 */

export interface KeyRange {
  gte: string;
  lt: string;
}

/** Escape a free-form component (agent ids, tenants, meta keys) so it cannot contain '!'. */
export function esc(component: string): string {
  return encodeURIComponent(component).replace(/!/g, '%21');
}

export function unesc(component: string): string {
  return decodeURIComponent(component);
}

/** Signed ms since the epoch, shifted to be non-negative, 17 digits (covers ±8.64e15). */
export function padTime(ms: number): string {
  return String(ms + 8_640_000_000_000_000).padStart(17, '0');
}

export function padSeq(seq: number): string {
  return String(seq).padStart(16, '0');
}

/** CRLNumber is at most 20 octets (RFC 5280 §5.2.3): < 2^160 < 10^49. */
export function padCrlNumber(n: bigint): string {
  return n.toString().padStart(49, '0');
}

/** All keys that start with `parts.join('!') + '!'`. */
export function under(...parts: string[]): KeyRange {
  const p = parts.join('!');
  return { gte: `${p}!`, lt: `${p}"` };
}

export const K = {
  cert: (serial: string) => `c!${esc(serial)}`,
  certByIssuer: (issuer: string, serial: string) => `ci!${esc(issuer)}!${esc(serial)}`,
  certByAgent: (agentId: string, serial: string) => `ca!${esc(agentId)}!${esc(serial)}`,
  certByTenant: (tenant: string, serial: string) => `ct!${esc(tenant)}!${esc(serial)}`,
  certByExpiry: (notAfter: Date, serial: string) => `ce!${padTime(notAfter.getTime())}!${esc(serial)}`,
  revocation: (serial: string) => `r!${esc(serial)}`,
  revocationByIssuer: (issuer: string, serial: string) => `ri!${esc(issuer)}!${esc(serial)}`,
  change: (issuer: string, seq: number) => `sc!${esc(issuer)}!${padSeq(seq)}`,
  ocsp: (issuer: string, serial: string, hash: string) => `o!${esc(issuer)}!${esc(serial)}!${esc(hash)}`,
  ocspDue: (nextUpdate: Date, issuer: string, serial: string, hash: string) =>
    `od!${padTime(nextUpdate.getTime())}!${esc(issuer)}!${esc(serial)}!${esc(hash)}`,
  crl: (issuer: string, n: bigint) => `l!${esc(issuer)}!${padCrlNumber(n)}`,
  crlLatest: (issuer: string, kind: string) => `lk!${esc(issuer)}!${kind}`,
  crlCounter: (issuer: string) => `x!crl!${esc(issuer)}`,
  changeSeq: 'x!changeSeq',
  certCount: 'x!certCount',
  audit: (seq: number) => `a!${padSeq(seq)}`,
  auditByTime: (time: Date, seq: number) => `at!${padTime(time.getTime())}!${padSeq(seq)}`,
  checkpoint: (seq: number) => `ak!${padSeq(seq)}`,
  meta: (key: string) => `m!${esc(key)}`,
} as const;

/** The last '!'-separated component of a key (the serial of an index key, the seq of at!). */
export function lastComponent(key: string): string {
  return key.slice(key.lastIndexOf('!') + 1);
}
