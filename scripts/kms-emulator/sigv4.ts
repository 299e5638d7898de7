/**
 * AWS Signature Version 4 verification with the AWS SDK's own signer (`@smithy/signature-v4`):
 * we re-sign what arrived — the same method, path, query, the headers the caller listed in
 * SignedHeaders, its X-Amz-Date and payload hash — with the secret we hold for the access key id,
 * and compare signatures. The canonicalisation is therefore the SDK's, not a copy of it. What
 * stays here is what an endpoint adds around the signature: the AWS errors for a missing, unknown
 * or mis-scoped credential, a stale date, an unsigned Host.
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, HttpRequest, QueryParameterBag, SourceData } from '@smithy/types';
import { KmsError } from './kms-error.js';

export interface IncomingSigned {
  method: string;
  /** Request target as sent: path and query, percent-encoded. */
  url: string;
  /** node's rawHeaders: [name, value, name, value, ...]. */
  rawHeaders: readonly string[];
  body: Buffer;
}

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
}

const MAX_SKEW_MS = 15 * 60_000; // AWS rejects requests signed more than 15 minutes away.

/** SHA-256 / HMAC-SHA-256 in the SDK's Checksum shape, from node:crypto. */
class NodeSha256 implements Checksum {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', typeof this.secret === 'string' ? this.secret : Buffer.from(this.secret as Uint8Array));
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

function headerMap(raw: readonly string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    m.set(name, [...(m.get(name) ?? []), raw[i + 1]!]);
  }
  return m;
}

function parseAuthorization(value: string): { credential: string; signedHeaders: string; signature: string } {
  const [alg, ...restParts] = value.trim().split(' ');
  if (alg !== 'AWS4-HMAC-SHA256')
    throw new KmsError('IncompleteSignatureException', `Unsupported signing algorithm ${alg ?? ''}`);
  const fields = new Map<string, string>();
  for (const part of restParts.join(' ').split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new KmsError(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature',
    );
  }
  return { credential, signedHeaders, signature };
}

function queryBag(query: string): QueryParameterBag {
  const bag: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const prev = bag[k];
    bag[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return bag;
}

/** `20260105T123456Z` -> Date; undefined when malformed. */
function amzDate(s: string | undefined): Date | undefined {
  const m = s === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';

/**
 * Verifies the request's SigV4 signature for service `kms`. Throws the AWS error a real
 * endpoint returns: MissingAuthenticationTokenException, UnrecognizedClientException (unknown
 * access key id), InvalidSignatureException (wrong secret, tampered request, stale date).
 */
export async function verifySigV4(
  req: IncomingSigned,
  secrets: ReadonlyMap<string, string>,
  now: Date,
): Promise<VerifiedCaller> {
  const headers = headerMap(req.rawHeaders);
  const authorization = headers.get('authorization')?.[0];
  if (!authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const { credential, signedHeaders, signature } = parseAuthorization(authorization);

  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request') {
    throw new KmsError('IncompleteSignatureException', `Malformed credential scope: ${credential}`);
  }
  const secret = secrets.get(accessKeyId);
  if (secret === undefined)
    throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== 'kms')
    throw new KmsError('InvalidSignatureException', "Credential should be scoped to correct service: 'kms'.");

  const dateHeader = headers.get('x-amz-date')?.[0];
  const signedAt = amzDate(dateHeader);
  if (!signedAt) throw new KmsError('IncompleteSignatureException', 'Missing or malformed X-Amz-Date');
  if (dateHeader!.slice(0, 8) !== date)
    throw new KmsError('InvalidSignatureException', 'Credential date does not match X-Amz-Date');
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS) {
    throw new KmsError(
      'InvalidSignatureException',
      `Signature expired: ${dateHeader} is now earlier than the allowed window`,
    );
  }

  // The signer takes a stated x-amz-content-sha256 as the payload hash without reading the body
  // (as AWS does for the signature); the body must then be the one hashed, or it was changed.
  const statedHash = headers.get('x-amz-content-sha256')?.[0];
  if (statedHash !== undefined && statedHash !== createHash('sha256').update(req.body).digest('hex'))
    throw new KmsError('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match the body');

  const names = signedHeaders.split(';');
  if (!names.includes('host')) throw new KmsError('InvalidSignatureException', "'Host' must be a signed header");
  // Exactly the headers the caller signed, so that the SDK's canonical header list is the caller's.
  const signed: Record<string, string> = {};
  for (const n of names) signed[n] = (headers.get(n) ?? []).join(',');
  const q = req.url.indexOf('?');
  const request: HttpRequest = {
    method: req.method,
    protocol: 'http:',
    hostname: signed.host ?? '',
    path: q < 0 ? req.url : req.url.slice(0, q),
    query: queryBag(q < 0 ? '' : req.url.slice(q + 1)),
    headers: signed,
    body: req.body,
  };
  const signer = new SignatureV4({
    service,
    region,
    credentials: { accessKeyId, secretAccessKey: secret },
    sha256: NodeSha256,
    // Never add x-amz-content-sha256 ourselves: only what the caller signed counts.
    applyChecksum: false,
  });
  const resigned = await signer.sign(request, { signingDate: signedAt, signableHeaders: new Set(names) });
  const expected = /Signature=([0-9a-f]+)$/.exec(String(resigned.headers.authorization))?.[1] ?? '';
  const given = Buffer.from(signature, 'hex');
  const want = Buffer.from(expected, 'hex');
  if (given.length !== want.length || !timingSafeEqual(given, want))
    throw new KmsError('InvalidSignatureException', SIGNATURE_MISMATCH);
  return { accessKeyId, region };
}
