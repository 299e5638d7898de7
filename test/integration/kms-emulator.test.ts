/**
 * The KMS-API emulator, driven by the real @aws-sdk/client-kms over HTTP with SigV4: protocol
 * shape, key states, aliases and ARNs, persistence, the test-only stats/fault endpoints, CLI.
 */
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  type KeySpec,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import type { FinalizeRequestMiddleware, HttpRequest } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKmsEmulator, type TestKmsEmulator } from '../helpers/kms-emulator.js';

const DAY = 86_400_000;
let kms: TestKmsEmulator;
let client: KMSClient;
let clockOffset = 0;

const newClient = (endpoint: string, secretAccessKey = 'test', accessKeyId = 'test', region = 'us-east-1'): KMSClient =>
  new KMSClient({ endpoint, region, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey } });

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('expected the KMS call to fail');
}

async function createKey(spec: KeySpec, c = client): Promise<{ keyId: string; arn: string }> {
  const out = await c.send(
    new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY', Description: `test ${spec}` }),
  );
  return { keyId: out.KeyMetadata!.KeyId!, arn: out.KeyMetadata!.Arn! };
}

beforeAll(async () => {
  kms = await startTestKmsEmulator({ now: () => new Date(Date.now() + clockOffset) });
  client = newClient(kms.endpoint);
});
afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('SigV4', () => {
  it('rejects a request signed with the wrong secret, as AWS does', async () => {
    const bad = newClient(kms.endpoint, 'not-the-secret');
    const f = await failure(bad.send(new ListKeysCommand({})));
    bad.destroy();
    expect(f).toMatchObject({ name: 'InvalidSignatureException', status: 400 });
  });

  it('rejects an unknown access key id', async () => {
    const bad = newClient(kms.endpoint, 'test', 'AKIDUNKNOWN');
    const f = await failure(bad.send(new ListKeysCommand({})));
    bad.destroy();
    expect(f).toMatchObject({ name: 'UnrecognizedClientException', status: 400 });
  });

  /** The SDK's own signed request for ListKeys, captured after signing (the SigV4 middleware). */
  async function signedBySdk(): Promise<{ headers: Record<string, string>; body: string }> {
    const c = newClient(kms.endpoint);
    let captured: { headers: Record<string, string>; body: string } | undefined;
    const capture: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
      const r = args.request as HttpRequest;
      captured = { headers: { ...r.headers }, body: String(r.body) };
      return next(args);
    };
    c.middlewareStack.addRelativeTo(capture, {
      relation: 'after',
      toMiddleware: 'httpSigningMiddleware',
      name: 'capture',
    });
    await c.send(new ListKeysCommand({ Limit: 5 }));
    c.destroy();
    return captured!;
  }

  async function replay(h: Record<string, string>, body: string): Promise<{ status: number; json: unknown }> {
    // fetch sets Host and Content-Length itself, to the same values the SDK signed
    const headers = Object.fromEntries(Object.entries(h).filter(([k]) => !/^(host|content-length)$/i.test(k)));
    const res = await fetch(kms.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    return { status: res.status, json: await res.json() };
  }

  it('accepts the SDK-signed request as sent, and refuses it once its body or a signed header changes', async () => {
    const { headers, body } = await signedBySdk();
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\//);
    expect(await replay(headers, body)).toMatchObject({ status: 200, json: { Keys: expect.any(Array) } });
    const tamperedBody = body.replace('"Limit":5', '"Limit":6');
    expect(tamperedBody).not.toBe(body);
    for (const [h, b] of [
      [headers, tamperedBody],
      [{ ...headers, 'x-amz-target': 'TrentService.ListAliases' }, body],
    ] as const) {
      const r = await replay(h, b);
      expect(r).toMatchObject({ status: 400, json: { __type: 'InvalidSignatureException' } });
    }
  });

  it('answers an unsigned request with an AWS JSON 1.1 error body', async () => {
    const res = await fetch(kms.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
      body: '{}',
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });
});

describe('signing', () => {
  const cases: [KeySpec, SigningAlgorithmSpec, 'sha256' | 'sha384' | 'sha512'][] = [
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_512', 'sha512'],
    ['RSA_3072', 'RSASSA_PKCS1_V1_5_SHA_384', 'sha384'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
  ];
  it.each(cases)(
    '%s / %s: RAW and DIGEST signatures verify with node:crypto and with Verify',
    async (spec, alg, hash) => {
      const { keyId } = await createKey(spec);
      const pub = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
      expect(pub.KeySpec).toBe(spec);
      expect(pub.SigningAlgorithms).toContain(alg);
      const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
      const data = Buffer.from(`to be signed by ${spec}`);
      for (const [MessageType, Message] of [
        ['RAW', data],
        ['DIGEST', createHash(hash).update(data).digest()],
      ] as const) {
        const out = await client.send(new SignCommand({ KeyId: keyId, Message, MessageType, SigningAlgorithm: alg }));
        const sig = Buffer.from(out.Signature!);
        if (spec.startsWith('ECC')) expect(sig[0]).toBe(0x30); // DER Ecdsa-Sig-Value, as real KMS returns
        expect(cryptoVerify(hash, data, publicKey, sig)).toBe(true);
        expect(cryptoVerify(hash, Buffer.from('something else'), publicKey, sig)).toBe(false);
        const v = await client.send(
          new VerifyCommand({ KeyId: keyId, Message, MessageType, Signature: sig, SigningAlgorithm: alg }),
        );
        expect(v.SignatureValid).toBe(true);
        sig[sig.length - 1]! ^= 1;
        const f = await failure(
          client.send(new VerifyCommand({ KeyId: keyId, Message, MessageType, Signature: sig, SigningAlgorithm: alg })),
        );
        expect(f.name).toBe('KMSInvalidSignatureException');
      }
    },
  );

  it('refuses a digest of the wrong length and an algorithm the key spec does not allow', async () => {
    const { keyId } = await createKey('ECC_NIST_P256');
    const short = await failure(
      client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.alloc(20),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    );
    expect(short.name).toBe('ValidationException');
    const wrongAlg = await failure(
      client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.alloc(48),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_384',
        }),
      ),
    );
    expect(wrongAlg.name).toBe('InvalidKeyUsageException');
    const big = await failure(
      client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.alloc(4097),
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    );
    expect(big.name).toBe('ValidationException');
  });

  it('answers NotFoundException for an unknown key', async () => {
    const f = await failure(client.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })));
    expect(f).toMatchObject({ name: 'NotFoundException', status: 400 });
  });
});

