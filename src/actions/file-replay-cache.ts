/**
 * A replay cache kept in a file, so that `agent-ca verify-action --replay-cache FILE` run once
 * per envelope (a new process each time) still refuses an envelope's second use (RFC 7519
 * §4.1.7: the jti is unique per envelope; readers remember it while the envelope can pass the
 * age check). Several verifier processes may share the file at once:
 *
 * - claim() appends one line `[untilMs, token, key]` with O_APPEND and fsyncs it; appends of a
 *   line this short are atomic on a local file system, so every process sees one order of lines;
 * - it then reads the file back: the claim is won only if the first live line for `key` is our
 *   own (our random token). Two processes racing on one envelope: exactly one wins; no lock file
 *   exists that a kill -9 could leave behind;
 * - a line torn by a crash is not JSON and is skipped: an unfinished claim never acknowledged an
 *   envelope, so nothing acknowledged is lost.
 *
 * The file grows by one line per accepted envelope; expired lines are ignored. Truncating it
 * while no verifier runs is safe once every line is expired (docs/cli-and-package.md).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { AgentCaError } from '../errors.js';
import type { ReplayGuard } from './replay-cache.js';

type Line = [untilMs: number, token: string, key: string];

function readLines(path: string): Line[] {
  const out: Line[] = [];
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (!text) continue;
    try {
      const l = JSON.parse(text) as unknown;
      if (
        Array.isArray(l) &&
        l.length === 3 &&
        typeof l[0] === 'number' &&
        typeof l[1] === 'string' &&
        typeof l[2] === 'string'
      )
        out.push(l as Line);
    } catch {
      // a line torn by a crash mid-append: never acknowledged, so ignored
    }
  }
  return out;
}

export class FileReplayCache implements ReplayGuard {
  constructor(private readonly path: string) {
    try {
      closeSync(openSync(path, 'a', 0o600));
    } catch (e) {
      throw new AgentCaError(
        'INPUT_INVALID',
        `replay cache ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }

  claim(key: string, until: Date, now: Date): boolean {
    const t = now.getTime();
    // Already claimed by a live line: no need to write anything.
    if (readLines(this.path).some(([u, , k]) => k === key && u >= t)) return false;
    const token = randomBytes(12).toString('hex');
    const fd = openSync(this.path, 'a');
    try {
      // Leading newline: a line torn by a crash before this one must not swallow our claim.
      writeSync(fd, `\n${JSON.stringify([until.getTime(), token, key])}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const first = readLines(this.path).find(([u, , k]) => k === key && u >= t);
    return first?.[1] === token;
  }
}
