/**
 * `<data>/server.json`: written by `serve`/`start` on a LevelDB data directory while they hold
 * it, so that other commands can name the running server (its pid and URL) instead of a bare
 * lock error, and `init` can refuse with a clear message (docs/cli-and-package.md).
 * A file left by a process that died (kill -9) is recognised by its pid being gone.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServerFile {
  pid: number;
  url: string;
}

const NAME = 'server.json';

export function writeServerFile(dataDir: string, url: string): () => void {
  const path = join(dataDir, NAME);
  writeFileSync(path, `${JSON.stringify({ pid: process.pid, url })}\n`, { mode: 0o600 });
  return () => rmSync(path, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server holding dataDir, or undefined (no file, unreadable, or its process is gone). */
export function runningServer(dataDir: string): ServerFile | undefined {
  try {
    const f = JSON.parse(readFileSync(join(dataDir, NAME), 'utf8')) as Partial<ServerFile>;
    if (typeof f.pid !== 'number' || typeof f.url !== 'string') return undefined;
    return alive(f.pid) ? { pid: f.pid, url: f.url } : undefined;
  } catch {
    return undefined;
  }
}
