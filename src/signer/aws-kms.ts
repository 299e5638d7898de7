/**
 * `awskms:` — CA and agent keys held in AWS KMS, used through @aws-sdk/client-kms. The key
 * never leaves KMS: we hash locally and send only the digest (MessageType DIGEST), so a large
 * TBS costs one round trip and no 4 KiB RAW-message limit applies.
 *
 * Endpoint, region and credentials come from the SDK's own configuration: the default
 * credential chain, AWS_REGION, and AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL (honoured by this
 * SDK version without a flag; the project's emulator is reached that way in tests). When the
 * authority passes an explicit `ctx.env`, the same SDK-defined variables are read from it.
 * The SDK's own retries are off (maxAttempts 1): this module retries throttling, 5xx and
 * network failures with capped exponential backoff and full jitter, so attempts don't multiply.
 */
import { createHash } from 'node:crypto';
import type { KeyMetadata, KeySpec, KMSClient, KMSClientConfig, SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import type * as KmsSdk from '@aws-sdk/client-kms';
import { ecdsaFieldBytes, normaliseEcdsaSignature } from '../asn1/ecdsa-signature.js';
import { AgentCaError, isAgentCaError } from '../errors.js';
import type { KeyType, KeyUri, SignatureAlgorithm } from '../types.js';
import { algorithmInfo, defaultAlgorithm } from './algorithms.js';
import { formatAwsKmsUri, parseAwsKmsUri } from './aws-kms-uri.js';
import { keyTypeOfSpki } from './public-key.js';
import type { KeyManager, Signer, SignerContext } from './signer.js';

export interface AwsKmsOptions {
  /** Total attempts per KMS call (default AWS_MAX_ATTEMPTS, else 5). */
  maxAttempts?: number;
  /** First backoff ceiling; doubles per attempt up to maxDelayMs (defaults 50 ms, 2 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request bounds so an unreachable KMS turns into SIGNER_UNAVAILABLE (defaults 5 s, 2 s). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A Signer whose key is in KMS; `keyArn` is the key the URI resolved to when opened. */
export interface AwsKmsSigner extends Signer {
  readonly keyArn: string;
}

type Sdk = typeof KmsSdk;
let sdkLoading: Promise<Sdk> | undefined;
/** The SDK loads on first use (~90 ms), so processes that never touch awskms: don't pay for it. */
const loadSdk = (): Promise<Sdk> => (sdkLoading ??= import('@aws-sdk/client-kms'));

const KMS_ALGORITHM: Partial<Record<SignatureAlgorithm, SigningAlgorithmSpec>> = {
  sha256WithRSAEncryption: 'RSASSA_PKCS1_V1_5_SHA_256',
  sha384WithRSAEncryption: 'RSASSA_PKCS1_V1_5_SHA_384',
  sha512WithRSAEncryption: 'RSASSA_PKCS1_V1_5_SHA_512',
  ecdsaWithSHA256: 'ECDSA_SHA_256',
  ecdsaWithSHA384: 'ECDSA_SHA_384',
};

const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncorrectSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'NotAuthorizedException',
  'CredentialsProviderError',
]);
const THROTTLED = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function classify(e: unknown): 'throttled' | 'server' | 'network' | 'final' {
  const err = (e ?? {}) as SdkError;
  const status = err.$metadata?.httpStatusCode;
  if (THROTTLED.has(err.name ?? '') || err.$retryable?.throttling) return 'throttled';
  if (status !== undefined && status >= 500) return 'server';
  if (status === undefined && (err.name === 'TimeoutError' || NETWORK_CODES.has(err.code ?? ''))) return 'network';
  return 'final';
}

