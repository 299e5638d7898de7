/**
 * Key custody end to end on awskms:, against the project's KMS emulator over HTTP + SigV4:
 * `agent-ca init --signer awskms` (CLI and library), agents issued with a soft public key and
 * with `--kms-key new`, the standalone server answering OCSP (openssl ocsp) and serving a CRL
 * that openssl verifies, KMS Sign calls counted per certificate and per OCSP request, the
 * revocation hook scheduling the agent key's deletion (audited), `--key-uri` adoption, and a
 * scan proving no private key material reached any CA data directory.
 *
 * The KMS endpoint reaches the code only through the env handed to runCli / createAuthority:
 * process.env points the SDK at a dead port with wrong credentials for the whole file, so any
 * path that fell back to process.env would fail here.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeKeyCommand, GetPublicKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pemOrDer } from '../../src/asn1/pem.js';
import { parseCertificate } from '../../src/asn1/certificate-parse.js';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { AgentCaError } from '../../src/errors.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { awsKmsKeyManager } from '../../src/signer/aws-kms.js';
import { parseAwsKmsUri } from '../../src/signer/aws-kms-uri.js';
import { openSigner } from '../../src/signer/registry.js';
import type { KeyUri } from '../../src/types.js';
import { applyKmsEnv, startTestKmsEmulator, type TestKmsEmulator } from '../helpers/kms-emulator.js';
import {
  describeFindings,
  kmsEmulatorNeedles,
  privateKeyNeedles,
  scanForKeyMaterial,
  softKeyNeedles,
} from '../helpers/key-material-scan.js';
import { opensslAsync } from '../helpers/openssl.js';
import { auditEntries, caState, cli, keyUris } from '../helpers/custody.js';

const DAY = 86_400_000;
/** RFC 6960 responses pre-signed per certificate: one per CertID hash (src/ocsp/presign.ts). */

function serialFrom(out: string): string {
  const m = out.match(/issued ([0-9a-f]+) for/);
  if (!m) throw new Error(`no serial in ${out}`);
  return m[1]!;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AgentCaError) return e.code;
    throw e;
  }
  throw new Error('expected a typed error');
}