describe('key ids, ARNs and aliases', () => {
  it('accepts key id, key ARN, alias name and alias ARN wherever KeyId is taken', async () => {
    const { keyId, arn } = await createKey('ECC_NIST_P256');
    expect(arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
    await client.send(new CreateAliasCommand({ AliasName: 'alias/test/forms', TargetKeyId: keyId }));
    for (const id of [keyId, arn, 'alias/test/forms', 'arn:aws:kms:us-east-1:111122223333:alias/test/forms']) {
      const d = await client.send(new DescribeKeyCommand({ KeyId: id }));
      expect(d.KeyMetadata!.KeyId).toBe(keyId);
      const s = await client.send(
        new SignCommand({
          KeyId: id,
          Message: Buffer.alloc(32, 1),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      expect(s.KeyId).toBe(arn);
    }
    const listed = await client.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(listed.Aliases?.map((a) => [a.AliasName, a.TargetKeyId])).toEqual([['alias/test/forms', keyId]]);
    expect(
      (await failure(client.send(new CreateAliasCommand({ AliasName: 'alias/test/forms', TargetKeyId: keyId })))).name,
    ).toBe('AlreadyExistsException');
  });

  it("keeps keys per region: an ARN of another region or another region's client does not find it", async () => {
    const { keyId } = await createKey('ECC_NIST_P256');
    expect(
      (await failure(client.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:eu-west-1:111122223333:key/${keyId}` }))))
        .name,
    ).toBe('NotFoundException');
    const west = newClient(kms.endpoint, 'test', 'test', 'eu-west-1');
    expect((await failure(west.send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe('NotFoundException');
    west.destroy();
  });

  it('pages ListKeys with Limit and Marker', async () => {
    await createKey('ECC_NIST_P256');
    await createKey('ECC_NIST_P256');
    const all = await client.send(new ListKeysCommand({}));
    const first = await client.send(new ListKeysCommand({ Limit: 1 }));
    expect(first.Truncated).toBe(true);
    const second = await client.send(new ListKeysCommand({ Limit: 1, Marker: first.NextMarker! }));
    expect([first.Keys![0]!.KeyId, second.Keys![0]!.KeyId]).toEqual(all.Keys!.slice(0, 2).map((k) => k.KeyId));
  });
});

describe('key states', () => {
  it('schedules deletion within 7-30 days, refuses Sign while pending, cancels to Disabled, then enables', async () => {
    const { keyId } = await createKey('RSA_2048');
    const sign = (): Promise<unknown> =>
      client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.alloc(32),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
        }),
      );
    expect(
      (await failure(client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 6 })))).name,
    ).toBe('ValidationException');
    expect(
      (await failure(client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 31 })))).name,
    ).toBe('ValidationException');
    const before = Date.now();
    const s = await client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(s.KeyState).toBe('PendingDeletion');
    expect(s.DeletionDate!.getTime()).toBeGreaterThanOrEqual(before + 7 * DAY - 1000);
    expect(s.DeletionDate!.getTime()).toBeLessThanOrEqual(Date.now() + 7 * DAY + 1000);
    expect(await failure(sign())).toMatchObject({ name: 'KMSInvalidStateException', status: 400 });
    await client.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Disabled');
    expect((await failure(sign())).name).toBe('DisabledException');
    await client.send(new EnableKeyCommand({ KeyId: keyId }));
    await expect(sign()).resolves.toBeDefined();
    await client.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await failure(sign())).name).toBe('DisabledException');
  });

  it('forgets a key once its pending window has passed', async () => {
    const { keyId } = await createKey('ECC_NIST_P256');
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    clockOffset = 8 * DAY;
    try {
      expect((await failure(client.send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe('NotFoundException');
      expect(readdirSync(join(kms.dataDir, 'keys'))).not.toContain(`${keyId}.json`);
    } finally {
      clockOffset = 0;
    }
  });
});

describe('persistence, stats and faults', () => {
  it('stores one 0600 JSON file per key with a PKCS#8 PEM, and keys and aliases survive a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agent-ca-kms-restart-'));
    try {
      const first = await startTestKmsEmulator({ dataDir });
      const c1 = newClient(first.endpoint);
      const { keyId } = await createKey('ECC_NIST_P384', c1);
      await c1.send(new CreateAliasCommand({ AliasName: 'alias/survivor', TargetKeyId: keyId }));
      const pub1 = await c1.send(new GetPublicKeyCommand({ KeyId: keyId }));
      c1.destroy();
      await first.close();
      const file = join(dataDir, 'keys', `${keyId}.json`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');

      const second = await startTestKmsEmulator({ dataDir });
      const c2 = newClient(second.endpoint);
      const pub2 = await c2.send(new GetPublicKeyCommand({ KeyId: 'alias/survivor' }));
      expect(Buffer.from(pub2.PublicKey!).equals(Buffer.from(pub1.PublicKey!))).toBe(true);
      const data = Buffer.from('after restart');
      const s = await c2.send(
        new SignCommand({ KeyId: keyId, Message: data, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_384' }),
      );
      expect(
        cryptoVerify(
          'sha384',
          data,
          createPublicKey({ key: Buffer.from(pub2.PublicKey!), format: 'der', type: 'spki' }),
          s.Signature!,
        ),
      ).toBe(true);
      c2.destroy();
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('counts Sign calls on GET /__stats and injects throttling and 5xx through POST /__faults', async () => {
    const { keyId } = await createKey('ECC_NIST_P256');
    const sign = (): Promise<unknown> =>
      client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.alloc(32),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
    const stats = async (): Promise<{ signCalls: number; throttled: number }> =>
      (await fetch(`${kms.endpoint}/__stats`, { signal: AbortSignal.timeout(5000) })).json() as never;
    const before = await stats();
    await sign();
    await sign();
    expect((await stats()).signCalls).toBe(before.signCalls + 2);

    const inject = await fetch(`${kms.endpoint}/__faults`, {
      method: 'POST',
      body: JSON.stringify({ throttle: 1, internalError: 1, operation: 'Sign' }),
      signal: AbortSignal.timeout(5000),
    });
    expect(inject.status).toBe(200);
    await client.send(new DescribeKeyCommand({ KeyId: keyId })); // other operations are not affected
    expect(await failure(sign())).toMatchObject({ name: 'ThrottlingException', status: 400 });
    expect(await failure(sign())).toMatchObject({ name: 'KMSInternalException', status: 500 });
    await expect(sign()).resolves.toBeDefined();
    expect((await stats()).throttled).toBe(before.throttled + 1);
  });

  it('main.ts serves on the port and data directory given and prints its URL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agent-ca-kms-cli-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/kms-emulator/main.ts', '--port', '0', '--data', dataDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('emulator did not print its URL within 15 s')), 15_000);
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /^(http:\/\/127\.0\.0\.1:\d+)\n/m.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
      });
      const c = newClient(url);
      const { keyId } = await createKey('ECC_NIST_P256', c);
      c.destroy();
      expect(readdirSync(join(dataDir, 'keys'))).toEqual([`${keyId}.json`]);
    } finally {
      child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 20_000);
});
