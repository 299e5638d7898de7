/** Spawns a TypeScript helper under test/helpers with tsx and reads its stdout line by line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface TsChild {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited (with its code and signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTsHelper(script: string, args: string[], env: Record<string, string> = {}): TsChild {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters.splice(0)) w();
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  return {
    child,
    exited,
    waitForLine(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern} from ${script}; stderr: ${err}`)),
          timeoutMs,
        );
        const check = (): void => {
          const line = out.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(line);
          } else if (hasExited || child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`${script} exited without printing ${pattern}; stdout: ${out} stderr: ${err}`));
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}
