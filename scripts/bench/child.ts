/** Start a server process and wait for the line that says where it listens. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Child {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

export function startChild(
  cmd: string,
  args: string[],
  match: RegExp,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 30_000,
  /** Called with the pid as soon as the process is spawned (e.g. to sample its memory from the start). */
  onSpawn?: (pid: number) => void,
): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (proc.pid !== undefined) onSpawn?.(proc.pid);
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${cmd} did not start: ${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = out.match(match);
      if (m) {
        clearTimeout(timer);
        resolve({
          proc,
          url: m[1]!,
          stop: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
              setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
            }),
        });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (!out.match(match)) reject(new Error(`${cmd} exited ${code}: ${out}`));
    });
  });
}
