/**
 * Relying-party CRL check (RFC 5280 §6.3, full CRLs only): fetch the CRL named in the agent
 * certificate's CRL Distribution Points, check it is signed by the certificate's issuer with
 * the same issuer Name (§5.1.2.3, §6.3.3 (f)), that thisUpdate/nextUpdate bracket `now`, that
 * its scope covers an end-entity certificate (IssuingDistributionPoint, §5.2.5) and it is not a
 * delta (§5.2.4), then look the serial up. Delta CRLs are not merged: a full CRL is as fresh as
 * its publication interval, which is why OCSP is the default status source.
 */
import { describeCertificate } from '../asn1/certificate-describe.js';
import { parseCertificate, parseExtensions } from '../asn1/certificate-parse.js';
import {
  childrenOf,
  content,
  decodeOid,
  decodeTime,
  expectTag,
  readWhole,
  slice,
  type Tlv,
} from '../asn1/der-reader.js';
import { Tag } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { serialFromMagnitude } from '../profile/serial.js';
import { reasonFromCode, type RevocationReason } from '../store/ports.js';
import { fetchBytes } from './fetch-bytes.js';
import type { StatusOutcome } from './ocsp-status.js';
import type { CrlStatusOptions, StatusQuery } from './types.js';
import { verifySignature } from '../signer/verify.js';

const MAX_CRL_BYTES = 16 * 1024 * 1024;
const SKEW_MS = 5 * 60_000;

export interface ParsedCrl {
  tbs: Buffer;
  issuer: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
  signatureAlgorithmOid: string;
  signature: Buffer;
  /** Serial (lowercase hex of the magnitude, as parseCertificate writes it) -> entry. */
  entries: Map<string, { revokedAt: Date; reason?: RevocationReason }>;
  extensions: { oid: string; critical: boolean; value: Buffer }[];
}

function isTime(t: Tlv | undefined): boolean {
  return t?.tag === Tag.UTC_TIME || t?.tag === Tag.GENERALIZED_TIME;
}

