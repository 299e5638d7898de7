/**
 * The lint worker thread (src/lint/lint-pool.ts): parses and lints encoded TBSCertificates
 * off the event loop. It answers each batch of requests with the same verdicts
 * lintEncodedTbs gives in the calling thread: the signature algorithm the TBS names and its
 * warnings, or the refusal (LintError findings, or another AgentCaError's code and message).
 */
import { parentPort } from 'node:worker_threads';
import { AgentCaError, LintError } from '../errors.js';
import { lintHere, type LintRequest, type LintResponse } from './lint-pool.js';

parentPort!.on('message', (batch: LintRequest[]) => {
  const out: LintResponse[] = batch.map((r) => {
    try {
      const tbs = Buffer.from(r.tbs.buffer, r.tbs.byteOffset, r.tbs.byteLength);
      return { id: r.id, ok: true, ...lintHere(tbs, r.intent, r.ctx) };
    } catch (e) {
      if (e instanceof LintError) return { id: r.id, ok: false, findings: e.findings };
      if (e instanceof AgentCaError)
        return { id: r.id, ok: false, code: e.code, message: e.message, details: { ...e.details } };
      return { id: r.id, ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  });
  parentPort!.postMessage(out);
});