/** KMS / SDK failure -> typed error. KMSInvalidStateException is refined by the caller (it needs DescribeKey). */
export function kmsError(e: unknown, op: string, keyId: string): AgentCaError {
  if (isAgentCaError(e)) return e;
  const err = (e ?? {}) as SdkError;
  const name = err.name ?? 'Error';
  const details = { keyId, operation: op, kmsError: name };
  const msg = `KMS ${op} for ${keyId}: ${name}: ${err.message ?? String(e)}`;
  const opts = { cause: e };
  if (name === 'NotFoundException') return new AgentCaError('SIGNER_KEY_NOT_FOUND', msg, details, opts);
  if (name === 'DisabledException') return new AgentCaError('SIGNER_KEY_DISABLED', msg, details, opts);
  if (name === 'KMSInvalidStateException') {
    return /pending\s*deletion/i.test(err.message ?? '')
      ? new AgentCaError('SIGNER_KEY_PENDING_DELETION', msg, details, opts)
      : new AgentCaError('SIGNER_KEY_DISABLED', msg, details, opts);
  }
  if (ACCESS_DENIED.has(name)) return new AgentCaError('SIGNER_ACCESS_DENIED', msg, details, opts);
  if (name === 'InvalidKeyUsageException' || name === 'UnsupportedOperationException')
    return new AgentCaError('SIGNER_UNSUPPORTED', msg, details, opts);
  if (err.$metadata === undefined && /region/i.test(err.message ?? '')) {
    return new AgentCaError(
      'SIGNER_URI_INVALID',
      `${msg} (set region= in the awskms: URI or AWS_REGION)`,
      details,
      opts,
    );
  }
  if (name === 'ValidationException') return new AgentCaError('INPUT_INVALID', msg, details, opts);
  if (name === 'AlreadyExistsException') return new AgentCaError('CA_ALREADY_INITIALISED', msg, details, opts);
  return new AgentCaError('SIGNER_UNAVAILABLE', msg, details, opts);
}

/** Runs one KMS call with bounded retries (exponential backoff, full jitter) and typed errors. */
export class KmsCaller {
  private readonly maxAttempts: number;
  private readonly base: number;
  private readonly cap: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly sdk: Sdk,
    readonly client: KMSClient,
    opts: AwsKmsOptions,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    const fromEnv = Number.parseInt(env.AWS_MAX_ATTEMPTS ?? '', 10);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 5));
    this.base = opts.baseDelayMs ?? 50;
    this.cap = opts.maxDelayMs ?? 2_000;
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** `idempotent: false` retries only throttling (the request was refused, not executed). */
  async call<T>(op: string, keyId: string, fn: () => Promise<T>, idempotent = true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const kind = classify(e);
        const retryable = kind === 'throttled' || (idempotent && (kind === 'server' || kind === 'network'));
        if (!retryable || attempt >= this.maxAttempts) {
          const mapped = kmsError(e, op, keyId);
          if (retryable)
            throw new AgentCaError(
              'SIGNER_UNAVAILABLE',
              `${mapped.message} (after ${attempt} attempts)`,
              { ...mapped.details, attempts: attempt },
              { cause: e },
            );
          throw mapped;
        }
        await this.sleep(Math.floor(this.random() * Math.min(this.cap, this.base * 2 ** (attempt - 1))));
      }
    }
  }
}

/** KMSClient from the SDK's configuration chain, plus the SDK-defined variables of an explicit ctx.env. */
export async function createKmsClient(
  region: string | undefined,
  ctx: SignerContext,
  opts: AwsKmsOptions = {},
): Promise<{ sdk: Sdk; client: KMSClient }> {
  const sdk = await loadSdk();
  const config: KMSClientConfig = {
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? 5_000,
      connectionTimeout: opts.connectionTimeoutMs ?? 2_000,
      throwOnRequestTimeout: true,
    },
  };
  const env = ctx.env;
  if (env && env !== process.env) {
    const endpoint =
      env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true'
        ? undefined
        : (env.AWS_ENDPOINT_URL_KMS ?? env.AWS_ENDPOINT_URL);
    if (endpoint) config.endpoint = endpoint;
    if (env.AWS_REGION) config.region = env.AWS_REGION;
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      config.credentials = {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      };
    }
  }
  if (region) config.region = region;
  return { sdk, client: new sdk.KMSClient(config) };
}

