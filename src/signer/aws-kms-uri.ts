/**
 * `awskms:` key URIs: `awskms:key-id=<key id | key ARN | alias/... | alias ARN>[;region=<region>]`.
 * Attributes are `;`-separated `name=value` pairs as in RFC 7512 (pkcs11:), values
 * percent-decoded. A key ARN names its region; a region= that contradicts it is refused rather
 * than silently picking one.
 */
import { AgentCaError } from '../errors.js';
import type { KeyUri } from '../types.js';

export interface AwsKmsKeyRef {
  keyId: string;
  region?: string;
}

const REGION = /^[a-z0-9-]{2,32}$/;
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\/.+$/;
const KEY_ID = /^(alias\/[A-Za-z0-9/_-]+|[A-Za-z0-9-]{1,128}|arn:.+)$/;

export function parseAwsKmsUri(uri: string): AwsKmsKeyRef {
  if (!uri.startsWith('awskms:')) throw new AgentCaError('SIGNER_URI_INVALID', `not an awskms: URI: ${uri}`);
  const attrs = new Map<string, string>();
  for (const part of uri.slice('awskms:'.length).split(';')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    if (i <= 0)
      throw new AgentCaError(
        'SIGNER_URI_INVALID',
        `awskms: attribute without a value: ${JSON.stringify(part)} in ${uri}`,
      );
    const name = part.slice(0, i);
    let value: string;
    try {
      value = decodeURIComponent(part.slice(i + 1));
    } catch {
      throw new AgentCaError('SIGNER_URI_INVALID', `awskms: bad percent-encoding in ${name} of ${uri}`);
    }
    if (name !== 'key-id' && name !== 'region')
      throw new AgentCaError(
        'SIGNER_URI_INVALID',
        `awskms: unknown attribute ${name} in ${uri} (known: key-id, region)`,
      );
    if (attrs.has(name)) throw new AgentCaError('SIGNER_URI_INVALID', `awskms: ${name} given twice in ${uri}`);
    attrs.set(name, value);
  }
  const keyId = attrs.get('key-id');
  if (!keyId || !KEY_ID.test(keyId))
    throw new AgentCaError('SIGNER_URI_INVALID', `awskms: URI needs key-id=<key id|ARN|alias/...>: ${uri}`);
  let region = attrs.get('region');
  if (region !== undefined && !REGION.test(region))
    throw new AgentCaError('SIGNER_URI_INVALID', `awskms: bad region ${JSON.stringify(region)} in ${uri}`);
  if (keyId.startsWith('arn:')) {
    const m = ARN.exec(keyId);
    if (!m) throw new AgentCaError('SIGNER_URI_INVALID', `awskms: key-id is not a KMS key or alias ARN: ${keyId}`);
    if (region !== undefined && region !== m[1]) {
      throw new AgentCaError(
        'SIGNER_URI_INVALID',
        `awskms: region=${region} contradicts the ARN's region ${m[1]!} in ${uri}`,
      );
    }
    region = m[1]!;
  }
  return region === undefined ? { keyId } : { keyId, region };
}

export function formatAwsKmsUri(ref: AwsKmsKeyRef): KeyUri {
  // Only '%' and ';' could be misread when parsing back; key ids, ARNs and aliases contain neither.
  const enc = (s: string): string => s.replace(/%/g, '%25').replace(/;/g, '%3B');
  return `awskms:key-id=${enc(ref.keyId)}${ref.region ? `;region=${enc(ref.region)}` : ''}` as KeyUri;
}
