/** Shared bench helpers: timing loops, peak memory, table printing. */
export interface Rate {
  ops: number;
  seconds: number;
  perSecond: number;
}

/** Runs `fn` repeatedly for about `seconds` (at least `minOps` times), sequentially. */
export async function rate(fn: () => unknown, seconds = 2, minOps = 20): Promise<Rate> {
  // warm-up
  for (let i = 0; i < 20; i++) await fn();
  const start = process.hrtime.bigint();
  let ops = 0;
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  while (ops < minOps || process.hrtime.bigint() < deadline) {
    await fn();
    ops++;
  }
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  return { ops, seconds: s, perSecond: ops / s };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function ratio(a: number, b: number): string {
  return `${((a / b) * 100).toFixed(1)}%`;
}

export function header(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

export function line(...cols: string[]): void {
  process.stdout.write(`${cols.join('  ')}\n`);
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs `fn` with `concurrency` calls in flight for about `seconds`; returns completed calls/s. */
export async function concurrentRate(fn: () => Promise<unknown>, concurrency: number, seconds = 2): Promise<Rate> {
  for (let i = 0; i < 20; i++) await fn();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let ops = 0;
  const worker = async () => {
    while (process.hrtime.bigint() < deadline) {
      await fn();
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  return { ops, seconds: s, perSecond: ops / s };
}

/** The p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
