/**
 * TBS certificates built the way the authority builds them (buildTbs over the built-in
 * profiles), plus `tweak` to break one field at a time: the lint tests start from a clean TBS
 * and change exactly what a rule is about.
 */
import { expect } from 'vitest';
import { encodeName, type NameSpec } from '../../../src/asn1/name.js';
import { FixedClock, type Clock } from '../../../src/clock.js';
import { LintError } from '../../../src/errors.js';
import { assertLintClean, runLints, type LintContext } from '../../../src/lint/index.js';
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

export function agentTbs(over: Partial<TbsRequest> = {}, opts: { issuer?: IssuingCa; clock?: Clock; agentKey?: KeyType } = {}): TbsCertificate {
  return buildTbs(agentRequest(over, opts.agentKey), opts.issuer ?? issuingCa(), opts.clock ?? new FixedClock(NOW));
}

/** Root (self-signed), intermediate (under a root), or an OCSP responder (under the intermediate). */
export function caTbs(kind: 'root' | 'intermediate' | 'ocsp-responder', clock: Clock = new FixedClock(NOW), kt: KeyType = 'p384'): TbsCertificate {
  const subject: NameSpec = { organization: 'Lint Test', commonName: `Lint Test ${kind}` };
  const req: TbsRequest = { profile: profile(kind), subject, encodedSubject: encodeName(subject), publicKeyInfo: spki(kt) };
  if (kind === 'root') return buildTbs(req, undefined, clock, defaultAlgorithm(kt));
  const issuer = issuingCa({ id: kind === 'intermediate' ? 'root' : 'intermediate', notAfter: new Date(clock.now().getTime() + 7000 * DAY_MS) });
  return buildTbs(req, issuer, clock);
}

export type TbsPatch = Partial<Omit<TbsCertificate, 'facts'>> & { facts?: Partial<TbsFacts> };

/** A copy of `t` with fields replaced: the lints read the model, so this is all a rule sees. */
export function tweak(t: TbsCertificate, patch: TbsPatch): TbsCertificate {
  const { facts, ...rest } = patch;
  return Object.freeze({ ...t, ...rest, facts: Object.freeze({ ...t.facts, ...(facts ?? {}) }) });
}

export function withoutExtension(t: TbsCertificate, name: string): TbsCertificate {
  const extensions = t.extensions.filter((e) => e.name !== name);
  expect(extensions.length).toBe(t.extensions.length - 1);
  return tweak(t, { extensions });
}

export function errorLints(t: TbsCertificate, ctx: LintContext = lintCtx): string[] {
  return [...new Set(runLints(t, ctx).filter((f) => f.severity === 'error').map((f) => f.lint))];
}

export function messages(t: TbsCertificate, lint: string, ctx: LintContext = lintCtx): string[] {
  return runLints(t, ctx)
    .filter((f) => f.lint === lint)
    .map((f) => f.message);
}

/** assertLintClean refuses `t` with a LintError naming exactly `lint`; returns that rule's messages. */
export function expectRefusedBy(t: TbsCertificate, lint: string, ctx: LintContext = lintCtx): string[] {
  let err: unknown;
  try {
    assertLintClean(t, ctx);
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