export function effectiveEnv(ctx: SignerContext): Readonly<Record<string, string | undefined>> {
  return ctx.env ?? process.env;
}

function refuseState(meta: KeyMetadata, uri: string): void {
  const details = { keyUri: uri, keyArn: meta.Arn, keyState: meta.KeyState };
  if (meta.KeyState === 'Enabled') return;
  if (meta.KeyState === 'PendingDeletion' || meta.KeyState === 'PendingReplicaDeletion') {
    throw new AgentCaError('SIGNER_KEY_PENDING_DELETION', `KMS key ${meta.Arn} is pending deletion (${uri})`, details);
  }
  if (meta.KeyState === 'Disabled')
    throw new AgentCaError('SIGNER_KEY_DISABLED', `KMS key ${meta.Arn} is disabled (${uri})`, details);
  throw new AgentCaError(
    'SIGNER_UNAVAILABLE',
    `KMS key ${meta.Arn} is in state ${meta.KeyState ?? 'unknown'} (${uri})`,
    details,
  );
}

export async function openAwsKmsSigner(
  uri: KeyUri,
  ctx: SignerContext,
  opts: AwsKmsOptions = {},
): Promise<AwsKmsSigner> {
  const ref = parseAwsKmsUri(uri);
  const { sdk, client } = await createKmsClient(ref.region, ctx, opts);
  const kms = new KmsCaller(sdk, client, opts, effectiveEnv(ctx));
  try {
    const described = await kms.call('DescribeKey', ref.keyId, () =>
      kms.client.send(new kms.sdk.DescribeKeyCommand({ KeyId: ref.keyId })),
    );
    const meta = described.KeyMetadata;
    if (!meta?.Arn)
      throw new AgentCaError('SIGNER_UNAVAILABLE', `KMS DescribeKey for ${ref.keyId} returned no key metadata`);
    if (meta.KeyUsage !== 'SIGN_VERIFY') {
      throw new AgentCaError(
        'SIGNER_UNSUPPORTED',
        `KMS key ${meta.Arn} has KeyUsage ${meta.KeyUsage ?? '?'}, not SIGN_VERIFY`,
        { keyUri: uri },
      );
    }
    refuseState(meta, uri);
    // The ARN pins the key: if an alias is later pointed elsewhere, this signer keeps signing
    // with the key whose public key it cached, never with one that does not match it.
    const keyArn = meta.Arn;
    const pub = await kms.call('GetPublicKey', keyArn, () =>
      kms.client.send(new kms.sdk.GetPublicKeyCommand({ KeyId: keyArn })),
    );
    if (!pub.PublicKey) throw new AgentCaError('SIGNER_UNAVAILABLE', `KMS GetPublicKey for ${keyArn} returned no key`);
    const publicKeyInfo = Buffer.from(pub.PublicKey);
    let keyType: KeyType;
    try {
      keyType = keyTypeOfSpki(publicKeyInfo);
    } catch (e) {
      throw new AgentCaError(
        'SIGNER_UNSUPPORTED',
        `KMS key ${keyArn} (${meta.KeySpec ?? '?'}): ${(e as Error).message}`,
        { keyUri: uri },
        { cause: e },
      );
    }
    const algorithm = defaultAlgorithm(keyType);
    const signingAlgorithm = KMS_ALGORITHM[algorithm];
    // Ed25519 in KMS is RAW-only (4 KiB), which cannot carry an arbitrary TBS: not offered here.
    if (!signingAlgorithm || !(pub.SigningAlgorithms ?? []).includes(signingAlgorithm)) {
      throw new AgentCaError(
        'SIGNER_UNSUPPORTED',
        `KMS key ${keyArn} (${keyType}) does not offer ${signingAlgorithm ?? algorithm}`,
        { keyUri: uri },
      );
    }
    const digest = algorithmInfo(algorithm).digest!;
    const ecdsa = keyType === 'p256' || keyType === 'p384' ? ecdsaFieldBytes(keyType) : 0;

    return {
      keyUri: uri,
      keyArn,
      keyType,
      algorithm,
      publicKeyInfo,
      async sign(data: Uint8Array): Promise<Buffer> {
        const message = createHash(digest).update(data).digest();
        let out;
        try {
          out = await kms.call('Sign', keyArn, () =>
            kms.client.send(
              new kms.sdk.SignCommand({
                KeyId: keyArn,
                Message: message,
                MessageType: 'DIGEST',
                SigningAlgorithm: signingAlgorithm,
              }),
            ),
          );
        } catch (e) {
          throw await refine(e, kms, keyArn);
        }
        if (!out.Signature)
          throw new AgentCaError('SIGNER_UNAVAILABLE', `KMS Sign for ${keyArn} returned no signature`);
        // KMS returns ECDSA as DER already; normalising also validates it (RFC 3279 §2.2.3).
        return ecdsa ? normaliseEcdsaSignature(out.Signature, ecdsa) : Buffer.from(out.Signature);
      },
      async close(): Promise<void> {
        client.destroy();
      },
    };
  } catch (e) {
    client.destroy();
    throw e;
  }
}

