/**
 * The lints read the bytes, not the builder's model: with the basicConstraints encoder broken
 * (injected here with vi.mock, test-only), the TBS model still says cA TRUE, pathLen 0, but the
 * encoded bytes do not, and the Issuer refuses to sign them. A lint over the model would have
 * passed both corruptions below.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as X509Extensions from '../../../src/asn1/x509-extensions.js';
import { boolean, integer, sequence } from '../../../src/asn1/der.js';
import { encodeName } from '../../../src/asn1/name.js';
import * as x509Extensions from '../../../src/asn1/x509-extensions.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { FixedClock } from '../../../src/clock.js';
import { LintError } from '../../../src/errors.js';
import { Issuer } from '../../../src/issuance/issuer.js';
import { buildTbs } from '../../../src/profile/build-tbs.js';
import { parseProfile } from '../../../src/profile/profile.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';
import { caTbs, issuingCa, lintCtx, NOW, profile, signer, spki } from '../lint/tbs-fixtures.js';

vi.mock('../../../src/asn1/x509-extensions.js', async (importOriginal) => {
  const real = await importOriginal<typeof X509Extensions>();
  return { ...real, basicConstraintsValue: vi.fn(real.basicConstraintsValue) };
});

const encoder = vi.mocked(x509Extensions.basicConstraintsValue);
const real = encoder.getMockImplementation()!;
afterEach(() => encoder.mockImplementation(real));

/** A fresh intermediate profile object, so build-tbs' per-profile extension cache is cold. */
function intermediateTbs() {
  const p = parseProfile({ ...profile('intermediate') });
  const subject = { organization: 'Lint Test', commonName: 'Corrupted Intermediate' };
  return buildTbs(
    { profile: p, subject, encodedSubject: encodeName(subject), publicKeyInfo: spki('p384') },
    issuingCa({ id: 'root', notAfter: new Date(Date.parse(NOW) + 7000 * 86_400_000) }),
    new FixedClock(NOW),
  );
}

function refusal(fn: () => unknown): LintError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LintError);
    return e as LintError;
  }
  throw new Error('the corrupted TBS was accepted');
}

describe('a corrupted encoder is caught by the lints', () => {
  const issuer = new Issuer({ clock: new FixedClock(NOW), lintContext: () => lintCtx });

  it('the clean encoder passes (the mock is transparent until told otherwise)', () => {
    expect(() => issuer.prepare(caTbs('intermediate'), signer('p256'))).not.toThrow();
  });

  it('basicConstraints that drops cA and pathLen: e_basic_constraints, though the model says cA TRUE', () => {
    encoder.mockImplementation(() => sequence());
    const tbs = intermediateTbs();
    expect(tbs.facts).toMatchObject({ ca: true, pathLen: 0 });
    const e = refusal(() => issuer.prepare(tbs, signer('p256')));
    expect(e.details.lints).toEqual(['e_basic_constraints', 'e_basic_constraints']);
    expect(e.findings.map((f) => f.message)).toEqual([
      'cA is false for a intermediate certificate',
      'the intermediate must carry pathLenConstraint',
    ]);
  });

  it('a BER BOOLEAN (01 instead of FF) for cA: e_der_encoding', () => {
    encoder.mockImplementation((ca, pathLen) => {
      const ok = sequence(boolean(ca), integer(pathLen ?? 0));
      ok[4] = 0x01; // 30 06 01 01 [FF -> 01] 02 01 00
      return ok;
    });
    const e = refusal(() => issuer.prepare(intermediateTbs(), signer('p256')));
    expect(e.details.lints).toContain('e_der_encoding');
    expect(e.findings.find((f) => f.lint === 'e_der_encoding')!.message).toMatch(
      /basicConstraints: basicConstraints cA: BOOLEAN must be one octet 00 or FF/,
    );
  });

  it('the authority refuses to create a CA with it, and stores nothing', async () => {
    encoder.mockImplementation(() => sequence());
    const tmp = await makeTmpDir('agent-ca-corrupt-');
    const authority = await createAuthority({
      dataDir: tmp.dir,
      store: await createMemoryStore(),
      clock: new FixedClock(NOW),
      env: {},
    });
    try {
      await expect(authority.init({ keyType: 'p256' })).rejects.toMatchObject({ code: 'ACA_ERR_LINT_FAILED' });
      expect(authority.initialised).toBe(false);
      expect(await authority.store.certificates.count()).toBe(0);
    } finally {
      await authority.close();
      await tmp.cleanup();
    }
  });
});
