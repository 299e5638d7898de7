/**
 * KMS-API emulator: a node:http server speaking the AWS JSON 1.1 protocol (POST /,
 * `X-Amz-Target: TrentService.<Op>`, `Content-Type: application/x-amz-json-1.1`) with SigV4
 * verification, so tests and local development drive the real @aws-sdk/client-kms over its
 * production code path. It stands in for AWS in tests and development only.
 *
 * Test-only endpoints (not part of KMS): GET /__stats (counters, e.g. Sign calls per
 * certificate in benchmarks), POST /__stats/reset, POST /__faults {throttle?, internalError?,
 * operation?} to make the next N matching requests fail like a throttled or failing KMS.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KeyStore } from './key-store.js';
import { KmsError } from './kms-error.js';
import { operations, type Input } from './operations.js';
import { verifySigV4 } from './sigv4.js';

export interface KmsEmulatorOptions {
  port: number;
  host?: string;
  dataDir: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /**
   * Time source for key lifecycle (CreationDate, DeletionDate, expiry of the pending window),
   * so tests can move past a deletion date. SigV4's 15-minute skew check always uses the wall
   * clock, because that is what the SDK signs with.
   */
  now?: () => Date;
}

export interface KmsFaults {
  /** The next N requests (of `operation`, if given) answer 400 ThrottlingException. */
  throttle?: number;
  /** The next N requests (of `operation`, if given) answer 500 KMSInternalException. */
  internalError?: number;
  operation?: string;
}

export interface KmsEmulatorStats {
  requests: number;
  signCalls: number;
  verifyCalls: number;
  errors: number;
  throttled: number;
  byOperation: Record<string, number>;
  keys: number;
}

export interface KmsEmulator {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): KmsEmulatorStats;
  resetStats(): void;
  injectFaults(faults: KmsFaults): void;
}

const MAX_BODY = 1 << 20;
const JSON_11 = 'application/x-amz-json-1.1';

interface PendingFault {
  kind: 'throttle' | 'internalError';
  remaining: number;
  operation?: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new KmsError('ValidationException', 'Request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = JSON_11,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...extra,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: KmsError): void {
  send(res, e.status, { __type: e.type, message: e.message }, JSON_11, { 'x-amzn-errortype': e.type });
}

export async function startKmsEmulator(options: KmsEmulatorOptions): Promise<KmsEmulator> {
  const now = options.now ?? (() => new Date());
  const store = new KeyStore(options.dataDir, now);
  const secrets = new Map([[options.accessKeyId ?? 'test', options.secretAccessKey ?? 'test']]);
  const faults: PendingFault[] = [];
  const fresh = (): Omit<KmsEmulatorStats, 'keys'> => ({
    requests: 0,
    signCalls: 0,
    verifyCalls: 0,
    errors: 0,
    throttled: 0,
    byOperation: {},
  });
  let stats = fresh();

  const injectFaults = (f: KmsFaults): void => {
    const op = f.operation ? { operation: f.operation } : {};
    if (f.throttle && f.throttle > 0) faults.push({ kind: 'throttle', remaining: f.throttle, ...op });
    if (f.internalError && f.internalError > 0)
      faults.push({ kind: 'internalError', remaining: f.internalError, ...op });
  };

  const takeFault = (op: string): PendingFault['kind'] | undefined => {
    const i = faults.findIndex((f) => !f.operation || f.operation === op);
    if (i < 0) return undefined;
    const f = faults[i]!;
    if (--f.remaining <= 0) faults.splice(i, 1);
    return f.kind;
  };

  async function handleKms(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    stats.requests++;
    const target = req.headers['x-amz-target'];
    const op =
      typeof target === 'string' && target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    const caller = await verifySigV4(
      { method: req.method ?? 'POST', url: req.url ?? '/', rawHeaders: req.rawHeaders, body },
      secrets,
      new Date(),
    );
    const handler = Object.hasOwn(operations, op) ? operations[op] : undefined;
    if (!handler) throw new KmsError('UnknownOperationException', `Unknown operation ${String(target)}`);
    stats.byOperation[op] = (stats.byOperation[op] ?? 0) + 1;
    const fault = takeFault(op);
    if (fault === 'throttle') {
      stats.throttled++;
      throw new KmsError('ThrottlingException', 'Rate exceeded');
    }
    if (fault === 'internalError')
      throw new KmsError('KMSInternalException', 'An internal error occurred (injected)', 500);
    let input: Input;
    try {
      const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Input;
    } catch {
      throw new KmsError('SerializationException', 'Request body is not a JSON object');
    }
    send(res, 200, handler(input, { region: caller.region, store, now, stats }));
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const work = async (): Promise<void> => {
      if (req.method === 'GET' && path === '/__stats')
        return send(res, 200, { ...stats, keys: store.size }, 'application/json');
      if (req.method === 'POST' && path === '/__stats/reset') {
        await readBody(req);
        stats = fresh();
        return send(res, 200, {}, 'application/json');
      }
      if (req.method === 'POST' && path === '/__faults') {
        const f = JSON.parse((await readBody(req)).toString('utf8') || '{}') as KmsFaults;
        injectFaults(f);
        return send(res, 200, { pending: faults.length }, 'application/json');
      }
      if (req.method !== 'POST')
        throw new KmsError('UnknownOperationException', `${req.method ?? ''} ${path ?? ''}: the KMS API is POST /`);
      return handleKms(req, res);
    };
    work().catch((e: unknown) => {
      stats.errors++;
      if (res.headersSent) return;
      if (e instanceof KmsError) sendError(res, e);
      else sendError(res, new KmsError('KMSInternalException', (e as Error).message ?? String(e), 500));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    port,
    stats: () => ({ ...stats, byOperation: { ...stats.byOperation }, keys: store.size }),
    resetStats: () => {
      stats = fresh();
    },
    injectFaults,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets from SDK clients would hold close() open otherwise.
        server.closeAllConnections();
      }),
  };
}