/** CertificateList (RFC 5280 §5.1), strict DER. Throws Asn1DecodeError. */
export function parseCrl(der: Buffer): ParsedCrl {
  const top = childrenOf(der, readWhole(der, Tag.SEQUENCE, 'CertificateList'), 'CertificateList');
  const tbsTlv = expectTag(top[0], Tag.SEQUENCE, 'tbsCertList');
  const f = childrenOf(der, tbsTlv, 'tbsCertList');
  let i = 0;
  if (f[0]?.tag === Tag.INTEGER) i++;
  i++; // signature AlgorithmIdentifier
  const issuer = slice(der, expectTag(f[i++], Tag.SEQUENCE, 'issuer'));
  const thisUpdate = decodeTime(der, f[i++]!, 'thisUpdate');
  const nextUpdate = isTime(f[i]) ? decodeTime(der, f[i++]!, 'nextUpdate') : undefined;
  const entries: ParsedCrl['entries'] = new Map();
  if (f[i]?.tag === Tag.SEQUENCE) {
    for (const e of childrenOf(der, f[i++]!, 'revokedCertificates')) {
      const p = childrenOf(der, expectTag(e, Tag.SEQUENCE, 'revokedCertificate'), 'revokedCertificate');
      const serial = serialFromMagnitude(content(der, expectTag(p[0], Tag.INTEGER, 'userCertificate')));
      const revokedAt = decodeTime(der, p[1]!, 'revocationDate');
      let reason: RevocationReason | undefined;
      if (p[2]) {
        for (const x of parseExtensions(
          der,
          expectTag(p[2], Tag.SEQUENCE, 'crlEntryExtensions'),
          'crlEntryExtensions',
        )) {
          if (x.oid === Oids.reasonCode)
            reason = reasonFromCode(content(x.value, readWhole(x.value, Tag.ENUMERATED, 'CRLReason'))[0]!);
        }
      }
      entries.set(serial, { revokedAt, ...(reason ? { reason } : {}) });
    }
  }
  let extensions: ParsedCrl['extensions'] = [];
  if (f[i]?.tag === 0xa0)
    extensions = parseExtensions(
      der,
      expectTag(childrenOf(der, f[i]!, 'crlExtensions')[0], Tag.SEQUENCE, 'crlExtensions'),
      'crlExtensions',
    );
  const alg = childrenOf(der, expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm');
  const sig = content(der, expectTag(top[2], Tag.BIT_STRING, 'signatureValue'));
  return {
    tbs: slice(der, tbsTlv),
    issuer,
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    signatureAlgorithmOid: decodeOid(content(der, expectTag(alg[0], Tag.OID, 'signatureAlgorithm'))),
    signature: sig.subarray(1),
    entries,
    extensions,
  };
}

/** Why this CRL does not speak for an end-entity certificate, or undefined when it does. */
function scopeProblem(crl: ParsedCrl): string | undefined {
  for (const e of crl.extensions) {
    if (e.oid === Oids.deltaCrlIndicator) return 'a delta CRL is not a complete CRL (RFC 5280 §5.2.4)';
    if (e.oid === Oids.issuingDistributionPoint) {
      const parts = childrenOf(
        e.value,
        readWhole(e.value, Tag.SEQUENCE, 'IssuingDistributionPoint'),
        'IssuingDistributionPoint',
      );
      // [2] onlyContainsCACerts, [3] onlySomeReasons, [4] indirectCRL, [5] onlyContainsAttributeCerts
      if (parts.some((p) => (p.tag & 0x1f) >= 2 && (p.tag & 0x1f) <= 5))
        return 'the CRL is partitioned (IssuingDistributionPoint): not supported';
      continue;
    }
    if (e.critical && e.oid !== Oids.authorityKeyIdentifier && e.oid !== Oids.crlNumber)
      return `unknown critical CRL extension ${e.oid}`;
  }
  return undefined;
}

export async function crlStatus(q: StatusQuery, opts: CrlStatusOptions = {}): Promise<StatusOutcome> {
  const url = opts.url ?? describeCertificate(q.certificate).crlDistributionPoints?.[0];
  if (!url) return { ok: false, detail: 'the agent certificate names no CRL distribution point and none was given' };
  let crl: ParsedCrl;
  try {
    const der = await fetchBytes(url, {
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxBytes: MAX_CRL_BYTES,
      accept: 'application/pkix-crl',
    });
    crl = parseCrl(der);
  } catch (e) {
    return { ok: false, detail: `CRL ${url}: ${(e as Error).message}` };
  }
  const issuer = parseCertificate(q.issuer);
  if (!crl.issuer.equals(issuer.subject)) return { ok: false, detail: `CRL ${url} is issued by another CA` };
  if (!verifySignature(crl.signatureAlgorithmOid, crl.tbs, issuer.publicKeyInfo, crl.signature)) {
    return { ok: false, detail: `CRL ${url} signature does not verify with the issuing CA key` };
  }
  const scope = scopeProblem(crl);
  if (scope) return { ok: false, detail: `CRL ${url}: ${scope}` };
  const now = q.now.getTime();
  if (crl.thisUpdate.getTime() > now + SKEW_MS) return { ok: false, detail: `CRL ${url} thisUpdate is in the future` };
  if (!crl.nextUpdate || crl.nextUpdate.getTime() < now - SKEW_MS)
    return { ok: false, detail: `CRL ${url} is stale (nextUpdate ${crl.nextUpdate?.toISOString() ?? 'absent'})` };
  const entry = crl.entries.get(parseCertificate(q.certificate).serial);
  const source = `crl ${url}`;
  if (!entry) return { ok: true, status: { state: 'good' }, source };
  return {
    ok: true,
    status: {
      state: entry.reason === 'certificateHold' ? 'held' : 'revoked',
      revokedAt: entry.revokedAt,
      ...(entry.reason ? { reason: entry.reason } : {}),
    },
    source,
  };
}