/** KMSInvalidStateException does not say which state: ask DescribeKey, so the code is exact. */
async function refine(e: unknown, kms: KmsCaller, keyArn: string): Promise<unknown> {
  if (!(isAgentCaError(e) && e.details.kmsError === 'KMSInvalidStateException')) return e;
  try {
    const d = await kms.call('DescribeKey', keyArn, () =>
      kms.client.send(new kms.sdk.DescribeKeyCommand({ KeyId: keyArn })),
    );
    if (d.KeyMetadata) refuseState(d.KeyMetadata, keyArn);
  } catch (refined) {
    if (isAgentCaError(refined) && refined.details.keyState !== undefined) return refined;
  }
  return e;
}

const KEY_SPEC: Record<Exclude<KeyType, 'ed25519'>, KeySpec> = {
  rsa2048: 'RSA_2048',
  rsa3072: 'RSA_3072',
  rsa4096: 'RSA_4096',
  p256: 'ECC_NIST_P256',
  p384: 'ECC_NIST_P384',
};
const LABEL = /^[A-Za-z0-9_-][A-Za-z0-9/_-]{0,249}$/;

/** One short-lived client per operation: key lifecycle calls are rare, and env changes are picked up. */
async function withKms<T>(
  region: string | undefined,
  ctx: SignerContext,
  opts: AwsKmsOptions,
  fn: (kms: KmsCaller) => Promise<T>,
): Promise<T> {
  const { sdk, client } = await createKmsClient(region, ctx, opts);
  try {
    return await fn(new KmsCaller(sdk, client, opts, effectiveEnv(ctx)));
  } finally {
    client.destroy();
  }
}

/**
 * createKey -> CreateKey (SIGN_VERIFY) and, with a label, CreateAlias `alias/<label>`; returns
 * `awskms:key-id=<KeyId>;region=<region>` (the key id, not the alias, so the URI always names
 * the same key). scheduleKeyDeletion accepts 7..30 days as KMS does and is idempotent.
 */
