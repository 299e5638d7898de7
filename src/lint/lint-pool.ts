/**
 * Lints encoded TBSCertificates on a worker thread, so the event loop that builds, signs and
 * stores certificates does not also parse every one back (docs/throughput.md). The verdict is
 * the one lintEncodedTbs gives in this thread, on a copy of the very bytes the caller keeps
 * and signs: the Issuer still checks after signing that the signed bytes are the linted ones.
 *
 * Requests go to the worker a few at a time (BATCH), the rest of a turn's at its end. If the
 * worker cannot start or dies, the request (and every later one) is linted in this thread
 * instead, and the reason is logged once: a lint is never skipped.
 */
import { Worker } from 'node:worker_threads';
import { AgentCaError, LintError, type ErrorCodeName, type LintFinding } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SignatureAlgorithm } from '../types.js';
import { lintEncodedTbs } from './index.js';
import type { LintIntent } from './lint-target.js';
import type { LintContext } from './lint.js';

/**
 * Requests per message. A message per request costs the loop more; one message per turn of
 * the loop leaves the worker idle until the loop has built every certificate of the turn and
 * the loop idle while the worker lints them all. 2-6 measured alike (docs/throughput.md).
 */
const BATCH = 4;

export interface LintRequest {
  id: number;
  tbs: Uint8Array;
  intent: LintIntent;
  ctx: LintContext;
}

export type LintResponse =
  | {
      id: number;
      ok: true;
      signatureAlgorithm?: SignatureAlgorithm;
      signatureAlgorithmOid: string;
      warnings: LintFinding[];
    }
  | {
      id: number;
      ok: false;
      findings?: readonly LintFinding[];
      code?: string;
      message?: string;
      details?: Record<string, unknown>;
    };

/** What prepare() needs from a lint: the algorithm the TBS names, and the warnings. */
export interface LintVerdict {
  signatureAlgorithm?: SignatureAlgorithm;
  signatureAlgorithmOid: string;
  warnings: LintFinding[];
}

interface Waiting {
  resolve(v: LintVerdict): void;
  reject(e: unknown): void;
  request: LintRequest;
  tbs: Buffer;
}

/** In this thread: the fallback, and what the worker itself runs. */
export function lintHere(tbs: Buffer, intent: LintIntent, ctx: LintContext): LintVerdict {
  const { target, warnings } = lintEncodedTbs(tbs, intent, ctx);
  return {
    ...(target.signatureAlgorithm !== undefined ? { signatureAlgorithm: target.signatureAlgorithm } : {}),
    signatureAlgorithmOid: target.signatureAlgorithmOid,
    warnings,
  };
}

export class LintPool {
  private worker: Worker | undefined;
  private failed: string | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private batch: LintRequest[] = [];
  /** Verdicts the worker gave, and those given in this thread (the fallback). */
  readonly answered = { worker: 0, here: 0 };

  constructor(
    private readonly logger: Logger,
    private readonly spawn: () => Worker = spawnLintWorker,
  ) {}

  lint(tbs: Buffer, intent: LintIntent, ctx: LintContext): Promise<LintVerdict> {
    if (this.failed !== undefined)
      return Promise.resolve().then(() => {
        this.answered.here++;
        return lintHere(tbs, intent, ctx);
      });
    return new Promise<LintVerdict>((resolve, reject) => {
      // A copy travels: the caller's buffer stays exactly as it is until it is signed.
      const request: LintRequest = { id: this.nextId++, tbs: new Uint8Array(tbs), intent, ctx };
      this.waiting.set(request.id, { resolve, reject, request, tbs });
      const n = this.batch.push(request);
      if (n >= BATCH) this.send();
      else if (n === 1) queueMicrotask(() => this.send());
    });
  }

  /** Stops the worker; requests still waiting are linted in this thread. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failed ??= 'closed';
    this.runHere();
    if (w) await w.terminate();
  }

  private send(): void {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const worker = this.failed === undefined ? this.start() : undefined;
    if (!worker) return this.runHere();
    worker.ref();
    try {
      worker.postMessage(batch);
    } catch (e) {
      // Something in a request that cannot be cloned: those requests are linted here.
      this.logger.warn('linting a batch in the calling thread', { reason: (e as Error).message });
      this.runHere(batch.map((r) => r.id));
    }
  }

  private start(): Worker | undefined {
    if (this.worker) return this.worker;
    try {
      const w = this.spawn();
      w.on('message', (out: LintResponse[]) => this.received(out));
      w.on('error', (e) => this.fail(`the lint worker failed: ${e.message}`));
      w.on('exit', (code) => {
        if (this.worker === w) this.fail(`the lint worker exited (code ${code})`);
      });
      w.unref(); // held (ref) only while a lint is waiting on it, never what keeps an idle process alive
      this.worker = w;
      return w;
    } catch (e) {
      this.fail(`the lint worker did not start: ${(e as Error).message}`);
      return undefined;
    }
  }

  private received(out: LintResponse[]): void {
    for (const r of out) {
      const w = this.waiting.get(r.id);
      if (!w) continue;
      this.waiting.delete(r.id);
      this.answered.worker++;
      if (r.ok) {
        w.resolve({
          ...(r.signatureAlgorithm !== undefined ? { signatureAlgorithm: r.signatureAlgorithm } : {}),
          signatureAlgorithmOid: r.signatureAlgorithmOid,
          warnings: r.warnings,
        });
      } else if (r.findings) w.reject(new LintError(r.findings));
      else if (r.code?.startsWith('ACA_ERR_'))
        w.reject(new AgentCaError(r.code.slice(8) as ErrorCodeName, r.message ?? r.code, r.details ?? {}));
      else w.reject(new Error(r.message ?? 'lint failed'));
    }
    if (this.waiting.size === 0) this.worker?.unref();
  }

  private fail(why: string): void {
    if (this.failed === undefined) {
      this.failed = why;
      this.logger.warn('linting in the calling thread from now on', { reason: why });
    }
    const w = this.worker;
    this.worker = undefined;
    if (w) void w.terminate();
    this.runHere();
  }

  /** Lints in this thread the requests `ids` (default: every one still waiting, after the worker failed or closed). */
  private runHere(ids: readonly number[] = [...this.waiting.keys()]): void {
    for (const id of ids) {
      const w = this.waiting.get(id);
      if (!w) continue;
      this.waiting.delete(id);
      this.answered.here++;
      try {
        w.resolve(lintHere(w.tbs, w.request.intent, w.request.ctx));
      } catch (e) {
        w.reject(e);
      }
    }
    if (this.waiting.size === 0) this.worker?.unref();
  }
}

/**
 * The worker's module next to this one: compiled JavaScript in a build; the TypeScript source
 * (through tsx, a development dependency) when this module itself runs from source, as under
 * the test runner and the benchmarks.
 */
export function spawnLintWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./lint-worker.js', import.meta.url));
  const source = JSON.stringify(new URL('./lint-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${source}); });`, {
    eval: true,
  });
}
