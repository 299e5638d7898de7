/**
 * TBS certificates built the way the authority builds them (buildTbs over the built-in
 * profiles), plus `tweak` to break one field at a time: the lint tests start from a clean TBS
 * and change exactly what a rule is about. The lints read the encoded bytes, so `tweak` writes
 * every change into the DER pieces (a changed fact re-encodes its extension), and the helpers
 * below lint `encodeTbs(t)` parsed back, as the Issuer does.
 */
import { expect } from 'vitest';
import { encodeName, type NameSpec } from '../../../src/asn1/name.js';
import { FixedClock, type Clock } from '../../../src/clock.js';
import { LintError } from '../../../src/errors.js';
import { boolean, integer, sequence, x509Time } from '../../../src/asn1/der.js';
import { Oids } from '../../../src/asn1/oids.js';
import {
  authorityInfoAccessValue,
  distributionPointsValue,
  extKeyUsageValue,
  keyUsageValue,
  OCSP_NOCHECK_VALUE,
  subjectAltNameValue,
} from '../../../src/asn1/x509-extensions.js';
import { intentOf, lintEncodedTbs, parseLintTarget, runLints, type LintContext } from '../../../src/lint/index.js';
import { extensionEntry } from '../../../src/profile/build-tbs.js';
import { encodeTbs, type ExtensionEntry } from '../../../src/profile/tbs.js';
import { buildTbs, DAY_MS, type IssuingCa, type TbsRequest } from '../../../src/profile/build-tbs.js';
import { issuerUrls } from '../../../src/profile/config.js';
import { loadProfiles, type Profile } from '../../../src/profile/profile.js';
import type { TbsCertificate, TbsFacts } from '../../../src/profile/tbs.js';
import { defaultAlgorithm } from '../../../src/signer/algorithms.js';
import { keyIdentifier } from '../../../src/signer/public-key.js';
import { generateKeyPair, signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { Signer } from '../../../src/signer/signer.js';
import type { KeyType, KeyUri } from '../../../src/types.js';

export const NOW = '2026-03-01T12:00:00.750Z';
export const lintCtx: LintContext = Object.freeze({ agentDomains: ['agents.example'] });
export const profiles = loadProfiles();

export function profile(name: string): Profile {
  const p = profiles.get(name);
  if (!p) throw new Error(`no built-in profile ${name}`);
  return p;
}

const keys = new Map<KeyType, ReturnType<typeof generateKeyPair>>();
/** One key pair per type for the whole test file (RSA generation is slow). */
export function keyPair(kt: KeyType): ReturnType<typeof generateKeyPair> {
  let k = keys.get(kt);
  if (!k) keys.set(kt, (k = generateKeyPair(kt)));
  return k;
}

export function spki(kt: KeyType): Buffer {
  return keyPair(kt).publicKey.export({ format: 'der', type: 'spki' });
}

export function signer(kt: KeyType, uri = `softkey:test-${kt}`): Signer {
  return signerFromPrivateKey(keyPair(kt).privateKey, uri as KeyUri);
}

/** An issuing CA (the intermediate) with a P-256 key, valid for ten years from NOW. */
export function issuingCa(over: Partial<IssuingCa> = {}, kt: KeyType = 'p256'): IssuingCa {
  return {
    id: 'intermediate',
    subject: encodeName({ organization: 'Lint Test', commonName: 'Lint Test Issuing CA' }),
    keyId: keyIdentifier(spki(kt)),
    notAfter: new Date(new Date(NOW).getTime() + 3650 * DAY_MS),
    signatureAlgorithm: defaultAlgorithm(kt),
    urls: issuerUrls('http://127.0.0.1:8080', 'intermediate'),
    ...over,
  };
}

export function agentRequest(over: Partial<TbsRequest> = {}, agentKey: KeyType = 'ed25519'): TbsRequest {
  const subject: NameSpec = { organization: 'Example Operator', commonName: 'trading-bot' };
  return {
    profile: profile('agent'),
    subject,
    encodedSubject: encodeName(subject),
    publicKeyInfo: spki(agentKey),
    subjectAltNames: [{ dns: 'trading-bot.agents.example' }],
    agentId: 'trading-bot',
    ...over,
  };
}

export function agentTbs(
  over: Partial<TbsRequest> = {},
  opts: { issuer?: IssuingCa; clock?: Clock; agentKey?: KeyType } = {},
): TbsCertificate {
  return buildTbs(agentRequest(over, opts.agentKey), opts.issuer ?? issuingCa(), opts.clock ?? new FixedClock(NOW));
}

/** Root (self-signed), intermediate (under a root), or an OCSP responder (under the intermediate). */
export function caTbs(
  kind: 'root' | 'intermediate' | 'ocsp-responder',
  clock: Clock = new FixedClock(NOW),
  kt: KeyType = 'p384',
): TbsCertificate {
  const subject: NameSpec = { organization: 'Lint Test', commonName: `Lint Test ${kind}` };
  const req: TbsRequest = {
    profile: profile(kind),
    subject,
    encodedSubject: encodeName(subject),
    publicKeyInfo: spki(kt),
  };
  if (kind === 'root') return buildTbs(req, undefined, clock, defaultAlgorithm(kt));
  const issuer = issuingCa({
    id: kind === 'intermediate' ? 'root' : 'intermediate',
    notAfter: new Date(clock.now().getTime() + 7000 * DAY_MS),
  });
  return buildTbs(req, issuer, clock);
}

export type TbsPatch = Partial<Omit<TbsCertificate, 'facts'>> & { facts?: Partial<TbsFacts> };

/** The extension `name` re-encoded from `value` (undefined: removed), criticality kept. */
function withExtensionValue(
  exts: readonly ExtensionEntry[],
  name: string,
  oid: string,
  critical: boolean,
  value: Buffer | undefined,
): ExtensionEntry[] {
  const at = exts.findIndex((e) => e.oid === oid);
  const entry = value ? extensionEntry(name, oid, at >= 0 ? exts[at]!.critical : critical, value) : undefined;
  if (at < 0) return entry ? [...exts, entry] : [...exts];
  return [...exts.slice(0, at), ...(entry ? [entry] : []), ...exts.slice(at + 1)];
}

/**
 * A copy of `t` with fields replaced. Facts are written into the extensions they come from
 * (an empty list removes the extension); a new notBefore/notAfter re-encodes the validity.
 */
export function tweak(t: TbsCertificate, patch: TbsPatch): TbsCertificate {
  const { facts: fp, ...rest } = patch;
  const facts = { ...t.facts, ...(fp ?? {}) };
  let ext = [...(rest.extensions ?? t.extensions)];
  const has = (k: keyof TbsFacts) => fp !== undefined && k in fp;
  if (has('ca') || has('pathLen'))
    ext = withExtensionValue(
      ext,
      'basicConstraints',
      Oids.basicConstraints,
      true,
      sequence(facts.ca ? boolean(true) : undefined, facts.pathLen !== undefined ? integer(facts.pathLen) : undefined),
    );
  if (has('keyUsage')) ext = withExtensionValue(ext, 'keyUsage', Oids.keyUsage, true, keyUsageValue(facts.keyUsage));
  if (has('extKeyUsage'))
    ext = withExtensionValue(
      ext,
      'extKeyUsage',
      Oids.extKeyUsage,
      false,
      facts.extKeyUsage.length ? extKeyUsageValue(facts.extKeyUsage) : undefined,
    );
  if (has('subjectAltNames'))
    ext = withExtensionValue(
      ext,
      'subjectAltName',
      Oids.subjectAltName,
      false,
      facts.subjectAltNames.length ? subjectAltNameValue(facts.subjectAltNames) : undefined,
    );
  if (has('crlDistributionPoints'))
    ext = withExtensionValue(
      ext,
      'crlDistributionPoints',
      Oids.crlDistributionPoints,
      false,
      facts.crlDistributionPoints.length ? distributionPointsValue(facts.crlDistributionPoints) : undefined,
    );
  if (has('freshestCrl'))
    ext = withExtensionValue(
      ext,
      'freshestCRL',
      Oids.freshestCrl,
      false,
      facts.freshestCrl.length ? distributionPointsValue(facts.freshestCrl) : undefined,
    );
  if (has('ocspUrls') || has('caIssuersUrls')) {
    const both = facts.ocspUrls.length + facts.caIssuersUrls.length > 0;
    ext = withExtensionValue(
      ext,
      'authorityInfoAccess',
      Oids.authorityInfoAccess,
      false,
      both ? authorityInfoAccessValue({ ocsp: facts.ocspUrls, caIssuers: facts.caIssuersUrls }) : undefined,
    );
  }
  if (has('ocspNoCheck'))
    ext = withExtensionValue(
      ext,
      'ocspNoCheck',
      Oids.ocspNoCheck,
      false,
      facts.ocspNoCheck ? OCSP_NOCHECK_VALUE : undefined,
    );
  const notBefore = rest.notBefore ?? t.notBefore;
  const notAfter = rest.notAfter ?? t.notAfter;
  const validityDer =
    rest.validityDer ??
    (rest.notBefore || rest.notAfter ? sequence(x509Time(notBefore), x509Time(notAfter)) : t.validityDer);
  return Object.freeze({ ...t, ...rest, validityDer, extensions: Object.freeze(ext), facts: Object.freeze(facts) });
}

export function withoutExtension(t: TbsCertificate, name: string): TbsCertificate {
  const extensions = t.extensions.filter((e) => e.name !== name);
  expect(extensions.length).toBe(t.extensions.length - 1);
  return tweak(t, { extensions });
}

/** A TBS, or raw TBS bytes with the TBS whose intent (profile, issuer notAfter, agent id) they carry. */
export type LintCase = TbsCertificate | { der: Buffer; tbs: TbsCertificate };

function split(c: LintCase): { der: Buffer; tbs: TbsCertificate } {
  return 'der' in c && 'tbs' in c ? c : { der: encodeTbs(c), tbs: c };
}

/** All findings on the encoded bytes of `c`. */
export function lintFindings(c: LintCase, ctx: LintContext = lintCtx) {
  const { der, tbs } = split(c);
  return runLints(parseLintTarget(der, intentOf(tbs)), ctx);
}

export function errorLints(c: LintCase, ctx: LintContext = lintCtx): string[] {
  return [
    ...new Set(
      lintFindings(c, ctx)
        .filter((f) => f.severity === 'error')
        .map((f) => f.lint),
    ),
  ];
}

export function messages(c: LintCase, lint: string, ctx: LintContext = lintCtx): string[] {
  return lintFindings(c, ctx)
    .filter((f) => f.lint === lint)
    .map((f) => f.message);
}

/** lintEncodedTbs refuses `c` with a LintError naming exactly `lint`; returns that rule's messages. */
export function expectRefusedBy(c: LintCase, lint: string, ctx: LintContext = lintCtx): string[] {
  const { der, tbs } = split(c);
  let err: unknown;
  try {
    lintEncodedTbs(der, intentOf(tbs), ctx);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LintError);
  const le = err as LintError;
  expect(le.code).toBe('ACA_ERR_LINT_FAILED');
  expect(le.httpStatus).toBe(422);
  expect(le.details.lints).toEqual(le.findings.filter((f) => f.severity === 'error').map((f) => f.lint));
  expect([...new Set(le.details.lints as string[])]).toEqual([lint]);
  expect(le.message).toContain(lint);
  const found = le.findings.filter((f) => f.lint === lint);
  expect(found.every((f) => f.citation.length > 0)).toBe(true);
  return found.map((f) => f.message);
}