describe('key-material scanner (control: it must find keys where they are)', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'agent-ca-scan-control-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('finds every softkey CA key in a softkey data dir: PEM armour, PKCS#8, and the private scalar itself', async () => {
    const dir = join(work, 'softkey');
    const a = await createAuthority({ dataDir: dir, env: {} });
    await a.init({ config: { organization: 'Control Operator' } });
    await a.issue({
      agentId: 'control-bot',
      publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      }),
    });
    await a.close();
    const needles = softKeyNeedles(dir);
    expect(needles.length).toBe(4);
    const report = scanForKeyMaterial(dir, { needles });
    expect(report.levelDbFiles).toBeGreaterThan(0);
    expect(report.decodeErrors).toEqual([]);
    for (const name of ['root', 'intermediate', 'ocsp-root', 'ocsp-intermediate']) {
      const inFile = report.findings.filter((f) => f.file === join('keys', `${name}.key.pem`));
      expect(new Set(inFile.map((f) => f.kind))).toEqual(
        new Set(['pem-private-key', 'pkcs8', 'ec-private-key', 'key-bytes']),
      );
      expect(inFile.find((f) => f.kind === 'key-bytes')?.detail).toBe(`softkey:${name}.d`);
    }
    // ...and only there: the store holds certificates and key URIs, not keys.
    expect(report.findings.filter((f) => !f.file.startsWith('keys/'))).toEqual([]);
  });

  it('finds passphrase-encrypted soft keys by their EncryptedPrivateKeyInfo (PBES2) structure', async () => {
    const dir = join(work, 'softkey-encrypted');
    const a = await createAuthority({ dataDir: dir, env: {}, passphrase: 'correct horse' });
    await a.init({ config: { organization: 'Control Operator' } });
    await a.close();
    const report = scanForKeyMaterial(dir, { needles: softKeyNeedles(dir, 'correct horse') });
    const kinds = report.findings
      .filter((f) => f.file === join('keys', 'root.key.pem'))
      .map((f) => `${f.kind}:${f.detail}`);
    expect(kinds).toContain('pem-private-key:ENCRYPTED PRIVATE KEY');
    expect(kinds).toContain('pkcs8-encrypted:PBES2');
    // Encrypted, so the scalar itself is not on disk.
    expect(report.findings.some((f) => f.kind === 'key-bytes')).toBe(false);
  });

  it('finds a key inside LevelDB: a log record cut by a block header, and a Snappy-compressed table', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const b64 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const needles = privateKeyNeedles(privateKey, 'planted');

    // Log: the value starts near the end of the first 32 KiB block, so the base64 of the key is
    // split by the next block's 7-byte record header in the raw file.
    const logDir = join(work, 'leveldb-log');
    const db1 = new Level<string, string>(logDir, { valueEncoding: 'utf8' });
    await db1.open();
    await db1.put('k', `{"pad":"${'x'.repeat(32_768 - 60 - 25 - 8)}","der":"${b64}"}`);
    await db1.close();
    const logFile = readdirSync(logDir).find((f) => f.endsWith('.log'))!;
    expect(readFileSync(join(logDir, logFile)).includes(b64)).toBe(false);
    const log = scanForKeyMaterial(logDir, { needles });
    expect(log.decodeErrors).toEqual([]);
    const logHits = log.findings.filter((f) => f.kind === 'key-bytes');
    expect(logHits.length).toBeGreaterThan(0);
    expect(logHits.every((f) => f.via.startsWith('leveldb-log'))).toBe(true);

    // Table: compressible neighbours make Snappy rewrite the PEM armour with back-references.
    const tableDir = join(work, 'leveldb-table');
    const db2 = new Level<string, string>(tableDir, { valueEncoding: 'utf8' });
    await db2.open();
    for (let i = 0; i < 50; i++)
      await db2.put(`filler-${i}`, JSON.stringify({ text: '-----'.repeat(40) + 'abc'.repeat(100), i }));
    await db2.put('secret', JSON.stringify({ pem }));
    // classic-level (what `level` is in Node) flushes the memtable to a table file on compactRange.
    await (db2 as unknown as { compactRange(start: string, end: string): Promise<void> }).compactRange('a', 'z');
    await db2.close();
    const table = scanForKeyMaterial(tableDir, { needles });
    expect(table.decodeErrors).toEqual([]);
    expect(readdirSync(tableDir).some((f) => f.endsWith('.ldb'))).toBe(true);
    const tableHits = table.findings.filter((f) => /\.ldb$/.test(f.file));
    expect(tableHits.map((f) => f.kind)).toEqual(expect.arrayContaining(['pem-private-key', 'pkcs8', 'key-bytes']));
    expect(tableHits.find((f) => f.kind === 'pem-private-key')?.via).toBe('leveldb-table');
  });
});

