/**
 * The `awskms:` signer and key manager through the scheme registry, against the project's KMS
 * emulator over HTTP with SigV4. The endpoint reaches the SDK only through AWS_ENDPOINT_URL_KMS
 * (process.env, or an explicit SignerContext.env). Signatures are checked by node:crypto and
 * by the openssl binary.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DisableKeyCommand, EnableKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCaError, type ErrorCodeName } from '../../src/errors.js';
import { awsKmsKeyManager, openAwsKmsSigner } from '../../src/signer/aws-kms.js';
import { formatAwsKmsUri, parseAwsKmsUri } from '../../src/signer/aws-kms-uri.js';
import { keyManagerFor, openSigner } from '../../src/signer/registry.js';
import type { Signer } from '../../src/signer/signer.js';
import type { KeyType, KeyUri } from '../../src/types.js';
import { applyKmsEnv, startTestKmsEmulator, type TestKmsEmulator } from '../helpers/kms-emulator.js';

const DAY = 86_400_000;
let kms: TestKmsEmulator;
let restoreEnv: () => void;
let raw: KMSClient;
let work: string;

async function code(p: Promise<unknown>): Promise<ErrorCodeName> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AgentCaError) return e.code.replace(/^ACA_ERR_/, '') as ErrorCodeName;
    throw e;
  }
  throw new Error('expected a typed error');
}

function opensslVerifies(signer: Signer, data: Buffer, sig: Buffer): boolean {
  const dir = mkdtempSync(join(work, 'ossl-'));
  const pem = createPublicKey({ key: signer.publicKeyInfo, format: 'der', type: 'spki' }).export({
    format: 'pem',
    type: 'spki',
  });
  writeFileSync(join(dir, 'pub.pem'), pem);
  writeFileSync(join(dir, 'sig.bin'), sig);
  writeFileSync(join(dir, 'data.bin'), data);
  const digest = signer.algorithm.includes('384') ? '-sha384' : '-sha256';
  try {
    const out = execFileSync(
      'openssl',
      ['dgst', digest, '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.bin'), join(dir, 'data.bin')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 10_000,
      },
    );
    return out.includes('Verified OK');
  } catch {
    return false;
  }
}

beforeAll(async () => {
  kms = await startTestKmsEmulator();
  restoreEnv = applyKmsEnv(kms.env);
  raw = new KMSClient({
    endpoint: kms.endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  work = mkdtempSync(join(tmpdir(), 'agent-ca-awskms-'));
});
afterAll(async () => {
  raw.destroy();
  restoreEnv();
  await kms.close();
  rmSync(work, { recursive: true, force: true });
});

describe('awskms: URIs', () => {
  it('parses key ids, aliases and ARNs, taking the region from an ARN', () => {
    expect(parseAwsKmsUri('awskms:key-id=1234abcd-12ab-34cd-56ef-1234567890ab;region=eu-west-1')).toEqual({
      keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
      region: 'eu-west-1',
    });
    expect(parseAwsKmsUri('awskms:key-id=alias/ca/root')).toEqual({ keyId: 'alias/ca/root' });
    expect(parseAwsKmsUri('awskms:key-id=arn:aws:kms:us-west-2:111122223333:key/abc')).toEqual({
      keyId: 'arn:aws:kms:us-west-2:111122223333:key/abc',
      region: 'us-west-2',
    });
    const uri = formatAwsKmsUri({ keyId: 'alias/x', region: 'us-east-1' });
    expect(uri).toBe('awskms:key-id=alias/x;region=us-east-1');
    expect(parseAwsKmsUri(uri)).toEqual({ keyId: 'alias/x', region: 'us-east-1' });
  });

  it.each([
    'awskms:',
    'awskms:region=us-east-1',
    'awskms:key-id=abc;colour=blue',
    'awskms:key-id=abc;key-id=def',
    'awskms:key-id=arn:aws:kms:us-west-2:111122223333:key/abc;region=us-east-1',
    'awskms:key-id=arn:aws:s3:::bucket',
    'awskms:key-id=abc;region=US EAST',
  ])('refuses %s with SIGNER_URI_INVALID', async (uri) => {
    expect(await code(Promise.resolve().then(() => parseAwsKmsUri(uri)))).toBe('SIGNER_URI_INVALID');
  });
});

describe('awskms: keys and signatures', () => {
  const cases: [KeyType, string, number][] = [
    ['rsa2048', 'sha256WithRSAEncryption', 256],
    ['p256', 'ecdsaWithSHA256', 0],
    ['p384', 'ecdsaWithSHA384', 0],
  ];
  it.each(cases)(
    '%s: created through the registry, signs, and node:crypto and openssl verify',
    async (keyType, algorithm, rsaLen) => {
      const uri = await keyManagerFor('awskms').createKey({ keyType });
      expect(uri).toMatch(/^awskms:key-id=[0-9a-f-]{36};region=us-east-1$/);
      const signer = await openSigner(uri);
      try {
        expect(signer.keyType).toBe(keyType);
        expect(signer.algorithm).toBe(algorithm);
        // 64 KiB: far over KMS's 4 KiB RAW limit, fine because only the digest is sent.
        const data = Buffer.alloc(65_536, 0x5a);
        const sig = await signer.sign(data);
        if (rsaLen) expect(sig.length).toBe(rsaLen);
        else expect(sig[0]).toBe(0x30);
        const pub = createPublicKey({ key: signer.publicKeyInfo, format: 'der', type: 'spki' });
        const hash = algorithm.includes('384') ? 'sha384' : 'sha256';
        expect(cryptoVerify(hash, data, pub, sig)).toBe(true);
        expect(opensslVerifies(signer, data, sig)).toBe(true);
        expect(opensslVerifies(signer, Buffer.concat([data, Buffer.from('!')]), sig)).toBe(false);
      } finally {
        await signer.close?.();
      }
    },
  );

  it('reaches the emulator through an explicit SignerContext.env, including a wrong secret (SIGNER_ACCESS_DENIED)', async () => {
    const uri = await keyManagerFor('awskms').createKey({ keyType: 'p256' });
    const restore = applyKmsEnv({ AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' }); // process.env now points nowhere
    try {
      const signer = await openAwsKmsSigner(uri, { env: { ...kms.env } });
      expect((await signer.sign(Buffer.from('x'))).length).toBeGreaterThan(0);
      await signer.close?.();
      expect(await code(openAwsKmsSigner(uri, { env: { ...kms.env, AWS_SECRET_ACCESS_KEY: 'wrong' } }))).toBe(
        'SIGNER_ACCESS_DENIED',
      );
    } finally {
      restore();
    }
  });

  it('opens the same key by alias, alias ARN and key ARN; a taken label is refused without creating a key', async () => {
    const uri = await awsKmsKeyManager({}).createKey({ keyType: 'p256', label: 'agents/trading-bot' });
    const { keyId } = parseAwsKmsUri(uri);
    const arn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
    const forms = [
      'awskms:key-id=alias/agents/trading-bot',
      `awskms:key-id=${arn}`,
      'awskms:key-id=arn:aws:kms:us-east-1:111122223333:alias/agents/trading-bot;region=us-east-1',
    ];
    const base = await openSigner(uri);
    for (const form of forms) {
      const s = (await openSigner(form)) as Signer & { keyArn: string };
      expect(s.keyArn).toBe(arn);
      expect(s.publicKeyInfo.equals(base.publicKeyInfo)).toBe(true);
      const data = Buffer.from(form);
      expect(
        cryptoVerify(
          'sha256',
          data,
          createPublicKey({ key: base.publicKeyInfo, format: 'der', type: 'spki' }),
          await s.sign(data),
        ),
      ).toBe(true);
      await s.close?.();
    }
    await base.close?.();
    const count = async (): Promise<number> => (await raw.send(new ListKeysCommand({}))).Keys!.length;
    const before = await count();
    expect(await code(awsKmsKeyManager({}).createKey({ keyType: 'p256', label: 'agents/trading-bot' }))).toBe(
      'CA_ALREADY_INITIALISED',
    );
    expect(await count()).toBe(before);
  });

  it('refuses Ed25519, bad labels and unknown keys with typed errors', async () => {
    expect(await code(keyManagerFor('awskms').createKey({ keyType: 'ed25519' }))).toBe('SIGNER_UNSUPPORTED');
    expect(await code(keyManagerFor('awskms').createKey({ keyType: 'p256', label: 'aws/reserved' }))).toBe(
      'INPUT_INVALID',
    );
    expect(await code(openSigner('awskms:key-id=00000000-0000-4000-8000-000000000000'))).toBe('SIGNER_KEY_NOT_FOUND');
    expect(await code(openSigner('awskms:key-id=alias/never-created'))).toBe('SIGNER_KEY_NOT_FOUND');
  });
});

describe('awskms: key lifecycle', () => {
  it('scheduleKeyDeletion returns the DeletionDate, is idempotent, and a pending key refuses to sign', async () => {
    const km = keyManagerFor('awskms');
    const uri = await km.createKey({ keyType: 'rsa2048' });
    const signer = await openSigner(uri);
    expect(await code(km.scheduleKeyDeletion(uri, 6))).toBe('INPUT_INVALID');
    expect(await code(km.scheduleKeyDeletion(uri, 31))).toBe('INPUT_INVALID');
    const before = Date.now();
    const at = await km.scheduleKeyDeletion(uri, 7);
    expect(at.getTime()).toBeGreaterThanOrEqual(before + 7 * DAY - 1000);
    expect(at.getTime()).toBeLessThanOrEqual(Date.now() + 7 * DAY + 1000);
    expect((await km.scheduleKeyDeletion(uri, 30)).getTime()).toBe(at.getTime());
    expect(await code(signer.sign(Buffer.from('after revocation')))).toBe('SIGNER_KEY_PENDING_DELETION');
    expect(await code(openSigner(uri))).toBe('SIGNER_KEY_PENDING_DELETION');
    await signer.close?.();
  });

  it('a disabled key refuses to sign with SIGNER_KEY_DISABLED and signs again once enabled', async () => {
    const uri = await keyManagerFor('awskms').createKey({ keyType: 'p256' });
    const signer = await openSigner(uri);
    const { keyId } = parseAwsKmsUri(uri);
    await raw.send(new DisableKeyCommand({ KeyId: keyId }));
    expect(await code(signer.sign(Buffer.from('x')))).toBe('SIGNER_KEY_DISABLED');
    expect(await code(openSigner(uri))).toBe('SIGNER_KEY_DISABLED');
    await raw.send(new EnableKeyCommand({ KeyId: keyId }));
    await expect(signer.sign(Buffer.from('x'))).resolves.toBeInstanceOf(Buffer);
    await signer.close?.();
  });

  it('keys survive an emulator restart on the same data directory', async () => {
    const dataDir = mkdtempSync(join(work, 'restart-'));
    const first = await startTestKmsEmulator({ dataDir });
    const uri = await awsKmsKeyManager({ env: first.env }).createKey({ keyType: 'p256', label: 'ca/intermediate' });
    const spki = (await openAwsKmsSigner(uri, { env: first.env })).publicKeyInfo;
    await first.close();
    const second = await startTestKmsEmulator({ dataDir });
    try {
      expect(second.endpoint).not.toBe(first.endpoint);
      for (const u of [uri, 'awskms:key-id=alias/ca/intermediate;region=us-east-1']) {
        const signer = await openAwsKmsSigner(u as KeyUri, { env: second.env });
        expect(signer.publicKeyInfo.equals(spki)).toBe(true);
        const data = Buffer.from('signed after restart');
        expect(
          cryptoVerify(
            'sha256',
            data,
            createPublicKey({ key: spki, format: 'der', type: 'spki' }),
            await signer.sign(data),
          ),
        ).toBe(true);
        await signer.close?.();
      }
    } finally {
      await second.close();
    }
  });
});

describe('awskms: retries', () => {
  it('retries ThrottlingException with exponential backoff and jitter, then succeeds', async () => {
    const uri = await keyManagerFor('awskms').createKey({ keyType: 'p256' });
    const delays: number[] = [];
    const signer = await openAwsKmsSigner(uri, {}, { random: () => 0.999, sleep: async (ms) => void delays.push(ms) });
    const before = kms.emulator.stats();
    kms.emulator.injectFaults({ throttle: 3, operation: 'Sign' });
    const sig = await signer.sign(Buffer.from('throttled'));
    expect(
      cryptoVerify(
        'sha256',
        Buffer.from('throttled'),
        createPublicKey({ key: signer.publicKeyInfo, format: 'der', type: 'spki' }),
        sig,
      ),
    ).toBe(true);
    const after = kms.emulator.stats();
    expect(after.throttled - before.throttled).toBe(3);
    expect((after.byOperation.Sign ?? 0) - (before.byOperation.Sign ?? 0)).toBe(4);
    expect(delays).toEqual([49, 99, 199]); // floor(0.999 * 50 * 2^n): the ceiling doubles per attempt
    await signer.close?.();
  });

  it('retries a 5xx; gives up after maxAttempts with SIGNER_UNAVAILABLE', async () => {
    const uri = await keyManagerFor('awskms').createKey({ keyType: 'p256' });
    const signer = await openAwsKmsSigner(uri, {}, { maxAttempts: 3, sleep: async () => undefined });
    kms.emulator.injectFaults({ internalError: 2, operation: 'Sign' });
    await expect(signer.sign(Buffer.from('a'))).resolves.toBeInstanceOf(Buffer);
    const before = kms.emulator.stats().byOperation.Sign ?? 0;
    kms.emulator.injectFaults({ throttle: 3, operation: 'Sign' });
    expect(await code(signer.sign(Buffer.from('b')))).toBe('SIGNER_UNAVAILABLE');
    expect((kms.emulator.stats().byOperation.Sign ?? 0) - before).toBe(3);
    await expect(signer.sign(Buffer.from('c'))).resolves.toBeInstanceOf(Buffer); // all injected faults consumed
    await signer.close?.();
  });

  it('an unreachable endpoint is SIGNER_UNAVAILABLE after bounded attempts', async () => {
    const env = { ...kms.env, AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' };
    let sleeps = 0;
    const err = await openAwsKmsSigner(
      'awskms:key-id=alias/x' as KeyUri,
      { env },
      { maxAttempts: 2, sleep: async () => void sleeps++ },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentCaError);
    expect((err as AgentCaError).code).toBe('ACA_ERR_SIGNER_UNAVAILABLE');
    expect((err as AgentCaError).details.attempts).toBe(2);
    expect(sleeps).toBe(1);
  });
});
