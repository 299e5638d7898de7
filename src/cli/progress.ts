/**
 * Progress for long operations (RSA-4096 key generation, a 1,000,000-entry CRL, audit verify over
 * millions of entries, store migrations): one line on stderr, rewritten in place, only when
 * stderr is a terminal (`Io.progress`), so pipes, logs and scripts see nothing
 * (docs/cli-and-package.md). Elapsed time comes from a monotonic timer: it paces a display and
 * decides nothing.
 */
import type { Io } from './args.js';

export interface Progress {
  /** Replaces the detail shown after the label, e.g. `120,000 of 1,000,000 entries`. */
  detail(text: string): void;
}

const TICK_MS = 250;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Runs fn; meanwhile, when io.progress is set, shows `label… [detail] 12.3s` on one line, and
 * at the end `label: done in 12.3s` (or `label: failed after …`). Without io.progress it just
 * runs fn.
 */
export async function withProgress<T>(io: Io, label: string, fn: (p: Progress) => Promise<T>): Promise<T> {
  const write = io.progress;
  let detail = '';
  const progress: Progress = { detail: (t) => void (detail = t) };
  if (!write) return fn(progress);
  const started = performance.now();
  let width = 0;
  const draw = (line: string) => {
    // Pad over the previous line's tail: \r returns to column 0 but clears nothing.
    write(`\r${line.padEnd(width)}`);
    width = line.length;
  };
  const show = () => draw(`${label}…${detail ? ` ${detail}` : ''} ${seconds(performance.now() - started)}`);
  show();
  const timer = setInterval(show, TICK_MS);
  timer.unref();
  try {
    const r = await fn(progress);
    draw(`${label}: done in ${seconds(performance.now() - started)}`);
    return r;
  } catch (e) {
    draw(`${label}: failed after ${seconds(performance.now() - started)}`);
    throw e;
  } finally {
    clearInterval(timer);
    write('\n');
  }
}
