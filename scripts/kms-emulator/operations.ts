/**
 * The TrentService operations the emulator implements, with KMS's inputs, outputs, key states
 * and error codes (AWS KMS API Reference). AWS JSON 1.1 carries blobs as base64 strings and
 * timestamps as epoch seconds, which is what the SDK's JSON codec reads.
 */
import {
  checkAlgorithm,
  generatePrivateKeyPem,
  KEY_SPECS,
  messageDigest,
  signDigest,
  signingAlgorithmsFor,
  verifyDigest,
  type KeySpec,
} from './key-crypto.js';
import { aliasArn, ACCOUNT_ID, keyArn, type KeyRecord, type KeyStore } from './key-store.js';
import { invalidState, KmsError, validation } from './kms-error.js';

export type Input = Record<string, unknown>;
export type Output = Record<string, unknown>;

export interface OpContext {
  region: string;
  store: KeyStore;
  now: () => Date;
  stats: { signCalls: number; verifyCalls: number };
}

type Handler = (input: Input, ctx: OpContext) => Output;

const epoch = (iso: string): number => Date.parse(iso) / 1000;

function str(input: Input, name: string, required: true): string;
function str(input: Input, name: string, required?: false): string | undefined;
function str(input: Input, name: string, required = false): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required)
      throw validation(
        `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof v !== 'string') throw new KmsError('SerializationException', `${name} must be a string`);
  return v;
}

function blob(input: Input, name: string): Buffer {
  const v = str(input, name, true);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new KmsError('SerializationException', `${name} is not valid base64`);
  return Buffer.from(v, 'base64');
}

function metadata(rec: KeyRecord): Output {
  const out: Output = {
    AWSAccountId: ACCOUNT_ID,
    KeyId: rec.keyId,
    Arn: keyArn(rec),
    CreationDate: epoch(rec.creationDate),
    Enabled: rec.keyState === 'Enabled',
    Description: rec.description,
    KeyUsage: rec.keyUsage,
    KeyState: rec.keyState,
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: rec.keySpec,
    KeySpec: rec.keySpec,
    SigningAlgorithms: signingAlgorithmsFor(rec.keySpec),
    MultiRegion: false,
  };
  if (rec.deletionDate) {
    out.DeletionDate = epoch(rec.deletionDate);
    out.PendingDeletionWindowInDays = rec.pendingWindowInDays;
  }
  return out;
}

/** Sign, Verify and GetPublicKey need a usable key; KMS distinguishes Disabled from other states. */
function usable(rec: KeyRecord): void {
  if (rec.keyState === 'Disabled') throw new KmsError('DisabledException', `${keyArn(rec)} is disabled.`);
  if (rec.keyState === 'PendingDeletion') throw invalidState(`${keyArn(rec)} is pending deletion.`);
}

function page<T>(items: T[], input: Input): { items: T[]; truncated: boolean; next?: string } {
  const limit = input.Limit === undefined ? 100 : Number(input.Limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw validation('Limit must be between 1 and 1000');
  const start =
    input.Marker === undefined ? 0 : typeof input.Marker === 'string' ? Number.parseInt(input.Marker, 10) : NaN;
  if (!Number.isInteger(start) || start < 0) throw new KmsError('InvalidMarkerException', 'Invalid Marker');
  const slice = items.slice(start, start + limit);
  const truncated = start + limit < items.length;
  return truncated ? { items: slice, truncated, next: String(start + limit) } : { items: slice, truncated };
}

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

export const operations: Record<string, Handler> = {
  CreateKey(input, ctx) {
    const spec = (str(input, 'KeySpec') ?? str(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT') as KeySpec;
    if (!KEY_SPECS.includes(spec))
      throw validation(`KeySpec ${spec} is not supported by this emulator (supported: ${KEY_SPECS.join(', ')})`);
    const usage = str(input, 'KeyUsage');
    if (usage !== 'SIGN_VERIFY')
      throw validation(`KeyUsage must be SIGN_VERIFY for ${spec} keys in this emulator, got ${usage ?? 'none'}`);
    const tags = (Array.isArray(input.Tags) ? input.Tags : []) as { TagKey?: unknown; TagValue?: unknown }[];
    for (const t of tags)
      if (typeof t.TagKey !== 'string' || typeof t.TagValue !== 'string')
        throw new KmsError('TagException', 'Each tag needs TagKey and TagValue strings');
    const description = str(input, 'Description') ?? '';
    const rec = ctx.store.create(ctx.region, spec, generatePrivateKeyPem(spec), description, tags as KeyRecord['tags']);
    return { KeyMetadata: metadata(rec) };
  },

  DescribeKey(input, ctx) {
    return { KeyMetadata: metadata(ctx.store.resolve(str(input, 'KeyId', true), ctx.region)) };
  },

  GetPublicKey(input, ctx) {
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region);
    usable(rec);
    return {
      KeyId: keyArn(rec),
      PublicKey: ctx.store.material(rec).spki.toString('base64'),
      CustomerMasterKeySpec: rec.keySpec,
      KeySpec: rec.keySpec,
      KeyUsage: rec.keyUsage,
      SigningAlgorithms: signingAlgorithmsFor(rec.keySpec),
    };
  },

  Sign(input, ctx) {
    ctx.stats.signCalls++;
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region);
    usable(rec);
    const key = ctx.store.material(rec);
    const alg = checkAlgorithm(key, str(input, 'SigningAlgorithm', true));
    const digest = messageDigest(alg, blob(input, 'Message'), str(input, 'MessageType') ?? 'RAW');
    return { KeyId: keyArn(rec), Signature: signDigest(key, alg, digest).toString('base64'), SigningAlgorithm: alg };
  },

  Verify(input, ctx) {
    ctx.stats.verifyCalls++;
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region);
    usable(rec);
    const key = ctx.store.material(rec);
    const alg = checkAlgorithm(key, str(input, 'SigningAlgorithm', true));
    const digest = messageDigest(alg, blob(input, 'Message'), str(input, 'MessageType') ?? 'RAW');
    // KMS reports a bad signature as an error, not as SignatureValid: false.
    if (!verifyDigest(key, alg, digest, blob(input, 'Signature')))
      throw new KmsError('KMSInvalidSignatureException', 'The signature is not valid');
    return { KeyId: keyArn(rec), SignatureValid: true, SigningAlgorithm: alg };
  },

  ListKeys(input, ctx) {
    const p = page(ctx.store.all(ctx.region), input);
    return {
      Keys: p.items.map((r) => ({ KeyId: r.keyId, KeyArn: keyArn(r) })),
      Truncated: p.truncated,
      ...(p.next ? { NextMarker: p.next } : {}),
    };
  },

  ScheduleKeyDeletion(input, ctx) {
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region, { allowAlias: false });
    const days = input.PendingWindowInDays === undefined ? 30 : Number(input.PendingWindowInDays);
    if (!Number.isInteger(days) || days < 7 || days > 30)
      throw validation(
        `PendingWindowInDays must be an integer between 7 and 30, got ${String(input.PendingWindowInDays)}`,
      );
    if (rec.keyState === 'PendingDeletion') throw invalidState(`${keyArn(rec)} is pending deletion.`);
    rec.keyState = 'PendingDeletion';
    rec.pendingWindowInDays = days;
    rec.deletionDate = new Date(ctx.now().getTime() + days * 86_400_000).toISOString();
    ctx.store.save(rec);
    return {
      KeyId: keyArn(rec),
      DeletionDate: epoch(rec.deletionDate),
      KeyState: rec.keyState,
      PendingWindowInDays: days,
    };
  },

  CancelKeyDeletion(input, ctx) {
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region, { allowAlias: false });
    if (rec.keyState !== 'PendingDeletion') throw invalidState(`${keyArn(rec)} is not pending deletion.`);
    // KMS leaves a key whose deletion was cancelled Disabled; it must be enabled explicitly.
    rec.keyState = 'Disabled';
    delete rec.deletionDate;
    delete rec.pendingWindowInDays;
    ctx.store.save(rec);
    return { KeyId: keyArn(rec) };
  },

  DisableKey(input, ctx) {
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region, { allowAlias: false });
    if (rec.keyState === 'PendingDeletion') throw invalidState(`${keyArn(rec)} is pending deletion.`);
    rec.keyState = 'Disabled';
    ctx.store.save(rec);
    return {};
  },

  EnableKey(input, ctx) {
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region, { allowAlias: false });
    if (rec.keyState === 'PendingDeletion') throw invalidState(`${keyArn(rec)} is pending deletion.`);
    rec.keyState = 'Enabled';
    ctx.store.save(rec);
    return {};
  },

  CreateAlias(input, ctx) {
    const name = str(input, 'AliasName', true);
    if (!ALIAS_NAME.test(name)) throw validation(`Alias ${name} must match alias/[a-zA-Z0-9/_-]+`);
    if (name.startsWith('alias/aws/'))
      throw new KmsError('NotAuthorizedException', 'alias/aws/ is reserved for AWS managed keys');
    const rec = ctx.store.resolve(str(input, 'TargetKeyId', true), ctx.region, { allowAlias: false });
    if (rec.keyState === 'PendingDeletion') throw invalidState(`${keyArn(rec)} is pending deletion.`);
    if (ctx.store.findAlias(ctx.region, name))
      throw new KmsError(
        'AlreadyExistsException',
        `An alias with the name ${aliasArn(ctx.region, name)} already exists`,
      );
    const at = ctx.now().toISOString();
    rec.aliases.push({ name, creationDate: at, lastUpdatedDate: at });
    ctx.store.save(rec);
    return {};
  },

  DeleteAlias(input, ctx) {
    const name = str(input, 'AliasName', true);
    const rec = ctx.store.findAlias(ctx.region, name);
    if (!rec) throw new KmsError('NotFoundException', `Alias ${aliasArn(ctx.region, name)} is not found.`);
    rec.aliases = rec.aliases.filter((a) => a.name !== name);
    ctx.store.save(rec);
    return {};
  },

  ListAliases(input, ctx) {
    const only = str(input, 'KeyId');
    const target = only === undefined ? undefined : ctx.store.resolve(only, ctx.region, { allowAlias: false });
    const all = ctx.store
      .all(ctx.region)
      .filter((r) => !target || r.keyId === target.keyId)
      .flatMap((r) =>
        r.aliases.map((a) => ({
          AliasName: a.name,
          AliasArn: aliasArn(ctx.region, a.name),
          TargetKeyId: r.keyId,
          CreationDate: epoch(a.creationDate),
          LastUpdatedDate: epoch(a.lastUpdatedDate),
        })),
      )
      .sort((a, b) => a.AliasName.localeCompare(b.AliasName));
    const p = page(all, input);
    return { Aliases: p.items, Truncated: p.truncated, ...(p.next ? { NextMarker: p.next } : {}) };
  },

  ListResourceTags(input, ctx) {
    const rec = ctx.store.resolve(str(input, 'KeyId', true), ctx.region, { allowAlias: false });
    return { Tags: rec.tags, Truncated: false };
  },
};
