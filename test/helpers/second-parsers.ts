/**
 * Independent X.509 parsers a counterparty uses, as test oracles beside openssl: GnuTLS
 * `certtool` (libtasn1) and Debian's python3 with pyca/cryptography (rust-asn1). Both refused
 * the 2.25 arc's 123-bit OID component; these helpers run them on our artifacts. Bounded in time.
 * With CI=true a missing parser is a failure (requireParsers); locally the tests skip with a
 * message naming the Debian package.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const PYCA_SCRIPT = fileURLToPath(new URL('./pyca-parse.py', import.meta.url));

export type Availability = { available: true } | { available: false; reason: string };

export function certtoolAvailability(): Availability {
  const r = spawnSync('certtool', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0
    ? { available: true }
    : { available: false, reason: 'certtool not found (Debian package gnutls-bin)' };
}

export function pycaAvailability(): Availability {
  const r = spawnSync(PYTHON, ['-c', 'import cryptography.x509.ocsp'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0
    ? { available: true }
    : {
        available: false,
        reason: `${PYTHON} cannot import cryptography (Debian package python3-cryptography): ${r.stderr || r.error}`,
      };
}

/** A missing parser: an error under CI=true, a warning otherwise. */
export function requireParsers(what: string, ...avail: Availability[]): boolean {
  const missing = avail.filter((a): a is { available: false; reason: string } => !a.available).map((a) => a.reason);
  if (missing.length === 0) return true;
  if (process.env.CI === 'true') throw new Error(`${what} needs these parsers in CI: ${missing.join('; ')}`);
  console.warn(`skipping ${what}: ${missing.join('; ')}`);
  return false;
}

export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** GnuTLS `certtool`, or its sibling `ocsptool` (same Debian package, gnutls-bin). */
export function certtool(args: readonly string[], bin: 'certtool' | 'ocsptool' = 'certtool'): ToolResult {
  const r = spawnSync(bin, [...args], { encoding: 'utf8', timeout: 15_000, maxBuffer: 16 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

export type PycaKind = 'certificate' | 'crl' | 'ocsp';

/** One python process for the whole batch; each result is the parsed fields or { error }. */
export function pyca(items: readonly { path: string; kind: PycaKind }[]): Record<string, any>[] {
  const r = spawnSync(PYTHON, [PYCA_SCRIPT], {
    input: JSON.stringify(items),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`pyca-parse.py exited ${r.status}: ${r.stderr || r.error}`);
  const out = JSON.parse(r.stdout) as Record<string, any>[];
  if (out.length !== items.length) throw new Error(`pyca-parse.py answered ${out.length} of ${items.length} items`);
  return out;
}

const GO_PARSE = fileURLToPath(new URL('./go-parse/main.go', import.meta.url));

export function goAvailability(): Availability {
  const r = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? { available: true } : { available: false, reason: 'go not found (Debian package golang-go)' };
}

/** Go crypto/x509 over a batch ("cert:PATH" / "crl:PATH"), one `go run` (standard library only, offline). */
export function goParse(
  items: readonly { path: string; kind: 'cert' | 'crl' }[],
  cacheDir: string,
): Record<string, any>[] {
  const env = { ...process.env, GOCACHE: cacheDir, GOPATH: cacheDir, GO111MODULE: 'off', CGO_ENABLED: '0' };
  const r = spawnSync('go', ['run', GO_PARSE, ...items.map((i) => `${i.kind}:${i.path}`)], {
    encoding: 'utf8',
    env,
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`go run go-parse exited ${r.status}: ${r.stderr || r.error}`);
  const out = JSON.parse(r.stdout) as Record<string, any>[];
  if (out.length !== items.length) throw new Error(`go-parse answered ${out.length} of ${items.length} items`);
  return out;
}
