/**
 * `agent-ca crl sync`: keep a gateway's CRL file (nginx `ssl_crl`, Apache
 * `SSLCARevocationFile`) equal to what the CA publishes, without ever handing it a bad one.
 *
 * Each pass: a conditional GET per CRL (If-None-Match with the last ETag; 304 costs nothing);
 * every CRL fetched must be a complete CRL (no DeltaCRLIndicator: OpenSSL-based gateways do not
 * merge deltas, RFC 5280 §5.2.4), signed by one of the given CA certificates with the same
 * issuer Name (§6.3.3 (f)), current (thisUpdate not ahead, nextUpdate not passed: an expired CRL
 * makes OpenSSL refuse every client), and its CRLNumber never lower than the one last written
 * (§5.2.3: a replayed old CRL would un-revoke). Only then is the file rewritten, as PEM (what
 * both gateways read), through a temporary file and rename(2), so a reader sees the old file or
 * the new one; the command (`nginx -s reload`) runs only when the bytes changed. On any error
 * the last good file stays. See docs/revocation-freshness.md.
 */
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { content, readWhole } from '../asn1/der-reader.js';
import { Tag } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { toPem } from '../asn1/pem.js';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { readBody } from '../actions/fetch-bytes.js';
import { parseCrl } from '../actions/crl-status.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { verifySignature } from '../signer/verify.js';

const MAX_CRL_BYTES = 64 * 1024 * 1024;
const SKEW_MS = 5 * 60_000;

export interface CrlSyncOptions {
  /** CRLs to fetch, written into one file in this order (intermediate, then root). */
  urls: readonly string[];
  out: string;
  /** Certificates (DER) of the CAs whose CRLs these are: each CRL must verify with one. */
  caCertificates: readonly Buffer[];
  /** Shell command run after the file changed (e.g. `nginx -s reload`). */
  exec?: string;
  clock: Clock;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface SyncResult {
  changed: boolean;
  /** CRLNumber of each CRL, in `urls` order. */
  numbers: bigint[];
  /** false when --exec ran and failed (the file was written all the same). */
  execOk?: boolean;
}

interface Fetched {
  etag?: string;
  der: Buffer;
  number: bigint;
}

function crlNumberOf(extensions: { oid: string; value: Buffer }[]): bigint {
  const e = extensions.find((x) => x.oid === Oids.crlNumber);
  if (!e) throw new AgentCaError('CRL_REJECTED', 'the CRL has no CRLNumber (RFC 5280 §5.2.3 requires it)');
  const bytes = content(e.value, readWhole(e.value, Tag.INTEGER, 'CRLNumber'));
  return BigInt(`0x${bytes.toString('hex') || '0'}`);
}

export class CrlSync {
  private readonly last = new Map<string, Fetched>();
  private readonly cas: { subject: Buffer; publicKeyInfo: Buffer }[];

  constructor(private readonly o: CrlSyncOptions) {
    if (o.urls.length === 0) throw new AgentCaError('INPUT_INVALID', 'crl sync needs at least one CRL URL');
    this.cas = o.caCertificates.map((der) => parseCertificate(der));
  }

  /** One pass. Throws (file untouched) when a CRL cannot be fetched or is not to be trusted. */
  async once(): Promise<SyncResult> {
    const fetched: Fetched[] = [];
    for (const url of this.o.urls) fetched.push(await this.fetchOne(url));
    const pem = fetched.map((f) => toPem(f.der, 'X509 CRL')).join('');
    let current: string | undefined;
    try {
      current = readFileSync(this.o.out, 'utf8');
    } catch {
      current = undefined;
    }
    // Remembered only once every CRL of the pass was accepted: a partial pass changes nothing.
    this.o.urls.forEach((u, i) => this.last.set(u, fetched[i]!));
    const numbers = fetched.map((f) => f.number);
    if (current === pem) return { changed: false, numbers };
    this.writeAtomically(pem);
    this.o.log?.(`wrote ${this.o.out} (CRL ${numbers.map((n) => `#${n}`).join(', ')})`);
    if (!this.o.exec) return { changed: true, numbers };
    return { changed: true, numbers, execOk: await this.run(this.o.exec) };
  }

  private async fetchOne(url: string): Promise<Fetched> {
    const prev = this.last.get(url);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/pkix-crl', ...(prev?.etag ? { 'if-none-match': prev.etag } : {}) },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        redirect: 'error',
      });
    } catch (e) {
      throw new AgentCaError('CRL_FETCH_FAILED', `${url}: ${(e as Error).message}`, { url });
    }
    if (res.status === 304 && prev) {
      await res.body?.cancel();
      return prev;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new AgentCaError('CRL_FETCH_FAILED', `${url} answered HTTP ${res.status}`, { url, status: res.status });
    }
    let der: Buffer;
    try {
      der = await readBody(res, url, MAX_CRL_BYTES);
    } catch (e) {
      throw new AgentCaError('CRL_FETCH_FAILED', (e as Error).message, { url });
    }
    const number = this.check(url, der, prev);
    const etag = res.headers.get('etag') ?? undefined;
    return { der, number, ...(etag ? { etag } : {}) };
  }

  /** Everything that must hold before a gateway may read this CRL; returns its CRLNumber. */
  private check(url: string, der: Buffer, prev: Fetched | undefined): bigint {
    const reject = (why: string): never => {
      throw new AgentCaError('CRL_REJECTED', `${url}: ${why}; keeping ${this.o.out} as it is`, { url });
    };
    let crl: ReturnType<typeof parseCrl>;
    try {
      crl = parseCrl(der);
    } catch (e) {
      return reject(`not a DER CRL (${(e as Error).message})`);
    }
    const ca = this.cas.find((c) => c.subject.equals(crl.issuer));
    if (!ca) return reject('issued by none of the given CA certificates');
    if (!verifySignature(crl.signatureAlgorithmOid, crl.tbs, ca.publicKeyInfo, crl.signature))
      return reject('the signature does not verify with the CA certificate');
    if (crl.extensions.some((e) => e.oid === Oids.deltaCrlIndicator))
      return reject('a delta CRL (gateways need the complete CRL: use the URL without -delta)');
    const now = this.o.clock.now().getTime();
    if (crl.thisUpdate.getTime() > now + SKEW_MS)
      return reject(`thisUpdate ${crl.thisUpdate.toISOString()} is in the future`);
    if (!crl.nextUpdate || crl.nextUpdate.getTime() <= now)
      return reject(`expired (nextUpdate ${crl.nextUpdate?.toISOString() ?? 'absent'})`);
    const number = crlNumberOf(crl.extensions);
    if (prev && number < prev.number)
      return reject(`CRLNumber ${number} is lower than ${prev.number}, already written (a replayed CRL)`);
    return number;
  }

  private writeAtomically(pem: string): void {
    const tmp = `${this.o.out}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, pem);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.o.out);
  }

  private run(command: string): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', (e) => {
        this.o.log?.(`--exec failed to start: ${e.message}`);
        resolve(false);
      });
      child.on('exit', (code, signal) => {
        if (code !== 0) this.o.log?.(`--exec "${command}" exited ${signal ?? code}`);
        resolve(code === 0);
      });
    });
  }
}

/** `10s`, `500ms`, `2m`, or plain seconds. */
export function parseInterval(s: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}