export function awsKmsKeyManager(ctx: SignerContext, opts: AwsKmsOptions = {}): KeyManager {
  return {
    scheme: 'awskms',
    async createKey({ keyType, label }) {
      if (keyType === 'ed25519')
        throw new AgentCaError(
          'SIGNER_UNSUPPORTED',
          'awskms: Ed25519 keys are not supported (KMS signs Ed25519 only over RAW messages of at most 4 KiB)',
        );
      const spec = KEY_SPEC[keyType];
      const alias = label === undefined ? undefined : `alias/${label.replace(/^alias\//, '')}`;
      if (alias !== undefined && (!LABEL.test(alias.slice(6)) || alias.startsWith('alias/aws/'))) {
        throw new AgentCaError(
          'INPUT_INVALID',
          `awskms: label ${JSON.stringify(label)} is not a valid KMS alias name ([A-Za-z0-9/_-], not aws/...)`,
        );
      }
      return withKms(undefined, ctx, opts, async (kms) => {
        if (alias !== undefined) {
          const taken = await kms
            .call('DescribeKey', alias, () => kms.client.send(new kms.sdk.DescribeKeyCommand({ KeyId: alias })))
            .then(
              () => true,
              (e: unknown) => {
                if (isAgentCaError(e) && e.is('SIGNER_KEY_NOT_FOUND')) return false;
                throw e;
              },
            );
          if (taken)
            throw new AgentCaError('CA_ALREADY_INITIALISED', `refusing to reuse the existing KMS alias ${alias}`, {
              alias,
            });
        }
        const created = await kms.call(
          'CreateKey',
          spec,
          () =>
            kms.client.send(
              new kms.sdk.CreateKeyCommand({
                KeySpec: spec,
                KeyUsage: 'SIGN_VERIFY',
                Description: `agent-ca ${alias ?? keyType}`,
                Tags: [{ TagKey: 'created-by', TagValue: 'agent-ca' }],
              }),
            ),
          false, // CreateKey is not idempotent: a retried 5xx could leave an orphan key.
        );
        const keyId = created.KeyMetadata?.KeyId;
        const arn = created.KeyMetadata?.Arn;
        if (!keyId || !arn) throw new AgentCaError('SIGNER_UNAVAILABLE', 'KMS CreateKey returned no key id');
        if (alias !== undefined) {
          try {
            await kms.call('CreateAlias', alias, () =>
              kms.client.send(new kms.sdk.CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId })),
            );
          } catch (e) {
            // Lost a race for the alias: do not leave a key nobody can name.
            await kms
              .call('ScheduleKeyDeletion', arn, () =>
                kms.client.send(new kms.sdk.ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 })),
              )
              .catch(() => undefined);
            throw e;
          }
        }
        // The key ARN names the region the SDK resolved; the URI records it so it never depends on env later.
        const region = arn.split(':')[3];
        return formatAwsKmsUri(region ? { keyId, region } : { keyId });
      });
    },

    async scheduleKeyDeletion(uri, pendingWindowDays) {
      if (!Number.isInteger(pendingWindowDays) || pendingWindowDays < 7 || pendingWindowDays > 30) {
        throw new AgentCaError('INPUT_INVALID', `KMS pending window must be 7..30 days, got ${pendingWindowDays}`, {
          pendingWindowDays,
        });
      }
      const ref = parseAwsKmsUri(uri);
      return withKms(ref.region, ctx, opts, async (kms) => {
        // ScheduleKeyDeletion takes no alias: resolve to the ARN first, and learn the state.
        const d = await kms.call('DescribeKey', ref.keyId, () =>
          kms.client.send(new kms.sdk.DescribeKeyCommand({ KeyId: ref.keyId })),
        );
        const meta = d.KeyMetadata;
        if (!meta?.Arn)
          throw new AgentCaError('SIGNER_UNAVAILABLE', `KMS DescribeKey for ${ref.keyId} returned no key metadata`);
        if (meta.KeyState === 'PendingDeletion' && meta.DeletionDate) return meta.DeletionDate; // already scheduled (retried revocation)
        const arn = meta.Arn;
        const out = await kms.call('ScheduleKeyDeletion', arn, () =>
          kms.client.send(
            new kms.sdk.ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: pendingWindowDays }),
          ),
        );
        if (!out.DeletionDate)
          throw new AgentCaError('SIGNER_UNAVAILABLE', `KMS ScheduleKeyDeletion for ${arn} returned no DeletionDate`);
        return out.DeletionDate;
      });
    },
  };
}
