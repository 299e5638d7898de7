/**
 * AWS Signature Version 4 verification (AWS General Reference, "Create a signed AWS API
 * request"): rebuild the canonical request from what arrived, derive the signing key from the
 * secret we hold for the access key id, and compare. The SDK under test signs for real, so a
 * wrong secret fails here exactly as it would against AWS.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
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

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 unreserved characters stay, everything else is %XX (uppercase), as SigV4 requires. */
const uriEscape = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalPath(path: string): string {
  // Non-S3 services: normalise, then URI-encode each segment twice (the SDK's double encoding).
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = path.endsWith('/') && segments.length > 0 ? '/' : '';
  const once = segments.map((s) => uriEscape(decodeURIComponent(s)));
  return `/${once.map(uriEscape).join('/')}${trailing}`;
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const i = kv.indexOf('=');
      const k = decodeURIComponent((i < 0 ? kv : kv.slice(0, i)).replace(/\+/g, ' '));
      const v = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
      return [uriEscape(k), uriEscape(v)] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerMap(raw: readonly string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const list = m.get(name) ?? [];
    list.push(raw[i + 1]!.trim().replace(/\s+/g, ' '));
    m.set(name, list);
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

/**
 * Verifies the request's SigV4 signature for service `kms`. Throws the AWS error a real
 * endpoint returns: MissingAuthenticationTokenException, UnrecognizedClientException (unknown
 * access key id), InvalidSignatureException (wrong secret, tampered request, stale date).
 */
export function verifySigV4(req: IncomingSigned, secrets: ReadonlyMap<string, string>, now: Date): VerifiedCaller {
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

  const amzDate = headers.get('x-amz-date')?.[0];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate))
    throw new KmsError('IncompleteSignatureException', 'Missing or malformed X-Amz-Date');
  if (amzDate.slice(0, 8) !== date)
    throw new KmsError('InvalidSignatureException', 'Credential date does not match X-Amz-Date');
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(now.getTime() - signedAt) > MAX_SKEW_MS) {
    throw new KmsError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than the allowed window`,
    );
  }

  const names = signedHeaders.split(';');
  if (!names.includes('host')) throw new KmsError('InvalidSignatureException', "'Host' must be a signed header");
  const canonicalHeaders = names.map((n) => `${n}:${(headers.get(n) ?? []).join(',')}\n`).join('');
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const payloadHash = headers.get('x-amz-content-sha256')?.[0] ?? sha256Hex(req.body);
  const canonicalRequest = [
    req.method,
    canonicalPath(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new KmsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { accessKeyId, region };
}
