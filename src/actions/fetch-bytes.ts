/**
 * One bounded HTTP exchange for status checks (OCSP POST, CRL GET): a time limit, a size
 * limit, http/https only. RFC 5019 §5 and RFC 5280 §4.2.1.13 put OCSP and CRLs on plain
 * HTTP: the objects are signed, so transport security is not what makes them trustworthy.
 */
export interface FetchBytesOptions {
  method?: 'GET' | 'POST';
  body?: Uint8Array;
  contentType?: string;
  accept?: string;
  timeoutMs: number;
  maxBytes: number;
}

export async function fetchBytes(url: string, opts: FetchBytesOptions): Promise<Buffer> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${url}: only http and https are fetched`);
  const res = await fetch(u, {
    method: opts.method ?? 'GET',
    ...(opts.body ? { body: opts.body } : {}),
    headers: {
      ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
      ...(opts.accept ? { accept: opts.accept } : {}),
    },
    signal: AbortSignal.timeout(opts.timeoutMs),
    redirect: 'error',
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`${url} answered HTTP ${res.status}`);
  }
  return readBody(res, url, opts.maxBytes);
}

/** The body of a response, refused past `maxBytes` (declared or actual). */
export async function readBody(res: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new Error(`${url}: response of ${declared} octets exceeds ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) throw new Error(`${url}: response exceeds ${maxBytes} octets`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
