/**
 * Path validation for an action's signer, the subset of RFC 5280 §6.1 our hierarchy needs:
 * each certificate's signature verifies with its issuer's key and the issuer is a CA allowed to
 * sign certificates (node:crypto child.checkIssued(issuer) = OpenSSL X509_check_issued: names,
 * AKI/SKI, keyCertSign), the path ends at a trust anchor the caller supplied, pathLenConstraint
 * holds, no unknown critical extension, SHA-1 signatures are refused; then every certificate
 * must be inside its validity window at `now` (§6.1.3 (a)(2)).
 */
import { X509Certificate } from 'node:crypto';
import { parseCertificate, type ParsedCertificate } from '../asn1/certificate-parse.js';
import { Oids } from '../asn1/oids.js';
import { decodeBasicConstraints, decodeKeyUsage } from '../asn1/x509-extension-decode.js';
import type { KeyUsageName } from '../asn1/x509-extensions.js';
import { parsePem } from '../asn1/pem.js';
import { AgentCaError } from '../errors.js';
import { algorithmByOid } from '../signer/algorithms.js';

export type CertificateInput = string | Uint8Array;

/** PEM bundles (any number of CERTIFICATE blocks), single PEMs, or DER; returns DER each. */
export function loadCertificates(inputs: CertificateInput | readonly CertificateInput[] | undefined): Buffer[] {
  if (inputs === undefined) return [];
  const list = typeof inputs === 'string' || inputs instanceof Uint8Array ? [inputs] : inputs;
  const out: Buffer[] = [];
  for (const i of list) {
    const text = typeof i === 'string' ? i : Buffer.from(i).toString('latin1');
    if (text.includes('-----BEGIN '))
      out.push(
        ...parsePem(text)
          .filter((b) => b.label === 'CERTIFICATE')
          .map((b) => b.der),
      );
    else if (typeof i === 'string')
      throw new AgentCaError('INPUT_INVALID', 'a certificate given as a string must be PEM');
    else out.push(Buffer.from(i));
  }
  return out;
}

export interface PathCertificate {
  x509: X509Certificate;
  parsed: ParsedCertificate;
}

export type ChainOutcome =
  { ok: true; path: PathCertificate[] } | { ok: false; reason: 'chain' | 'expired'; detail: string };

const UNDERSTOOD_CRITICAL = new Set<string>([
  Oids.basicConstraints,
  Oids.keyUsage,
  Oids.extKeyUsage,
  Oids.subjectAltName,
  Oids.subjectKeyIdentifier,
  Oids.authorityKeyIdentifier,
]);
const MAX_DEPTH = 5;

/**
 * CA certificates come back on every verification (anchors, x5c[1]); parsing one costs more
 * than verifying a signature, so parsed CA certificates are kept, keyed by their bytes.
 */
const caCache = new Map<string, PathCertificate>();
const CA_CACHE_MAX = 256;

/** Parse a certificate for path validation; CA certificates (`cache`) are parsed once. Throws INPUT_INVALID. */
export function loadPathCertificate(der: Buffer, what: string, cache = true): PathCertificate {
  const key = cache ? der.toString('base64') : '';
  const hit = cache ? caCache.get(key) : undefined;
  if (hit) return hit;
  let c: PathCertificate;
  try {
    c = { x509: new X509Certificate(der), parsed: parseCertificate(der) };
  } catch (e) {
    throw new AgentCaError('INPUT_INVALID', `${what} is not a certificate: ${(e as Error).message}`);
  }
  if (cache) {
    if (caCache.size >= CA_CACHE_MAX) caCache.delete(caCache.keys().next().value!);
    caCache.set(key, c);
  }
  return c;
}

/** basicConstraints (RFC 5280 §4.2.1.9): cA and pathLenConstraint; undefined when absent. Throws on non-DER. */
function basicConstraints(c: ParsedCertificate): { ca: boolean; pathLen?: number } | undefined {
  const e = c.extensions.find((x) => x.oid === Oids.basicConstraints);
  return e ? decodeBasicConstraints(e.value) : undefined;
}

/** Whether keyUsage (RFC 5280 §4.2.1.3) asserts `usage`; undefined when the extension is absent. */
function keyUsageHas(c: ParsedCertificate, usage: KeyUsageName): boolean | undefined {
  const e = c.extensions.find((x) => x.oid === Oids.keyUsage);
  return e ? decodeKeyUsage(e.value).includes(usage) : undefined;
}

/**
 * Why no issuer was found for `child`: a candidate whose key verifies the signature but that may
 * not issue (not a CA, or keyUsage without keyCertSign, RFC 5280 §6.1.4 (k), (n)) is named, so the
 * refusal says what openssl's "invalid CA certificate" says; otherwise the chain is unknown.
 */
