/**
 * The pkcs11: signer against a throwaway SoftHSM2 token. Skips (with the reason) when SoftHSM2
 * is not installed; with CI=true a missing SoftHSM2 is a failure instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/clock.js';
import { AgentCaError } from '../../src/errors.js';
import { algorithmInfo } from '../../src/signer/algorithms.js';
import { openPkcs11Signer, pkcs11KeyManager } from '../../src/signer/pkcs11.js';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../src/signer/pkcs11-uri.js';
import { keyManagerFor, openSigner } from '../../src/signer/registry.js';
import type { Signer, SignerContext } from '../../src/signer/signer.js';
import type { KeyType, KeyUri } from '../../src/types.js';
import { createSoftHsmToken, softHsmAvailability, type SoftHsmToken } from '../helpers/softhsm.js';

const avail = softHsmAvailability();

it.runIf(!avail.available)('SoftHSM2 is installed (required when CI=true)', () => {
  const reason = avail.available ? '' : avail.reason;
  if (process.env.CI === 'true') throw new Error(`PKCS#11 tests need SoftHSM2 in CI: ${reason}`);
  console.warn(`skipping the PKCS#11 SoftHSM2 tests: ${reason}`);
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AgentCaError);
    return (e as AgentCaError).code;
  }
  throw new Error('expected a rejection');
}

function nodeVerifies(s: Signer, data: Buffer, sig: Buffer): boolean {
  const key = createPublicKey({ key: s.publicKeyInfo, format: 'der', type: 'spki' });
  return verify(algorithmInfo(s.algorithm).digest, data, key, sig);
}

describe.runIf(avail.available)('pkcs11: signer on SoftHSM2', () => {
  let token: SoftHsmToken;
  let ctx: SignerContext;
  let work: string;
  const opened: Signer[] = [];
  const uris = new Map<KeyType, KeyUri>();
  const clock = new FixedClock('2026-03-01T12:00:00Z');

  const open = async (uri: KeyUri | string, c: SignerContext = ctx): Promise<Signer> => {
    const s = await openPkcs11Signer(uri as KeyUri, c);
    opened.push(s);
    return s;
  };
  const opensslVerifies = (s: Signer, data: Buffer, sig: Buffer, name: string): boolean => {
    const pub = join(work, `${name}.pub.pem`);
    writeFileSync(
      pub,
      createPublicKey({ key: s.publicKeyInfo, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }),
    );
    writeFileSync(join(work, `${name}.data`), data);
    writeFileSync(join(work, `${name}.sig`), sig);
    const digest = algorithmInfo(s.algorithm).digest;
    const args = digest
      ? ['dgst', `-${digest}`, '-verify', pub, '-signature', join(work, `${name}.sig`), join(work, `${name}.data`)]
      : [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          pub,
          '-rawin',
          '-in',
          join(work, `${name}.data`),
          '-sigfile',
          join(work, `${name}.sig`),
        ];
    const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 && /Verified OK|Signature Verified Successfully/.test(r.stdout);
  };

  beforeAll(() => {
    token = createSoftHsmToken();
    ctx = { env: token.env };
    work = mkdtempSync(join(tmpdir(), 'agent-ca-p11-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(async (s) => s.close?.()));
  });
  afterAll(() => {
    token?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each([
    ['rsa2048', 'sha256WithRSAEncryption'],
    ['p256', 'ecdsaWithSHA256'],
    ['p384', 'ecdsaWithSHA384'],
  ] as const)(
    '%s: creates a key on the token, signs, and node:crypto and openssl verify',
    async (keyType, algorithm) => {
      const uri = await pkcs11KeyManager(ctx).createKey({ keyType, label: `ca-${keyType}` });
      uris.set(keyType, uri);
      const u = parsePkcs11Uri(uri);
      expect(u).toMatchObject({
        token: token.tokenLabel,
        object: `ca-${keyType}`,
        type: 'private',
        pinSource: 'env:AGENT_CA_PKCS11_PIN',
        modulePath: token.module,
      });
      expect(u.id).toHaveLength(16);
      expect(uri).not.toContain(token.pin);

      const s = await open(uri);
      expect(s.keyType).toBe(keyType);
      expect(s.algorithm).toBe(algorithm);
      expect(s.keyUri).toBe(uri);
      const data = Buffer.from(`tbsCertificate stand-in for ${keyType}`);
      const sig = await s.sign(data);
      if (keyType !== 'rsa2048')
        expect(sig[0]).toBe(0x30); // DER Ecdsa-Sig-Value, not raw r||s
      else expect(sig).toHaveLength(256);
      expect(nodeVerifies(s, data, sig)).toBe(true);
      expect(opensslVerifies(s, data, sig, keyType)).toBe(true);
      // the checks can fail: a changed byte is refused by both
      const tampered = Buffer.from(data);
      tampered[0]! ^= 1;
      expect(nodeVerifies(s, tampered, sig)).toBe(false);
      expect(opensslVerifies(s, tampered, sig, `${keyType}-tampered`)).toBe(false);
    },
  );

  it('ed25519: signs with CKM_EDDSA where the token offers it, else SIGNER_UNSUPPORTED', async () => {
    let uri: KeyUri;
    try {
      uri = await pkcs11KeyManager(ctx).createKey({ keyType: 'ed25519' });
    } catch (e) {
      expect((e as AgentCaError).code).toBe('ACA_ERR_SIGNER_UNSUPPORTED');
      return;
    }
    const s = await open(uri);
    expect(s.algorithm).toBe('Ed25519');
    const data = Buffer.from('ed25519 over the whole message');
    const sig = await s.sign(data);
    expect(sig).toHaveLength(64);
    expect(nodeVerifies(s, data, sig)).toBe(true);
    expect(opensslVerifies(s, data, sig, 'ed25519')).toBe(true);
  });

  it('private keys are sensitive and never extractable (checked by a separate PKCS#11 client)', () => {
    // A child process with its own pkcs11js instance, so the check does not go through our code.
    const script = `
      const p = require('pkcs11js');
      const m = new p.PKCS11(); m.load(process.env.MOD); m.C_Initialize();
      const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trimEnd() === process.env.TOKEN);
      const s = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION); m.C_Login(s, p.CKU_USER, process.env.PIN);
      m.C_FindObjectsInit(s, [{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }]);
      const keys = m.C_FindObjects(s, 50); m.C_FindObjectsFinal(s);
      const out = keys.map((k) => {
        const [ext, sens, never] = m.C_GetAttributeValue(s, k, [{ type: p.CKA_EXTRACTABLE }, { type: p.CKA_SENSITIVE }, { type: p.CKA_NEVER_EXTRACTABLE }]);
        const kt = m.C_GetAttributeValue(s, k, [{ type: p.CKA_KEY_TYPE }])[0].value[0];
        let secret;
        try { m.C_GetAttributeValue(s, k, [{ type: kt === p.CKK_RSA ? p.CKA_PRIVATE_EXPONENT : p.CKA_VALUE }]); secret = 'READABLE'; }
        catch (e) { secret = e.message; }
        return { extractable: ext.value[0], sensitive: sens.value[0], neverExtractable: never.value[0], secret };
      });
      m.C_Logout(s); m.C_CloseSession(s); m.C_Finalize();
      process.stdout.write(JSON.stringify(out));`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        SOFTHSM2_CONF: token.env.SOFTHSM2_CONF,
        MOD: token.module,
        TOKEN: token.tokenLabel,
        PIN: token.pin,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const keys = JSON.parse(out) as {
      extractable: number;
      sensitive: number;
      neverExtractable: number;
      secret: string;
    }[];
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const k of keys)
      expect(k).toEqual({ extractable: 0, sensitive: 1, neverExtractable: 1, secret: 'CKR_ATTRIBUTE_SENSITIVE' });
  });

  it('wrong PIN is SIGNER_ACCESS_DENIED, on a fresh login and while the token is logged in', async () => {
    const uri = uris.get('p256')!;
    const bad: SignerContext = { env: { ...token.env, AGENT_CA_PKCS11_PIN: `${token.pin}x` } };
    expect(await codeOf(openPkcs11Signer(uri, bad))).toBe('ACA_ERR_SIGNER_ACCESS_DENIED');
    const good = await open(uri); // token now logged in by this process
    expect(await codeOf(openPkcs11Signer(uri, bad))).toBe('ACA_ERR_SIGNER_ACCESS_DENIED');
    expect(nodeVerifies(good, Buffer.from('x'), await good.sign(Buffer.from('x')))).toBe(true);
  });

  it('reads the PIN from pin-source=file: and env:, and refuses a missing PIN', async () => {
    const u = parsePkcs11Uri(uris.get('p256')!);
    const pinFile = join(work, 'pin');
    writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const noPinCtx: SignerContext = { env: { AGENT_CA_PKCS11_MODULE: token.module } };
    const viaFile = await open(formatPkcs11Uri({ ...u, pinSource: `file:${pinFile}` }), noPinCtx);
    expect(await viaFile.sign(Buffer.from('a'))).toBeInstanceOf(Buffer);
    const viaEnv = await open(formatPkcs11Uri({ ...u, pinSource: 'env:MY_HSM_PIN' }), {
      env: { MY_HSM_PIN: token.pin },
    });
    expect(viaEnv.publicKeyInfo.equals(viaFile.publicKeyInfo)).toBe(true);
    expect(
      await codeOf(openPkcs11Signer(formatPkcs11Uri({ ...u, pinSource: 'env:UNSET_PIN' }) as KeyUri, noPinCtx)),
    ).toBe('ACA_ERR_CONFIG_INVALID');
    expect(
      await codeOf(
        openPkcs11Signer(formatPkcs11Uri({ ...u, pinSource: `file:${join(work, 'nope')}` }) as KeyUri, noPinCtx),
      ),
    ).toBe('ACA_ERR_CONFIG_INVALID');
  });

  it('typed errors for an unknown key, token or module, and for URIs that cannot sign', async () => {
    const u = parsePkcs11Uri(uris.get('p256')!);
    const fmt = (x: typeof u): KeyUri => formatPkcs11Uri(x) as KeyUri;
    expect(await codeOf(openPkcs11Signer(fmt({ ...u, object: 'no-such-key', id: undefined }), ctx))).toBe(
      'ACA_ERR_SIGNER_KEY_NOT_FOUND',
    );
    expect(await codeOf(openPkcs11Signer(fmt({ ...u, id: Buffer.from('00', 'hex') }), ctx))).toBe(
      'ACA_ERR_SIGNER_KEY_NOT_FOUND',
    );
    expect(await codeOf(openPkcs11Signer(fmt({ ...u, token: 'no-such-token' }), ctx))).toBe(
      'ACA_ERR_SIGNER_UNAVAILABLE',
    );
    expect(await codeOf(openPkcs11Signer(fmt({ ...u, modulePath: join(work, 'missing.so') }), ctx))).toBe(
      'ACA_ERR_SIGNER_UNAVAILABLE',
    );
    expect(await codeOf(openPkcs11Signer(fmt({ ...u, type: 'public' }), ctx))).toBe('ACA_ERR_SIGNER_URI_INVALID');
    expect(await codeOf(openPkcs11Signer(fmt({ token: u.token }), ctx))).toBe('ACA_ERR_SIGNER_URI_INVALID');
    expect(await codeOf(openPkcs11Signer('pkcs11:object=k;bogus=1' as KeyUri, ctx))).toBe('ACA_ERR_SIGNER_URI_INVALID');
  });

  it('is registered as the pkcs11: scheme', async () => {
    const s = await openSigner(uris.get('rsa2048')!, ctx);
    opened.push(s);
    expect(s.keyType).toBe('rsa2048');
    expect(keyManagerFor('pkcs11', ctx).scheme).toBe('pkcs11');
  });

  it.each(['p256', 'rsa2048'] as const)('%s: 50 concurrent signs all verify', async (keyType) => {
    const s = await open(uris.get(keyType)!);
    const datas = Array.from({ length: 50 }, (_, i) => Buffer.from(`message ${i}`));
    const sigs = await Promise.all(datas.map((d) => s.sign(d)));
    expect(sigs.every((sig, i) => nodeVerifies(s, datas[i]!, sig))).toBe(true);
    // each signature belongs to its own message, not a neighbour's
    expect(nodeVerifies(s, datas[1]!, sigs[0]!)).toBe(false);
  });

  it('close() ends the signer; the module can be opened again afterwards', async () => {
    const s = await openPkcs11Signer(uris.get('p256')!, ctx);
    await s.close!();
    await s.close!(); // idempotent
    expect(await codeOf(s.sign(Buffer.from('late')))).toBe('ACA_ERR_SIGNER_UNAVAILABLE');
    const again = await open(uris.get('p256')!);
    expect(nodeVerifies(again, Buffer.from('b'), await again.sign(Buffer.from('b')))).toBe(true);
  });

  it('scheduleKeyDeletion destroys the key now: an open signer and a new open both report KEY_NOT_FOUND', async () => {
    const km = pkcs11KeyManager({ ...ctx, clock });
    const uri = await km.createKey({ keyType: 'p256', label: 'revoked-agent' });
    const s = await open(uri);
    await s.sign(Buffer.from('before'));
    expect(await km.scheduleKeyDeletion(uri, 30)).toEqual(clock.now());
    expect(await codeOf(s.sign(Buffer.from('after')))).toBe('ACA_ERR_SIGNER_KEY_NOT_FOUND');
    expect(await codeOf(openPkcs11Signer(uri, ctx))).toBe('ACA_ERR_SIGNER_KEY_NOT_FOUND');
    expect(await km.scheduleKeyDeletion(uri, 30)).toEqual(clock.now()); // idempotent
    // the other keys are untouched
    const other = await open(uris.get('p384')!);
    expect(nodeVerifies(other, Buffer.from('c'), await other.sign(Buffer.from('c')))).toBe(true);
  });
});
