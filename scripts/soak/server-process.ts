/** The soak test's server: `agent-ca serve` as a child process that can be killed with SIGKILL at any moment. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const SOAK_TOKEN = 'soak-admin-token';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL, then wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (clean shutdown: the audit log signs its last checkpoint), then wait. */
  stop(): Promise<void>;
}

export function cliPath(root: string): string {
  return join(root, 'dist', 'cli', 'bin.js');
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

/** Starts `agent-ca serve --port 0` on the data dir and resolves with its URL (bounded wait). */
export function startServerProcess(root: string, dataDir: string, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [cliPath(root), 'serve', '--data', dataDir, '--port', '0'], {
    env: { ...process.env, AGENT_CA_ADMIN_TOKEN: SOAK_TOKEN, AGENT_CA_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent-ca serve did not start within ${timeoutMs} ms: ${err || out}`));
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /agent-ca listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({
          url: m[1]!,
          child,
          async kill9() {
            child.kill('SIGKILL');
            await exited(child);
          },
          async stop() {
            child.kill('SIGTERM');
            await exited(child);
          },
        });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`agent-ca serve exited (${code ?? signal}) before listening: ${err || out}`));
    });
  });
}
