/**
 * crl sync: keep a gateway's CRL file current (src/gateway/crl-sync.ts). Once, or every
 * --interval until SIGINT/SIGTERM; in the loop an error is one line on stderr and the next pass
 * retries, the last good file staying in place.
 */
import { readFileSync } from 'node:fs';
import { parsePem } from '../../asn1/pem.js';
import { systemClock } from '../../clock.js';
import { isAgentCaError } from '../../errors.js';
import { CrlSync, parseInterval } from '../../gateway/crl-sync.js';
import { parse, required, UsageError, type Io } from '../args.js';

export const crlSyncUsage =
  'agent-ca crl sync --url http://CA/crl/intermediate.crl --ca CHAIN.pem --out FILE [--root-crl] [--interval 10s] [--exec "nginx -s reload"]';

/** The root CA's CRL beside the intermediate's: same directory, root.crl (the URLs the server serves). */
function rootCrlUrl(url: string): string {
  const u = new URL(url);
  if (!/\/[^/]+\.crl$/.test(u.pathname)) throw new UsageError(`--root-crl needs --url to end in NAME.crl, got ${url}`);
  u.pathname = u.pathname.replace(/[^/]+\.crl$/, 'root.crl');
  return u.toString();
}

export async function crlSyncCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values: v } = parse(argv, {
    url: { type: 'string' },
    ca: { type: 'string' },
    out: { type: 'string' },
    'root-crl': { type: 'boolean' },
    interval: { type: 'string' },
    exec: { type: 'string' },
    data: { type: 'string' },
  });
  const url = required(v.url, '--url');
  const out = required(v.out, '--out');
  const caFile = required(v.ca, '--ca');
  let urlOk: boolean;
  try {
    urlOk = ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    urlOk = false;
  }
  if (!urlOk) throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(url)}`);
  const intervalMs = v.interval === undefined ? undefined : parseInterval(v.interval);
  if (v.interval !== undefined && (intervalMs === undefined || intervalMs < 1000))
    throw new UsageError(`--interval must be at least 1s (e.g. 10s, 2m), got ${JSON.stringify(v.interval)}`);
  let cas: Buffer[];
  try {
    cas = parsePem(readFileSync(caFile, 'utf8'))
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b) => b.der);
  } catch (e) {
    throw new UsageError(`--ca ${caFile}: ${(e as Error).message}`);
  }
  if (cas.length === 0)
    throw new UsageError(
      `--ca ${caFile} holds no PEM certificate (agent-ca chain writes root.pem and intermediate.pem)`,
    );
  const urls = v['root-crl'] ? [url, rootCrlUrl(url)] : [url];
  const sync = new CrlSync({
    urls,
    out,
    caCertificates: cas,
    clock: systemClock,
    log: (l) => io.out(`agent-ca crl sync: ${l}`),
    ...(v.exec ? { exec: v.exec } : {}),
  });

  if (intervalMs === undefined) {
    const r = await sync.once();
    if (!r.changed) io.out(`agent-ca crl sync: ${out} is current (CRL ${r.numbers.map((n) => `#${n}`).join(', ')})`);
    return r.execOk === false ? 1 : 0;
  }
  const stop = signal ?? signalOnExit();
  while (!stop.aborted) {
    try {
      await sync.once();
    } catch (e) {
      if (!isAgentCaError(e)) throw e;
      io.err(`agent-ca crl sync: ${e.code}: ${e.message}`);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      stop.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
  return 0;
}

function signalOnExit(): AbortSignal {
  const c = new AbortController();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => c.abort());
  return c.signal;
}
