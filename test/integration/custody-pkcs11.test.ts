/**
 * Key custody end to end on pkcs11: (RFC 7512) with a fresh SoftHSM2 token: `agent-ca init
 * --signer pkcs11 --pkcs11-module M --pkcs11-token L` (PIN from AGENT_CA_PKCS11_PIN), agents
 * issued through the CLI and with a key generated on the token, the standalone server answering
 * OCSP (openssl ocsp) and serving a CRL openssl verifies, revocation destroying the agent's
 * token key through the hook (audited), `--key-uri` adoption, and a scan proving no private key
 * material reached any CA data directory.
 *
 * Skips (with the reason) when SoftHSM2 is not installed; with CI=true that is a failure.
 * The PIN reaches the code only through the env handed to runCli / createAuthority:
 * process.env holds a wrong PIN for the whole file.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/asn1/certificate-parse.js';
import { pemOrDer } from '../../src/asn1/pem.js';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { AgentCaError } from '../../src/errors.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { pkcs11KeyManager } from '../../src/signer/pkcs11.js';
import { parsePkcs11Uri } from '../../src/signer/pkcs11-uri.js';
import { openSigner } from '../../src/signer/registry.js';
import type { KeyUri } from '../../src/types.js';
import { describeFindings, scanForKeyMaterial } from '../helpers/key-material-scan.js';
import { opensslAsync } from '../helpers/openssl.js';
import { createSoftHsmToken, softHsmAvailability, type SoftHsmToken } from '../helpers/softhsm.js';
import { auditEntries, caState, cli, keyUris } from '../helpers/custody.js';

const avail = softHsmAvailability();

it.runIf(!avail.available)('SoftHSM2 is installed (required when CI=true)', () => {
  const reason = avail.available ? '' : avail.reason;
  if (process.env.CI === 'true') throw new Error(`PKCS#11 custody tests need SoftHSM2 in CI: ${reason}`);
  console.warn(`skipping the PKCS#11 custody tests: ${reason}`);
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AgentCaError) return e.code;
    throw e;
  }
  throw new Error('expected a typed error');
}

describe.runIf(avail.available)('the whole CA on pkcs11: (SoftHSM2)', () => {
  let token: SoftHsmToken;
  let work: string;
  let cliDir: string;
  let adoptDir: string;
  /** What an operator's shell holds: the PIN and SoftHSM's config, nothing else. */
  let shellEnv: Record<string, string>;
  let savedPin: string | undefined;
  let authority: Authority | undefined;
  let server: RunningServer | undefined;
  let softAgent: { serial: string; path: string };
  let hsmAgent: { serial: string; path: string; keyUri: string };

  async function ocsp(cert: string) {
    return opensslAsync(
      [
        'ocsp',
        '-issuer',
        join(cliDir, 'ca', 'intermediate.pem'),
        '-cert',
        cert,
        '-url',
        `${server!.url}/ocsp`,
        '-CAfile',
        join(cliDir, 'ca', 'root.pem'),
        '-no_nonce',
      ],
      { timeoutMs: 10_000 },
    );
  }

  beforeAll(() => {
    // SoftHSM reads its token list at C_Initialize: the token exists before any signer opens the module.
    token = createSoftHsmToken();
    work = mkdtempSync(join(tmpdir(), 'agent-ca-custody-p11-'));
    cliDir = join(work, 'cli-ca');
    adoptDir = join(work, 'adopt-ca');
    shellEnv = { AGENT_CA_PKCS11_PIN: token.pin, SOFTHSM2_CONF: token.env.SOFTHSM2_CONF! };
    savedPin = process.env.AGENT_CA_PKCS11_PIN;
    process.env.AGENT_CA_PKCS11_PIN = `${token.pin}-wrong`;
  });
  afterAll(async () => {
    await server?.close();
    await authority?.close();
    if (savedPin === undefined) delete process.env.AGENT_CA_PKCS11_PIN;
    else process.env.AGENT_CA_PKCS11_PIN = savedPin;
    token?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('`agent-ca init --signer pkcs11` generates all four CA keys on the token; URIs name a pin-source, never the PIN', async () => {
    const r = await cli(
      [
        'init',
        '--signer',
        'pkcs11',
        '--pkcs11-module',
        token.module,
        '--pkcs11-token',
        token.tokenLabel,
        '--org',
        'HSM Operator',
        '--data',
        cliDir,
      ],
      shellEnv,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/key pkcs11:/);
    const a = await createAuthority({ dataDir: cliDir, env: shellEnv, create: false });
    try {
      const uris = keyUris(await caState(a));
      expect(new Set(uris).size).toBe(4);
      for (const uri of uris) {
        const u = parsePkcs11Uri(uri);
        expect(u).toMatchObject({
          token: token.tokenLabel,
          type: 'private',
          pinSource: 'env:AGENT_CA_PKCS11_PIN',
          modulePath: token.module,
        });
        expect(u.pinValue).toBeUndefined();
        expect(uri).not.toContain(token.pin);
      }
      expect(parsePkcs11Uri(uris[0]!).object).toBe('agent-ca-root');
    } finally {
      await a.close();
    }
    const chain = await opensslAsync([
      'verify',
      '-CAfile',
      join(cliDir, 'ca', 'root.pem'),
      join(cliDir, 'ca', 'intermediate.pem'),
    ]);
    expect(chain.stdout).toContain(': OK');
    expect(existsSync(join(cliDir, 'keys'))).toBe(false);
  });

  it('issues through the CLI (public key) and the library (key generated on the token, URI recorded)', async () => {
    const pubFile = join(work, 'agent.pub.pem');
    writeFileSync(
      pubFile,
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }),
    );
    const soft = await cli(
      [
        'issue',
        '--agent-id',
        'hsm-soft-bot',
        '--scope',
        'read:accounts',
        '--public-key',
        pubFile,
        '--out',
        join(work, 'soft.pem'),
        '--data',
        cliDir,
      ],
      shellEnv,
    );
    expect(soft.err).toBe('');
    expect(soft.code).toBe(0);
    softAgent = { serial: soft.out.match(/issued ([0-9a-f]+) for/)![1]!, path: join(work, 'soft.pem') };

    // The key manager needs the token label beside the PIN (init wrote it into the CA key URIs only).
    authority = await createAuthority({
      dataDir: cliDir,
      env: { ...shellEnv, AGENT_CA_PKCS11_TOKEN: token.tokenLabel, AGENT_CA_PKCS11_MODULE: token.module },
      create: false,
    });
    const issued = await authority.issue({ agentId: 'hsm-key-bot', createKeyIn: 'pkcs11', scope: ['write:payments'] });
    const { record } = await authority.show(issued.serial);
    expect(record.keyUri).toMatch(/^pkcs11:/);
    expect(parsePkcs11Uri(record.keyUri!)).toMatchObject({ token: token.tokenLabel, type: 'private' });
    writeFileSync(join(work, 'hsm.pem'), issued.pem);
    hsmAgent = { serial: issued.serial, path: join(work, 'hsm.pem'), keyUri: record.keyUri! };
    // The certificate certifies the token key, and that key signs.
    const signer = await openSigner(hsmAgent.keyUri, { env: shellEnv });
    try {
      expect(
        signer.publicKeyInfo.equals(
          parseCertificate(pemOrDer(readFileSync(hsmAgent.path), ['CERTIFICATE'])).publicKeyInfo,
        ),
      ).toBe(true);
      expect((await signer.sign(Buffer.from('action')))[0]).toBe(0x30);
    } finally {
      await signer.close?.();
    }
    for (const agent of [softAgent, hsmAgent]) {
      const v = await opensslAsync([
        'verify',
        '-CAfile',
        join(cliDir, 'ca', 'root.pem'),
        '-untrusted',
        join(cliDir, 'ca', 'intermediate.pem'),
        agent.path,
      ]);
      expect(v.stdout).toContain(': OK');
    }
  });

  it('serves OCSP "good" (openssl ocsp) and a CRL signed on the token that openssl verifies', async () => {
    server = await startServer({ authority: authority!, host: '127.0.0.1', port: 0, logLevel: 'error' });
    for (const agent of [softAgent, hsmAgent]) {
      const r = await ocsp(agent.path);
      expect(r.stderr).toContain('Response verify OK');
      expect(r.stdout).toContain(`${agent.path}: good`);
    }
    const res = await fetch(`${server.url}/crl/intermediate.crl`);
    expect(res.status).toBe(200);
    const der = join(work, 'intermediate.crl');
    writeFileSync(der, Buffer.from(await res.arrayBuffer()));
    const v = await opensslAsync([
      'crl',
      '-inform',
      'DER',
      '-in',
      der,
      '-noout',
      '-verify',
      '-CAfile',
      join(cliDir, 'ca', 'intermediate.pem'),
    ]);
    expect(v.stdout + v.stderr).toContain('verify OK');
    const pem = join(work, 'intermediate.crl.pem');
    await opensslAsync(['crl', '-inform', 'DER', '-in', der, '-out', pem]);
    const chain = await opensslAsync([
      'verify',
      '-crl_check',
      '-CAfile',
      join(cliDir, 'ca', 'root.pem'),
      '-untrusted',
      join(cliDir, 'ca', 'intermediate.pem'),
      '-CRLfile',
      pem,
      softAgent.path,
    ]);
    expect(chain.stdout).toContain(': OK');
  });

  it('revoking the agent with a token key destroys that key through the hook, audited; OCSP says revoked', async () => {
    await authority!.revoke(hsmAgent.serial, { reason: 'keyCompromise', actor: 'test' });
    await authority!.hooks.settle();
    const audited = await auditEntries(authority!, 'key.deletion-scheduled');
    expect(audited).toHaveLength(1);
    expect(audited[0]!.subject).toBe(hsmAgent.serial);
    expect(audited[0]!.details).toMatchObject({ keyUri: hsmAgent.keyUri, agentId: 'hsm-key-bot' });
    expect(await auditEntries(authority!, 'key.deletion-failed')).toEqual([]);
    expect(await code(openSigner(hsmAgent.keyUri as KeyUri, { env: shellEnv }))).toBe('ACA_ERR_SIGNER_KEY_NOT_FOUND');
    const r = await ocsp(hsmAgent.path);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${hsmAgent.path}: revoked`);
    // The CA's own keys are untouched.
    expect((await authority!.ca('intermediate').signer.sign(Buffer.from('still here')))[0]).toBe(0x30);
    await server!.close();
    server = undefined;
    await authority!.close();
    authority = undefined;
  });

  it('`--key-uri` adopts keys already on the token', async () => {
    const km = pkcs11KeyManager({
      env: { ...shellEnv, AGENT_CA_PKCS11_TOKEN: token.tokenLabel, AGENT_CA_PKCS11_MODULE: token.module },
    });
    const adopted = {
      root: await km.createKey({ keyType: 'p256', label: 'adopted-root' }),
      intermediate: await km.createKey({ keyType: 'p256', label: 'adopted-intermediate' }),
      'ocsp-root': await km.createKey({ keyType: 'p256', label: 'adopted-ocsp-root' }),
      'ocsp-intermediate': await km.createKey({ keyType: 'p256', label: 'adopted-ocsp-intermediate' }),
    };
    const r = await cli(
      [
        'init',
        '--signer',
        'pkcs11',
        '--pkcs11-module',
        token.module,
        '--pkcs11-token',
        token.tokenLabel,
        '--data',
        adoptDir,
        ...Object.entries(adopted).flatMap(([k, v]) => ['--key-uri', `${k}=${v}`]),
      ],
      shellEnv,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const a = await createAuthority({ dataDir: adoptDir, env: shellEnv, create: false });
    try {
      expect(keyUris(await caState(a))).toEqual(Object.values(adopted));
      const issued = await a.issue({
        agentId: 'adopted-bot',
        publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          format: 'der',
          type: 'spki',
        }),
      });
      writeFileSync(join(work, 'adopted.pem'), issued.pem);
    } finally {
      await a.close();
    }
    const v = await opensslAsync([
      'verify',
      '-CAfile',
      join(adoptDir, 'ca', 'root.pem'),
      '-untrusted',
      join(adoptDir, 'ca', 'intermediate.pem'),
      join(work, 'adopted.pem'),
    ]);
    expect(v.stdout).toContain(': OK');
  });

  it('leaves no private key material in either CA data dir', () => {
    // Token keys are generated non-extractable (CKA_EXTRACTABLE false), so there are no scalars
    // to search for: the structural scan (PEM, PKCS#8, ECPrivateKey, RSAPrivateKey) stands.
    for (const dir of [cliDir, adoptDir]) {
      const report = scanForKeyMaterial(dir);
      expect(report.files).toBeGreaterThan(3);
      expect(report.levelDbFiles).toBeGreaterThan(0);
      expect(report.decodeErrors).toEqual([]);
      expect(report.findings, describeFindings(report.findings)).toEqual([]);
      expect(existsSync(join(dir, 'keys'))).toBe(false);
    }
  });
});