function noIssuerDetail(child: PathCertificate, candidates: readonly PathCertificate[]): string {
  for (const c of candidates) {
    let signs: boolean;
    try {
      signs = child.x509.verify(c.x509.publicKey);
    } catch {
      signs = false;
    }
    if (!signs) continue;
    try {
      if (!basicConstraints(c.parsed)?.ca)
        return `${subjectOf(c)} signed ${subjectOf(child)} but is not a CA (basicConstraints, RFC 5280 §4.2.1.9)`;
      if (keyUsageHas(c.parsed, 'keyCertSign') === false)
        return `${subjectOf(c)} signed ${subjectOf(child)} but its keyUsage lacks keyCertSign (RFC 5280 §4.2.1.3)`;
    } catch (e) {
      return `${subjectOf(c)} has malformed extensions: ${(e as Error).message}`;
    }
  }
  return `no trusted issuer for ${subjectOf(child)}: the chain does not lead to a configured trust anchor`;
}

function subjectOf(c: PathCertificate): string {
  return c.x509.subject.replace(/\n/g, ', ');
}

function issuedBy(child: PathCertificate, issuer: PathCertificate): boolean {
  try {
    return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

function structuralProblem(c: PathCertificate): string | undefined {
  if (!algorithmByOid(c.parsed.signatureAlgorithmOid))
    return `${subjectOf(c)} is signed with ${c.parsed.signatureAlgorithmOid}, which is not accepted (SHA-1 never is)`;
  const crit = c.parsed.extensions.find((e) => e.critical && !UNDERSTOOD_CRITICAL.has(e.oid));
  if (crit) return `${subjectOf(c)} has the unknown critical extension ${crit.oid} (RFC 5280 §4.2)`;
  return undefined;
}

/**
 * Validate the leaf up to one of `anchorsDer` through `intermediatesDer` (x5c[1..] plus any
 * the caller knows). Throws INPUT_INVALID only for bytes that are not certificates.
 */
export function validatePath(
  leafInput: Buffer | PathCertificate,
  intermediatesDer: readonly Buffer[],
  anchorsDer: readonly Buffer[],
  now: Date,
): ChainOutcome {
  const leaf = Buffer.isBuffer(leafInput) ? loadPathCertificate(leafInput, 'x5c[0]', false) : leafInput;
  const anchors = anchorsDer.map((d, i) => loadPathCertificate(d, `trust anchor ${i}`));
  const pool = intermediatesDer.map((d, i) => loadPathCertificate(d, `intermediate ${i}`));
  if (anchors.length === 0) return { ok: false, reason: 'chain', detail: 'no trust anchors configured' };

  let leafIsCa: boolean | undefined;
  let leafSigns: boolean | undefined;
  try {
    leafIsCa = basicConstraints(leaf.parsed)?.ca;
    leafSigns = keyUsageHas(leaf.parsed, 'digitalSignature');
  } catch (e) {
    return {
      ok: false,
      reason: 'chain',
      detail: `the agent certificate extensions are malformed: ${(e as Error).message}`,
    };
  }
  if (leafIsCa)
    return {
      ok: false,
      reason: 'chain',
      detail: 'the signing certificate is a CA certificate, not an agent certificate',
    };
  if (leafSigns === false)
    return {
      ok: false,
      reason: 'chain',
      detail: 'the agent certificate keyUsage lacks digitalSignature (RFC 5280 §4.2.1.3)',
    };

  const path: PathCertificate[] = [leaf];
  for (let current = leaf; ;) {
    const problem = structuralProblem(current);
    if (problem) return { ok: false, reason: 'chain', detail: problem };
    const anchor = anchors.find((a) => issuedBy(current, a));
    if (anchor) {
      path.push(anchor);
      break;
    }
    if (path.length >= MAX_DEPTH)
      return { ok: false, reason: 'chain', detail: `no trust anchor within ${MAX_DEPTH} certificates` };
    const next = pool.find((c) => !path.includes(c) && issuedBy(current, c));
    if (!next)
      return {
        ok: false,
        reason: 'chain',
        detail: noIssuerDetail(current, [...pool.filter((c) => !path.includes(c)), ...anchors]),
      };
    path.push(next);
    current = next;
  }

  // Every issuer must be a CA whose pathLenConstraint admits the intermediates below it (§4.2.1.9).
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    let bc: ReturnType<typeof basicConstraints>;
    try {
      bc = basicConstraints(c.parsed);
    } catch {
      bc = undefined;
    }
    if (!bc?.ca) return { ok: false, reason: 'chain', detail: `${subjectOf(c)} is not a CA (basicConstraints)` };
    const below = i - 1;
    if (bc.pathLen !== undefined && below > bc.pathLen)
      return { ok: false, reason: 'chain', detail: `${subjectOf(c)} pathLenConstraint ${bc.pathLen} exceeded` };
  }

  for (const [i, c] of path.entries()) {
    const what = i === 0 ? 'agent certificate' : i === path.length - 1 ? 'trust anchor' : 'intermediate CA certificate';
    if (now < c.parsed.notBefore)
      return {
        ok: false,
        reason: 'expired',
        detail: `${what} ${subjectOf(c)} is not valid before ${c.parsed.notBefore.toISOString()}`,
      };
    if (now > c.parsed.notAfter)
      return {
        ok: false,
        reason: 'expired',
        detail: `${what} ${subjectOf(c)} expired at ${c.parsed.notAfter.toISOString()}`,
      };
  }
  return { ok: true, path };
}
