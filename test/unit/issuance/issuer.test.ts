/**
 * Issuer: the single path to a CA key. Tokens are single use and expire on the injected clock;
 * the signer must produce the TBS's algorithm; the bytes signed must be the bytes linted; a
 * signature that does not verify is never released when verification is on.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '../../../src/asn1/certificate-parse.js';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError, LintError } from '../../../src/errors.js';
import { Issuer } from '../../../src/issuance/issuer.js';
import { encodeTbs } from '../../../src/profile/tbs.js';
import { algorithmInfo } from '../../../src/signer/algorithms.js';
import { publicKeyFromSpki } from '../../../src/signer/public-key.js';
import type { Signer } from '../../../src/signer/signer.js';
import { generateKeyPair, signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { KeyUri } from '../../../src/types.js';
import { agentTbs, issuingCa, lintCtx, NOW, signer, tweak } from '../lint/tbs-fixtures.js';

const TTL = 60_000;

function setup(opts: { verifySignatures?: boolean } = {}) {
  const clock = new FixedClock(NOW);
  const issuer = new Issuer({ clock, lintContext: () => lintCtx, tokenTtlMs: TTL, ...opts });
  return { clock, issuer };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof AgentCaError) return e.code;
    throw e;
  }
  return undefined;
}

describe('Issuer.prepare / issue', () => {
  it('signs exactly the linted TBS with the CA key', async () => {
    const { issuer } = setup();
    const tbs = agentTbs();
    const prepared = issuer.prepare(tbs, signer('p256'));
    expect(prepared.warnings).toEqual([]);
    expect(prepared.serial).toBe(tbs.serial.toString('hex'));
    const issued = await issuer.issue(prepared.token);
    const c = parseCertificate(issued.der);
    expect(c.tbs.equals(encodeTbs(tbs))).toBe(true);
    expect(issued.serial).toBe(prepared.serial);
    const ok = cryptoVerify(
      algorithmInfo('ecdsaWithSHA256').digest,
      c.tbs,
      publicKeyFromSpki(signer('p256').publicKeyInfo),
      c.signature,
    );
    expect(ok).toBe(true);
  });

  it('a token is single use', async () => {
    const { issuer } = setup();
    const { token } = issuer.prepare(agentTbs(), signer('p256'));
    await issuer.issue(token);
    expect(await codeOf(issuer.issue(token))).toBe('ACA_ERR_ISSUE_TOKEN_INVALID');
    expect(await codeOf(issuer.issue('made-up-token'))).toBe('ACA_ERR_ISSUE_TOKEN_INVALID');
  });

  it('a token expires after its TTL on the injected clock, and is gone after the failed attempt', async () => {
    const { issuer, clock } = setup();
    const atEdge = issuer.prepare(agentTbs(), signer('p256')).token;
    const late = issuer.prepare(agentTbs(), signer('p256')).token;
    clock.advance(TTL);
    expect(await codeOf(issuer.issue(atEdge))).toBeUndefined();
    clock.advance(1);
    let err: unknown;
    try {
      await issuer.issue(late);
    } catch (e) {
      err = e;
    }
    expect((err as AgentCaError).code).toBe('ACA_ERR_ISSUE_TOKEN_INVALID');
    expect((err as AgentCaError).message).toMatch(/expired/);
    clock.set(NOW);
    expect(await codeOf(issuer.issue(late))).toBe('ACA_ERR_ISSUE_TOKEN_INVALID');
  });

  it('refuses a signer whose algorithm is not the TBS algorithm, before linting or signing', async () => {
    const { issuer } = setup();
    const tbs = agentTbs(); // issuer says ecdsaWithSHA256
    let signed = false;
    const ed: Signer = { ...signer('ed25519'), sign: async () => ((signed = true), Buffer.alloc(64)) };
    expect(await codeOf(() => issuer.prepare(tbs, ed))).toBe('ACA_ERR_ISSUE_TOKEN_INVALID');
    const p384 = agentTbs({}, { issuer: issuingCa({}, 'p384') });
    expect(await codeOf(() => issuer.prepare(p384, signer('p256')))).toBe('ACA_ERR_ISSUE_TOKEN_INVALID');
    expect(signed).toBe(false);
  });

  it('lints in prepare: a bad TBS gets no token', () => {
    const { issuer } = setup();
    expect(() => issuer.prepare(agentTbs({ validityDays: 400 }), signer('p256'))).toThrow(LintError);
    expect(() => issuer.prepare(tweak(agentTbs(), { facts: { subjectAltNames: [] } }), signer('p256'))).toThrow(
      LintError,
    );
  });

  it('discards the certificate when the bytes change while being signed (ISSUE_TBS_MISMATCH)', async () => {
    const { issuer } = setup();
    const real = signer('p256');
    const meddling: Signer = {
      ...real,
      async sign(data) {
        (data as Buffer)[data.length - 1]! ^= 0xff;
        return real.sign(data);
      },
    };
    const { token } = issuer.prepare(agentTbs(), meddling);
    expect(await codeOf(issuer.issue(token))).toBe('ACA_ERR_ISSUE_TBS_MISMATCH');
  });

  it('with verification on, a signature from the wrong key is never released', async () => {
    const { issuer } = setup({ verifySignatures: true });
    const other = signerFromPrivateKey(generateKeyPair('p256').privateKey, 'softkey:other' as KeyUri);
    // Claims the CA's public key, signs with another one (a KMS alias pointing at the wrong key).
    const wrongKey: Signer = { ...signer('p256'), sign: (d) => other.sign(d) };
    const { token } = issuer.prepare(agentTbs(), wrongKey);
    expect(await codeOf(issuer.issue(token))).toBe('ACA_ERR_ISSUE_TBS_MISMATCH');
  });

  it('verifies by default for remote key URIs, not for softkey', async () => {
    const bad = (uri: string): Signer => ({
      ...signer('ed25519'),
      keyUri: uri as KeyUri,
      sign: async () => Buffer.alloc(64, 7),
    });
    const ed = agentTbs({}, { issuer: issuingCa({}, 'ed25519') });
    const { issuer } = setup();
    expect(
      await codeOf(issuer.issue(issuer.prepare(ed, bad('awskms:arn:aws:kms:eu-west-1:111122223333:key/x')).token)),
    ).toBe('ACA_ERR_ISSUE_TBS_MISMATCH');
    expect(await codeOf(issuer.issue(issuer.prepare(ed, bad('pkcs11:token=ca;object=intermediate')).token))).toBe(
      'ACA_ERR_ISSUE_TBS_MISMATCH',
    );
    expect(await codeOf(issuer.issue(issuer.prepare(ed, bad('softkey:intermediate')).token))).toBeUndefined();
  });
});
