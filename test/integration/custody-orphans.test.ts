/**
 * Key custody against the KMS emulator: a request that cannot be issued creates no KMS key;
 * one that fails after its key exists schedules that key's deletion and audits it; a keyUri
 * that holds another public key than the one certified is refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/asn1/certificate-parse.js';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { parseAwsKmsUri } from '../../src/signer/aws-kms-uri.js';
import type { KeyUri } from '../../src/types.js';
import { startTestKmsEmulator, type TestKmsEmulator } from '../helpers/kms-emulator.js';

let kms: TestKmsEmulator;
let dir: string;
let a: Authority;

beforeAll(async () => {
  kms = await startTestKmsEmulator();
  dir = mkdtempSync(join(tmpdir(), 'agent-ca-orphans-'));
  a = await createAuthority({ dataDir: dir, env: kms.env });
  await a.init({ keyType: 'p256' });
}, 60_000);

afterAll(async () => {
  await a?.close();
  await kms?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function entries(action: string) {
  const out = [];
  for await (const e of a.store.audit.iterate()) if (e.action === action) out.push(e);
  return out;
}

describe('agent keys created in KMS', () => {
  it('creates no key for a request that fails validation (bad agent id, unknown policy field, unknown profile)', async () => {
    const keys = kms.emulator.stats().keys;
    for (const req of [
      { agentId: 'bad id' },
      { agentId: 'ok', policy: { maxTransactionsize: { amount: '1', currency: 'USD' } } as never },
      { agentId: 'ok', profile: 'nope' },
    ]) {
      await expect(a.issue({ ...req, createKeyIn: 'awskms' })).rejects.toMatchObject({
        code: expect.stringMatching(/^ACA_ERR_(INPUT_INVALID|ASN1_ENCODE|PROFILE_UNKNOWN)$/),
      });
    }
    expect(kms.emulator.stats().keys).toBe(keys);
    expect(await entries('key.created')).toEqual([]);
  });

  it('schedules the deletion of a key whose certificate was refused later (lint), and audits it', async () => {
    const keys = kms.emulator.stats().keys;
    await expect(
      a.issue({ agentId: 'too-long-lived', createKeyIn: 'awskms', validityDays: 5000 }),
    ).rejects.toMatchObject({ code: 'ACA_ERR_LINT_FAILED' });
    expect(kms.emulator.stats().keys).toBe(keys + 1);
    const [orphan] = await entries('key.orphan-deletion-scheduled');
    expect(orphan).toMatchObject({
      subject: 'too-long-lived',
      details: { agentId: 'too-long-lived', issuanceError: expect.stringMatching(/lint/) },
    });
    const keyUri = orphan!.details.keyUri as string;
    const client = new KMSClient({
      endpoint: kms.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const meta = (await client.send(new DescribeKeyCommand({ KeyId: parseAwsKmsUri(keyUri).keyId }))).KeyMetadata!;
      expect(meta.KeyState).toBe('PendingDeletion');
    } finally {
      client.destroy();
    }
  });

  it('refuses a keyUri that holds another public key than the one certified', async () => {
    const made = await a.issue({ agentId: 'kms-bot', createKeyIn: 'awskms' });
    const keyUri = (await a.show(made.serial)).record.keyUri as KeyUri;
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    await expect(a.issue({ agentId: 'liar', publicKey: other, keyUri })).rejects.toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
      message: expect.stringMatching(/different public key/),
    });
    // the same key under its own URI is fine (e.g. a renewal done by hand)
    const again = await a.issue({ agentId: 'kms-bot', publicKey: parseCertificate(made.der).publicKeyInfo, keyUri });
    expect((await a.show(again.serial)).record.keyUri).toBe(keyUri);
  });
});
