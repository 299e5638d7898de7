/**
 * The lint worker thread gives the verdicts lintEncodedTbs gives in the calling thread, each
 * request its own, and falls back to the calling thread (never skipping a lint) when the
 * worker cannot run.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { LintError } from '../../../src/errors.js';
import { intentOf } from '../../../src/lint/index.js';
import { LintPool, lintHere } from '../../../src/lint/lint-pool.js';
import { encodeTbs } from '../../../src/profile/tbs.js';
import { recordingLogger } from '../../helpers/recording-logger.js';
import { agentTbs, lintCtx, tweak } from './tbs-fixtures.js';

let pools: LintPool[] = [];
afterEach(async () => {
  for (const p of pools) await p.close();
  pools = [];
});

function pool(spawn?: () => Worker) {
  const logger = recordingLogger();
  const p = new LintPool(logger, spawn);
  pools.push(p);
  return { p, logger };
}

async function refusal(promise: Promise<unknown>): Promise<LintError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LintError);
  return e as LintError;
}

const clean = agentTbs();
const expired = tweak(clean, { notAfter: clean.notBefore });

describe('LintPool', () => {
  it('answers a clean TBS on the worker with the verdict of the calling thread', async () => {
    const { p, logger } = pool();
    const der = encodeTbs(clean);
    const here = lintHere(der, intentOf(clean), lintCtx);
    expect(await p.lint(der, intentOf(clean), lintCtx)).toEqual(here);
    expect(here.signatureAlgorithm).toBe('ecdsaWithSHA256');
    expect(p.answered).toEqual({ worker: 1, here: 0 });
    expect(logger.lines).toEqual([]);
  });

  it('refuses a broken TBS on the worker with the same LintError findings', async () => {
    const { p } = pool();
    const der = encodeTbs(expired);
    let inThread: unknown;
    try {
      lintHere(der, intentOf(expired), lintCtx);
    } catch (e) {
      inThread = e;
    }
    expect(inThread).toBeInstanceOf(LintError);
    const e = await refusal(p.lint(der, intentOf(expired), lintCtx));
    expect(e.code).toBe('ACA_ERR_LINT_FAILED');
    expect(e.findings).toEqual((inThread as LintError).findings);
    expect(e.details.lints).toEqual((inThread as LintError).details.lints);
    expect(p.answered.worker).toBe(1);
  });

  it('refuses bytes that are not DER with e_der_encoding', async () => {
    const { p } = pool();
    const e = await refusal(p.lint(Buffer.from([0x30, 0x82, 0x01]), intentOf(clean), lintCtx));
    expect(e.details.lints).toEqual(['e_der_encoding']);
  });

  it('gives each of many concurrent requests its own verdict', async () => {
    const { p } = pool();
    // each clean one is a new TBS (its own random serial)
    const cases = Array.from({ length: 41 }, (_, i) => (i % 3 === 0 ? expired : agentTbs()));
    const results = await Promise.allSettled(cases.map((t) => p.lint(encodeTbs(t), intentOf(t), lintCtx)));
    expect(results.map((r) => r.status)).toEqual(cases.map((_, i) => (i % 3 === 0 ? 'rejected' : 'fulfilled')));
    expect(p.answered).toEqual({ worker: 41, here: 0 });
  });

  it('lints in the calling thread, once warned, when the worker dies', async () => {
    const { p, logger } = pool(() => new Worker('process.exit(3)', { eval: true }));
    const der = encodeTbs(clean);
    expect(await p.lint(der, intentOf(clean), lintCtx)).toEqual(lintHere(der, intentOf(clean), lintCtx));
    // and a refusal is still a refusal
    await refusal(p.lint(encodeTbs(expired), intentOf(expired), lintCtx));
    expect(p.answered).toEqual({ worker: 0, here: 2 });
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/linting in the calling thread.*exited \(code 3\)/);
  });

  it('lints in the calling thread when the worker cannot be made', async () => {
    const { p, logger } = pool(() => {
      throw new Error('no threads here');
    });
    await refusal(p.lint(encodeTbs(expired), intentOf(expired), lintCtx));
    expect(p.answered).toEqual({ worker: 0, here: 1 });
    expect(logger.lines[0]).toMatch(/did not start: no threads here/);
  });

  it('lints a request that cannot be sent to the worker in the calling thread', async () => {
    const { p, logger } = pool();
    const ctx = { ...lintCtx, describe: () => 'not cloneable' } as typeof lintCtx;
    const der = encodeTbs(clean);
    expect(await p.lint(der, intentOf(clean), ctx)).toEqual(lintHere(der, intentOf(clean), lintCtx));
    expect(p.answered).toEqual({ worker: 0, here: 1 });
    expect(logger.lines[0]).toMatch(/linting a batch in the calling thread/);
    // the worker still serves the next one
    await p.lint(der, intentOf(clean), lintCtx);
    expect(p.answered).toEqual({ worker: 1, here: 1 });
  });

  it('still lints after close()', async () => {
    const { p } = pool();
    await p.lint(encodeTbs(clean), intentOf(clean), lintCtx);
    await p.close();
    await refusal(p.lint(encodeTbs(expired), intentOf(expired), lintCtx));
    expect(p.answered).toEqual({ worker: 1, here: 1 });
  });
});