describe('the whole CA on awskms: (KMS emulator)', () => {
  let kms: TestKmsEmulator;
  let kms2: TestKmsEmulator;
  let raw: KMSClient;
  let work: string;
  let cliDir: string;
  let libDir: string;
  let adoptDir: string;
  let restoreProcessEnv: () => void;
  let authority: Authority | undefined;
  let server: RunningServer | undefined;
  let softAgent: { serial: string; path: string };
  let kmsAgent: { serial: string; path: string; keyUri: string };

  const stats = () => kms.emulator.stats();
  const describeKey = async (uri: string) =>
    (await raw.send(new DescribeKeyCommand({ KeyId: parseAwsKmsUri(uri).keyId }))).KeyMetadata!;

  async function ocsp(cert: string, extra: string[] = ['-no_nonce']) {
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
        ...extra,
      ],
      { timeoutMs: 10_000 },
    );
  }

  beforeAll(async () => {
    kms = await startTestKmsEmulator();
    kms2 = await startTestKmsEmulator();
    raw = new KMSClient({
      endpoint: kms.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    work = mkdtempSync(join(tmpdir(), 'agent-ca-custody-kms-'));
    cliDir = join(work, 'cli-ca');
    libDir = join(work, 'lib-ca');
    adoptDir = join(work, 'adopt-ca');
    restoreProcessEnv = applyKmsEnv({
      AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9',
      AWS_REGION: 'eu-north-1',
      AWS_ACCESS_KEY_ID: 'wrong',
      AWS_SECRET_ACCESS_KEY: 'wrong',
      AWS_MAX_ATTEMPTS: '1',
    });
  });
  afterAll(async () => {
    await server?.close();
    await authority?.close();
    restoreProcessEnv?.();
    raw?.destroy();
    await kms?.close();
    await kms2?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('`agent-ca init --signer awskms` creates all four CA keys in KMS and stores only their URIs', async () => {
    const r = await cli(['init', '--signer', 'awskms', '--org', 'Custody Operator', '--data', cliDir], kms.env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/root .*\n.*key awskms:key-id=[0-9a-f-]{36};region=us-east-1 \(p256\)/);
    expect(stats().keys).toBe(4);
    const aliases = (await raw.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName).sort();
    expect(aliases).toEqual([
      'alias/agent-ca-intermediate',
      'alias/agent-ca-ocsp-intermediate',
      'alias/agent-ca-ocsp-root',
      'alias/agent-ca-root',
    ]);
    const a = await createAuthority({ dataDir: cliDir, env: kms.env, create: false });
    try {
      const uris = keyUris(await caState(a));
      for (const uri of uris) {
        expect(uri).toMatch(/^awskms:key-id=[0-9a-f-]{36};region=us-east-1$/);
        expect((await describeKey(uri)).KeyState).toBe('Enabled');
      }
      expect(new Set(uris).size).toBe(4);
      // The certificate certifies the KMS key: the same SPKI as GetPublicKey.
      const pub = await raw.send(new GetPublicKeyCommand({ KeyId: parseAwsKmsUri(uris[1]!).keyId }));
      expect(Buffer.from(pub.PublicKey!).equals(a.ca('intermediate').certificate.publicKeyInfo)).toBe(true);
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

  it('issues through the CLI with one KMS Sign per certificate (plus the closing audit checkpoint), and `--kms-key new` records the agent key URI', async () => {
    const pubFile = join(work, 'agent.pub.pem');
    writeFileSync(
      pubFile,
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }),
    );
    kms.emulator.resetStats();
    const soft = await cli(
      [
        'issue',
        '--agent-id',
        'custody-soft-bot',
        '--scope',
        'read:accounts',
        '--public-key',
        pubFile,
        '--out',
        join(work, 'soft.pem'),
        '--data',
        cliDir,
      ],
      kms.env,
    );
    expect(soft.err).toBe('');
    expect(soft.code).toBe(0);
    // the certificate, and the audit checkpoint the command signs over its entries as it closes
    expect(stats().signCalls).toBe(2);
    expect(stats().byOperation.CreateKey).toBeUndefined();
    softAgent = { serial: serialFrom(soft.out), path: join(work, 'soft.pem') };

    kms.emulator.resetStats();
    const viaKms = await cli(
      [
        'issue',
        '--agent-id',
        'custody-kms-bot',
        '--scope',
        'write:payments',
        '--kms-key',
        'new',
        '--out',
        join(work, 'kms.pem'),
        '--data',
        cliDir,
      ],
      kms.env,
    );
    expect(viaKms.err).toBe('');
    expect(viaKms.code).toBe(0);
    expect(viaKms.out).toContain('private key held in KMS');
    expect(stats().signCalls).toBe(2); // the intermediate signs the certificate and the closing audit checkpoint; the agent key signs nothing here
    expect(stats().byOperation.CreateKey).toBe(1);
    expect(stats().keys).toBe(5);
    const serial = serialFrom(viaKms.out);
    const show = await cli(['show', serial, '--data', cliDir], kms.env);
    expect(show.code).toBe(0);
    const keyUri = (JSON.parse(show.out) as { keyUri?: string }).keyUri;
    expect(keyUri).toMatch(/^awskms:key-id=[0-9a-f-]{36};region=us-east-1$/);
    kmsAgent = { serial, path: join(work, 'kms.pem'), keyUri: keyUri! };
    // The certificate's key is the KMS key's public key.
    const cert = parseCertificate(pemOrDer(readFileSync(kmsAgent.path), ['CERTIFICATE']));
    const pub = await raw.send(new GetPublicKeyCommand({ KeyId: parseAwsKmsUri(keyUri!).keyId }));
    expect(Buffer.from(pub.PublicKey!).equals(cert.publicKeyInfo)).toBe(true);
    const verified = await opensslAsync([
      'verify',
      '-CAfile',
      join(cliDir, 'ca', 'root.pem'),
      '-untrusted',
      join(cliDir, 'ca', 'intermediate.pem'),
      kmsAgent.path,
    ]);
    expect(verified.stdout).toContain(': OK');
  });

  it('serves OCSP "good" (openssl ocsp) signed once per agent per 30 s window by the KMS-held responder; repeats cost nothing; a nonce costs one live Sign', async () => {
    authority = await createAuthority({ dataDir: cliDir, env: kms.env, create: false });
    server = await startServer({ authority, host: '127.0.0.1', port: 0, logLevel: 'error' });
    kms.emulator.resetStats();
    for (const agent of [softAgent, kmsAgent]) {
      const r = await ocsp(agent.path);
      expect(r.stderr).toContain('Response verify OK');
      expect(r.stdout).toContain(`${agent.path}: good`);
    }
    // RFC 5019 GET form as well.
    const reqFile = join(work, 'get-req.der');
    await opensslAsync([
      'ocsp',
      '-issuer',
      join(cliDir, 'ca', 'intermediate.pem'),
      '-cert',
      softAgent.path,
      '-no_nonce',
      '-reqout',
      reqFile,
    ]);
    const get = await fetch(`${server.url}/ocsp/${encodeURIComponent(readFileSync(reqFile).toString('base64'))}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/ocsp-response');
    await get.arrayBuffer();
    // Agents' answers are valid 60 s (profile ocspValiditySeconds) and signed on the first
    // request of each window: one Sign per agent (SHA-1 CertIDs), the GET repeat is served as is.
    expect(stats().signCalls).toBe(2);

    const withNonce = await ocsp(softAgent.path, []);
    expect(withNonce.stderr).toContain('Response verify OK');
    expect(withNonce.stdout).toContain(`${softAgent.path}: good`);
    expect(stats().signCalls).toBe(3); // RFC 8954 nonce: signed live by the KMS-held responder key
  });

  it('serves a CRL signed in KMS that openssl verifies, and the chain checks against it', async () => {
    const res = await fetch(`${server!.url}/crl/intermediate.crl`);
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

  it('costs one Sign for the certificate and none for OCSP at issue: short-validity answers are signed when first asked', async () => {
    // Audit checkpoints cost one Sign per auditCheckpointIntervalMs of activity, not per
    // certificate: sign one now so that none falls due inside the issuance measured below.
    await authority!.audit.checkpoint();
    kms.emulator.resetStats();
    await authority!.issue({
      agentId: 'served-bot',
      publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      }),
    });
    expect(stats().signCalls).toBe(1);
  });

  it('revoking the --kms-key agent schedules its KMS key deletion with the configured window, and audits it', async () => {
    const window = authority!.config.agentKeyDeletionWindowDays;
    const before = Date.now();
    await authority!.revoke(kmsAgent.serial, { reason: 'keyCompromise', actor: 'test' });
    await authority!.hooks.settle();
    const after = Date.now();
    const meta = await describeKey(kmsAgent.keyUri);
    expect(meta.KeyState).toBe('PendingDeletion');
    expect(meta.PendingDeletionWindowInDays).toBe(window);
    expect(meta.DeletionDate!.getTime()).toBeGreaterThanOrEqual(before + window * DAY - 1000);
    expect(meta.DeletionDate!.getTime()).toBeLessThanOrEqual(after + window * DAY + 1000);
    const audited = await auditEntries(authority!, 'key.deletion-scheduled');
    expect(audited).toHaveLength(1);
    expect(audited[0]!.subject).toBe(kmsAgent.serial);
    expect(audited[0]!.details).toMatchObject({
      keyUri: kmsAgent.keyUri,
      agentId: 'custody-kms-bot',
      pendingWindowDays: window,
      deletionDate: meta.DeletionDate!.toISOString(),
    });
    expect(await auditEntries(authority!, 'key.deletion-failed')).toEqual([]);
    // The key can no longer sign, and OCSP already says revoked.
    expect(await code(openSigner(kmsAgent.keyUri as KeyUri, { env: kms.env }))).toBe(
      'ACA_ERR_SIGNER_KEY_PENDING_DELETION',
    );
    const r = await ocsp(kmsAgent.path);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toContain(`${kmsAgent.path}: revoked`);

    // A soft-key agent has no KMS key: revoking it schedules nothing.
    const keysBefore = stats().keys;
    await authority!.revoke(softAgent.serial, { reason: 'superseded', actor: 'test' });
    await authority!.hooks.settle();
    expect(await auditEntries(authority!, 'key.deletion-scheduled')).toHaveLength(1);
    expect(stats().keys).toBe(keysBefore);
    await server!.close();
    server = undefined;
    await authority!.close();
    authority = undefined;
  });

  it('library: init({ signer: "awskms" }) and issue({ createKeyIn: "awskms" }), deletion window from config', async () => {
    const a = await createAuthority({ dataDir: libDir, env: kms2.env });
    try {
      await a.init({
        signer: 'awskms',
        keyType: 'p384',
        config: { organization: 'Library Operator', agentKeyDeletionWindowDays: 7 },
      });
      const uris = keyUris(await caState(a));
      expect(uris.every((u) => u.startsWith('awskms:key-id='))).toBe(true);
      expect(a.ca('root').signer.algorithm).toBe('ecdsaWithSHA384');
      kms2.emulator.resetStats();
      const issued = await a.issue({ agentId: 'lib-kms-bot', createKeyIn: 'awskms', scope: ['read:accounts'] });
      expect(kms2.emulator.stats().signCalls).toBe(1);
      const { record } = await a.show(issued.serial);
      expect(record.keyUri).toMatch(/^awskms:key-id=/);
      await a.revoke(issued.serial, { reason: 'cessationOfOperation' });
      await a.hooks.settle();
      const kms2Client = new KMSClient({
        endpoint: kms2.endpoint,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      try {
        const meta = (await kms2Client.send(new DescribeKeyCommand({ KeyId: parseAwsKmsUri(record.keyUri!).keyId })))
          .KeyMetadata!;
        expect(meta.KeyState).toBe('PendingDeletion');
        expect(meta.PendingDeletionWindowInDays).toBe(7);
      } finally {
        kms2Client.destroy();
      }
      expect((await auditEntries(a, 'key.deletion-scheduled'))[0]?.details).toMatchObject({
        keyUri: record.keyUri,
        pendingWindowDays: 7,
      });
    } finally {
      await a.close();
    }
  });

  it('a second `init --signer awskms` against the same KMS refuses to reuse the CA key aliases and creates no key', async () => {
    const keysBefore = stats().keys;
    const r = await cli(['init', '--signer', 'awskms', '--data', join(work, 'second-ca')], kms.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ACA_ERR_CA_ALREADY_INITIALISED');
    expect(r.err).toContain('alias/agent-ca-root');
    expect(stats().keys).toBe(keysBefore);
  });

  it('`--key-uri` adopts pre-created KMS keys (by key id and by alias) and creates none', async () => {
    const km = awsKmsKeyManager({ env: kms.env });
    const root = await km.createKey({ keyType: 'p256' });
    const intermediate = await km.createKey({ keyType: 'p256', label: 'adopted/intermediate' });
    const ocspRoot = await km.createKey({ keyType: 'p256' });
    const ocspInt = await km.createKey({ keyType: 'p256' });
    const intermediateByAlias = 'awskms:key-id=alias/adopted/intermediate;region=us-east-1';
    kms.emulator.resetStats();
    const r = await cli(
      [
        'init',
        '--signer',
        'awskms',
        '--org',
        'Adopting Operator',
        '--data',
        adoptDir,
        '--key-uri',
        `root=${root}`,
        '--key-uri',
        `intermediate=${intermediateByAlias}`,
        '--key-uri',
        `ocsp-root=${ocspRoot}`,
        '--key-uri',
        `ocsp-intermediate=${ocspInt}`,
      ],
      kms.env,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(stats().byOperation.CreateKey).toBeUndefined();
    expect(stats().byOperation.CreateAlias).toBeUndefined();
    const a = await createAuthority({ dataDir: adoptDir, env: kms.env, create: false });
    try {
      expect(keyUris(await caState(a))).toEqual([root, intermediateByAlias, ocspRoot, ocspInt]);
      const pub = await raw.send(new GetPublicKeyCommand({ KeyId: parseAwsKmsUri(intermediate).keyId }));
      expect(Buffer.from(pub.PublicKey!).equals(a.ca('intermediate').certificate.publicKeyInfo)).toBe(true);
      const issued = await a.issue({
        agentId: 'adopted-bot',
        publicKey: createPublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey).export({
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

  it('leaves no private key material in any CA data dir (while the emulator data dir does hold every key)', () => {
    const needles = [...kmsEmulatorNeedles(kms.dataDir), ...kmsEmulatorNeedles(kms2.dataDir)];
    // 5 + 4 adopted keys in the first emulator, 4 + 1 in the second; P-256/P-384 keys give one scalar each.
    expect(needles).toHaveLength(14);
    // Control: the needles are right, the emulator's own store is where the keys are.
    const emu = scanForKeyMaterial(kms.dataDir, { needles });
    const found = new Set(emu.findings.filter((f) => f.kind === 'key-bytes').map((f) => f.detail));
    for (const n of kmsEmulatorNeedles(kms.dataDir)) expect(found).toContain(n.label);

    for (const dir of [cliDir, libDir, adoptDir]) {
      const report = scanForKeyMaterial(dir, { needles });
      expect(report.files).toBeGreaterThan(3);
      expect(report.levelDbFiles).toBeGreaterThan(0);
      expect(report.decodeErrors).toEqual([]);
      expect(report.findings, describeFindings(report.findings)).toEqual([]);
      expect(existsSync(join(dir, 'keys'))).toBe(false);
    }
  });
});

describe('CA keys in KMS, OCSP responders outside it (--responder-signer softkey)', () => {
  let kms: TestKmsEmulator;
  let work: string;
  beforeAll(async () => {
    kms = await startTestKmsEmulator();
    work = mkdtempSync(join(tmpdir(), 'agent-ca-custody-split-'));
  });
  afterAll(async () => {
    await kms?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('root and intermediate in KMS, responders soft; serving OCSP for agents costs no KMS call', async () => {
    const dataDir = join(work, 'split-ca');
    const r = await cli(
      ['init', '--signer', 'awskms', '--responder-signer', 'softkey', '--org', 'Split Operator', '--data', dataDir],
      kms.env,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const authority = await createAuthority({ dataDir, env: kms.env, create: false });
    const [root, intermediate, ocspRoot, ocspIntermediate] = keyUris(await caState(authority));
    expect([root, intermediate]).toEqual([expect.stringMatching(/^awskms:/), expect.stringMatching(/^awskms:/)]);
    expect([ocspRoot, ocspIntermediate]).toEqual([
      expect.stringMatching(/^softkey:/),
      expect.stringMatching(/^softkey:/),
    ]);
    expect(kms.emulator.stats().keys).toBe(2);

    // CRLs and audit checkpoints are signed with the intermediate's key, in KMS by design: this
    // server signs no CRLs (a follower among peers) and checkpoints only every 1,000 entries, so
    // the count below is the OCSP path's alone and does not depend on timers firing meanwhile.
    authority.audit.useSigner(authority.audit.checkpointSigner!, { checkpointEvery: 1000 });
    const server = await startServer({
      authority,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      crl: { leader: { isLeader: false } },
    });
    try {
      const agentPath = join(work, 'split-agent.pem');
      const issued = await authority.issue({
        agentId: 'split-bot',
        publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          format: 'der',
          type: 'spki',
        }),
      });
      writeFileSync(agentPath, issued.pem);
      kms.emulator.resetStats();
      const args = [
        'ocsp',
        '-issuer',
        join(dataDir, 'ca', 'intermediate.pem'),
        '-cert',
        agentPath,
        '-url',
        `${server.url}/ocsp`,
        '-CAfile',
        join(dataDir, 'ca', 'root.pem'),
      ];
      for (const extra of [['-no_nonce'], []]) {
        const o = await opensslAsync([...args, ...extra], { timeoutMs: 10_000 });
        expect(o.stderr).toContain('Response verify OK');
        expect(o.stdout).toContain(`${agentPath}: good`);
      }
      await authority.revoke(issued.serial, { reason: 'keyCompromise', actor: 'test' });
      const revoked = await opensslAsync([...args, '-no_nonce'], { timeoutMs: 10_000 });
      expect(revoked.stdout).toContain(`${agentPath}: revoked`);
      // The window signature, the nonce's live signature and the revocation's re-signing: all soft.
      expect(kms.emulator.stats().signCalls).toBe(0);
    } finally {
      await server.close();
      await authority.close();
    }
  });
});
