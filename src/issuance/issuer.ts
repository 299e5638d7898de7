/**
 * The only path to a CA key. prepare() encodes the TBS once and lints those bytes, parsed back
 * (src/lint/lint-target.ts); the caller gets a single-use token; issue() signs exactly those
 * bytes and checks afterwards that the bytes signed are the bytes linted. A token cannot be
 * replayed or outlive its TTL.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AgentCaError, type LintFinding } from '../errors.js';
import { intentOf, type LintContext } from '../lint/index.js';
import { lintHere, type LintPool, type LintVerdict } from '../lint/lint-pool.js';
import { encodeTbs, type TbsCertificate } from '../profile/tbs.js';
import { serialFromMagnitude } from '../profile/serial.js';
import { pooledRandomBytes } from '../profile/random-pool.js';
import type { Signer } from '../signer/signer.js';
import type { Serial } from '../types.js';
import { assembleSigned } from './certificate.js';
import { verifySignature } from '../signer/verify.js';

export interface PreparedIssuance {
  readonly token: string;
  readonly serial: Serial;
  readonly tbs: TbsCertificate;
  readonly warnings: readonly LintFinding[];
}

export interface IssuedCertificate {
  readonly serial: Serial;
  readonly der: Buffer;
  readonly tbs: TbsCertificate;
}

interface Pending {
  tbs: TbsCertificate;
  tbsDer: Buffer;
  digest: Buffer;
  signer: Signer;
  expiresAt: number;
}

export interface IssuerOptions {
  clock: Clock;
  lintContext: () => LintContext;
  tokenTtlMs?: number;
  /**
   * Verify every signature against the signer's public key before releasing the certificate.
   * Default: on for remote backends (a KMS alias or HSM object pointing at the wrong key would
   * otherwise produce a certificate nobody can verify); off for `softkey:`, where node:crypto
   * signs with the key object that the public key was derived from.
   */
  verifySignatures?: boolean;
}

export class Issuer {
  private readonly pending = new Map<string, Pending>();
  constructor(private readonly opts: IssuerOptions) {}

  prepare(tbs: TbsCertificate, signer: Signer): PreparedIssuance {
    const { tbsDer, digest } = encoded(tbs);
    return this.pend(tbs, tbsDer, digest, signer, lintHere(tbsDer, intentOf(tbs), this.opts.lintContext()));
  }

  /**
   * prepare(), with the lint on the worker thread of `lints` when one is given (the same rules
   * on a copy of the same bytes; issue() signs the bytes kept here).
   */
  async prepareAsync(tbs: TbsCertificate, signer: Signer, lints?: LintPool): Promise<PreparedIssuance> {
    if (!lints) return this.prepare(tbs, signer);
    const { tbsDer, digest } = encoded(tbs);
    return this.pend(tbs, tbsDer, digest, signer, await lints.lint(tbsDer, intentOf(tbs), this.opts.lintContext()));
  }

  private pend(
    tbs: TbsCertificate,
    tbsDer: Buffer,
    digest: Buffer,
    signer: Signer,
    verdict: LintVerdict,
  ): PreparedIssuance {
    // RFC 5280 §4.1.1.2: the outer signatureAlgorithm (the signer's) must equal the TBS field.
    if (signer.algorithm !== verdict.signatureAlgorithm) {
      throw new AgentCaError(
        'ISSUE_TOKEN_INVALID',
        `TBS says ${verdict.signatureAlgorithm ?? verdict.signatureAlgorithmOid} but the signer produces ${signer.algorithm}`,
      );
    }
    this.sweep();
    const token = pooledRandomBytes(16).toString('base64url');
    this.pending.set(token, {
      tbs,
      tbsDer,
      digest,
      signer,
      expiresAt: this.opts.clock.now().getTime() + (this.opts.tokenTtlMs ?? 60_000),
    });
    return { token, serial: serialFromMagnitude(tbs.serial), tbs, warnings: verdict.warnings };
  }

  async issue(token: string): Promise<IssuedCertificate> {
    const p = this.pending.get(token);
    // Single use: the token is gone before any signing starts.
    this.pending.delete(token);
    if (!p) throw new AgentCaError('ISSUE_TOKEN_INVALID', 'unknown or already used issuance token');
    if (p.expiresAt < this.opts.clock.now().getTime())
      throw new AgentCaError('ISSUE_TOKEN_INVALID', 'issuance token expired');
    const signature = await p.signer.sign(p.tbsDer);
    if (!createHash('sha256').update(p.tbsDer).digest().equals(p.digest)) {
      throw new AgentCaError('ISSUE_TBS_MISMATCH', 'the signed TBS differs from the linted TBS; certificate discarded');
    }
    const remote = !p.signer.keyUri.startsWith('softkey:');
    if (this.opts.verifySignatures ?? remote) {
      if (!verifySignature(p.signer.algorithm, p.tbsDer, p.signer.publicKeyInfo, signature))
        throw new AgentCaError(
          'ISSUE_TBS_MISMATCH',
          `signature from ${p.signer.keyUri} does not verify against its public key; certificate discarded`,
        );
    }
    return {
      serial: serialFromMagnitude(p.tbs.serial),
      der: assembleSigned(p.tbsDer, p.signer.algorithm, signature),
      tbs: p.tbs,
    };
  }

  /** Drop expired tokens so an abandoned prepare() never accumulates. */
  private sweep(): void {
    if (this.pending.size < 1024) return;
    const now = this.opts.clock.now().getTime();
    for (const [k, v] of this.pending) if (v.expiresAt < now) this.pending.delete(k);
  }
}

/** The TBS bytes to lint and sign, and their SHA-256 (issue() checks the signed bytes against it). */
function encoded(tbs: TbsCertificate): { tbsDer: Buffer; digest: Buffer } {
  const tbsDer = encodeTbs(tbs);
  return { tbsDer, digest: createHash('sha256').update(tbsDer).digest() };
}
