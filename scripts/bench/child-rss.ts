/**
 * One memory measurement per process. The peak RSS is a high-water mark that never goes down,
 * so two measurements in one process would report the larger of the two; here each task runs
 * in a fresh `node --import tsx` child and reports its own peak (VmHWM, see maxRssMiB).
 *
 * Parent: `runInChild(moduleUrl, exportName, args)`. Child: this file as the entry point; it
 * imports `exportName` from `moduleUrl` and calls it with `(args, mark)`. The task calls
 * `mark()` once its setup is done (store open, keys loaded), right before the measured work;
 * the delta is peak RSS minus the RSS at that moment.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type ChildTask<A, R> = (args: A, mark: () => void) => Promise<R>;

export interface ChildMeasurement<R> {
  result: R;
  /** RSS when the task called mark() (or when it started, if it never did), MiB. */
  rssAtMarkMiB: number;
  /** Peak RSS of the whole child process, MiB. */
  peakRssMiB: number;
  /** peakRssMiB - rssAtMarkMiB: what the measured work added at its peak. */
  deltaRssMiB: number;
  /**
   * The process's high-water mark was already reached before mark() (setup peaked higher than
   * the measured work): peakRssMiB and deltaRssMiB then bound the work from above only.
   */
  peakBeforeMark: boolean;
}

const THIS_FILE = fileURLToPath(import.meta.url);
const REPO_ROOT = join(dirname(THIS_FILE), '..', '..');
const MARKER = '@@child-rss ';

/** Runs `exportName` of the module at `moduleUrl` (use `import.meta.url`) in a child process. */
export function runInChild<A, R>(
  moduleUrl: string,
  exportName: string,
  args: A,
  timeoutMs = 180_000,
): Promise<ChildMeasurement<R>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, moduleUrl, exportName, JSON.stringify(args)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(MARKER));
      const parsed = line
        ? (JSON.parse(line.slice(MARKER.length)) as { error?: string } & ChildMeasurement<R>)
        : undefined;
      if (parsed?.error) return reject(new Error(`bench child ${exportName}: ${parsed.error}`));
      if (code !== 0 || !parsed)
        return reject(new Error(`bench child ${exportName} exited ${code ?? signal}: ${out.slice(-2000)}`));
      resolve(parsed);
    });
  });
}

/**
 * Peak RSS of this process image. Linux keeps getrusage's maxRSS across fork + exec (the
 * forked copy of the parent counts), so a child spawned by a 250 MiB parent would report at
 * least 250 MiB; /proc/self/status VmHWM belongs to the exec'd image only. maxRSS elsewhere.
 */
function maxRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024; // KiB on Linux, bytes on macOS: Linux is what we run on
}

async function childMain(moduleUrl: string, exportName: string, argsJson: string): Promise<void> {
  const mod = (await import(moduleUrl)) as Record<string, unknown>;
  const task = mod[exportName];
  if (typeof task !== 'function') throw new Error(`${moduleUrl} has no export ${exportName}`);
  const MiB = 1024 * 1024;
  let rssAtMark = process.memoryUsage.rss() / MiB;
  let peakAtMark = maxRssMiB();
  const result = await (task as ChildTask<unknown, unknown>)(JSON.parse(argsJson), () => {
    rssAtMark = process.memoryUsage.rss() / MiB;
    peakAtMark = maxRssMiB();
  });
  const peak = maxRssMiB();
  const m: ChildMeasurement<unknown> = {
    result,
    rssAtMarkMiB: rssAtMark,
    peakRssMiB: peak,
    deltaRssMiB: peak - rssAtMark,
    peakBeforeMark: peak - peakAtMark < 1,
  };
  process.stdout.write(`${MARKER}${JSON.stringify(m)}\n`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const [moduleUrl, exportName, argsJson] = process.argv.slice(2);
  childMain(moduleUrl!, exportName!, argsJson ?? 'null').then(
    () => process.exit(0),
    (e: unknown) => {
      process.stdout.write(`${MARKER}${JSON.stringify({ error: String((e as Error)?.stack ?? e) })}\n`);
      process.exit(1);
    },
  );
}
