/**
 * The openssl binary as a test oracle (every artifact a counterparty sees is checked by openssl,
 * docs/architecture.md). Never throws on a non-zero exit: tests assert on status and output, so a refusal
 * by openssl is as easy to check as an OK. Bounded in time.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslResult {
  stdout: string;
  stderr: string;
  /** Exit status; -1 when the process was killed (timeout) or could not start. */
  status: number;
}

export interface OpensslOptions {
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
}

export function openssl(args: readonly string[], opts: OpensslOptions = {}): OpensslResult {
  const r = spawnSync('openssl', args, {
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 15_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : ''), status: r.status ?? -1 };
}

/** Same contract, without blocking the event loop: lets a test run several openssl checks at once. */
export function opensslAsync(args: readonly string[], opts: OpensslOptions = {}): Promise<OpensslResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      [...args],
      { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? Number((err as { code: number }).code)
            : -1
          : 0;
        resolve({ stdout: stdout ?? '', stderr: stderr ?? '', status: code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Run `fn` over `items` with at most `limit` in flight (2 cores: openssl checks in pairs). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface TempDir {
  dir: string;
  /** Write a file into the directory; returns its path. */
  file(name: string, data: string | Uint8Array): string;
  cleanup(): void;
}

export function tempDir(prefix = 'agent-ca-openssl-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, data) {
      const p = join(dir, name);
      writeFileSync(p, data);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Seconds since the epoch, for `openssl verify -attime`. */
export function unixTime(at: string | Date): number {
  return Math.floor(new Date(at).getTime() / 1000);
}

/** One line of `openssl asn1parse` output, parsed. */
export interface Asn1Line {
  offset: number;
  depth: number;
  headerLength: number;
  length: number;
  constructed: boolean;
  /** e.g. OBJECT, OCTET STRING, UTF8STRING, cont [ 2 ] */
  type: string;
  /** What follows the ':' after the type (OID name, string value, [HEX DUMP]:...), trimmed. */
  value: string;
}

const ASN1_LINE = /^\s*(\d+):d=\s*(\d+)\s+hl=\s*(\d+)\s+l=\s*(\d+)\s+(prim|cons):\s*(.*?)\s*(?::(.*))?$/;

export function parseAsn1(stdout: string): Asn1Line[] {
  const out: Asn1Line[] = [];
  for (const line of stdout.split('\n')) {
    const m = ASN1_LINE.exec(line);
    if (!m) continue;
    out.push({
      offset: Number(m[1]),
      depth: Number(m[2]),
      headerLength: Number(m[3]),
      length: Number(m[4]),
      constructed: m[5] === 'cons',
      type: m[6]!.trim().replace(/\s+/g, ' '),
      value: (m[7] ?? '').trim(),
    });
  }
  return out;
}
