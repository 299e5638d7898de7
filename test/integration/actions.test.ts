/**
 * Signed agent actions end to end, over real HTTP on 127.0.0.1:
 * - revocation status by OCSP (the AIA URL of the certificate) and by CRL (its CRL DP), both
 *   served by the project's own responder / CRL publisher, before and after a revocation;
 * - the openssl binary verifies the JWS signatures (ES256 after r||s -> DER, RS256, Ed25519)
 *   and the x5c chain, and reads our OCSP request;
 * - a KMS-held agent key (the KMS emulator over SigV4) signs through the recorded key URI;
 * - the CLI: sign-action with a LevelDB data directory, verify-action with only the root;
 * - the fastify guard: 200 for an allowed action, 403 problem+json naming the reason.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAction } from '../../src/actions/sign.js';
import { verifyAction, type VerifyActionOptions } from '../../src/actions/verify.js';
import { compactOf, fromB64u, signingInput } from '../../src/actions/jws.js';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import type { ActionEnvelope } from '../../src/actions/types.js';
import { ecdsaRawToDer } from '../../src/asn1/ecdsa-signature.js';
import { toPem } from '../../src/asn1/pem.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { signActionCommand, verifyActionCommand } from '../../src/cli/commands/actions.js';
import type { Io } from '../../src/cli/args.js';
import { requireAgentAction } from '../../src/http/plugins/require-agent-action.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { keyManagerFor, openSigner } from '../../src/signer/registry.js';
import { startTestKmsEmulator, type TestKmsEmulator } from '../helpers/kms-emulator.js';
import { openssl, tempDir, unixTime, type TempDir } from '../helpers/openssl.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { makeActionsFixture, keyPair, START, type ActionsFixture, type Agent } from '../unit/actions/fixture.js';
import { startStatusServer, type StatusServer } from '../unit/actions/status-server.js';

const PAYLOAD = '{"order":"buy","qty":"10"}';

let srv: StatusServer;
let f: ActionsFixture;
let tmp: TempDir;

beforeAll(async () => {
  srv = await startStatusServer();
  f = await makeActionsFixture({ baseUrl: srv.baseUrl });
  srv.attach(f.authority);
  tmp = tempDir('agent-ca-actions-');
});
afterAll(async () => {
  await f.close();
  await srv.close();
  tmp.cleanup();
});

function opts(over: Partial<VerifyActionOptions> = {}): VerifyActionOptions {
  return {
    action: 'write:payments',
    trustAnchors: f.rootPem,
    status: 'ocsp',
    now: f.clock.now(),
    payload: PAYLOAD,
    ...over,
  };
}

async function sign(agent: Agent, action = 'write:payments'): Promise<ActionEnvelope> {
  return signAction(f.authority, {
    serial: agent.serial,
    payload: PAYLOAD,
    action,
    amount: { value: '100', currency: 'USD' },
    key: agent.privateKey,
  });
}

describe('revocation status over HTTP', () => {
  it('OCSP at the AIA URL: good, then revoked after revoke()', async () => {
    const a = await f.issue('p256');
    const env = await sign(a);
    const before = srv.hits.get('/ocsp') ?? 0;
    const v = await verifyAction(env, opts());
    expect(v).toMatchObject({ allow: true, statusSource: `ocsp ${srv.baseUrl}/ocsp` });
    expect(srv.hits.get('/ocsp')).toBe(before + 1);
    expect((await verifyAction(env, opts({ status: { ocsp: { nonce: true, hash: 'sha1' } } }))).allow).toBe(true);
    await f.authority.revoke(a.serial, { reason: 'keyCompromise' });
    const after = await verifyAction(env, opts());
    expect(after).toMatchObject({ allow: false, reason: 'revoked' });
    expect(!after.allow && after.detail).toMatch(/keyCompromise.*ocsp/);
  });

  it('CRL at the CRL DP: good, then revoked', async () => {
    const a = await f.issue('rsa2048');
    const env = await sign(a);
    expect(await verifyAction(env, opts({ status: 'crl' }))).toMatchObject({
      allow: true,
      statusSource: `crl ${srv.baseUrl}/crl/intermediate.crl`,
    });
    await f.authority.revoke(a.serial);
    expect(await verifyAction(env, opts({ status: 'crl' }))).toMatchObject({ allow: false, reason: 'revoked' });
  });

  it('no usable answer is a status failure, never "good": responder down, a responder for another CA', async () => {
    const a = await f.issue('ed25519');
    const env = await sign(a);
    const down = await verifyAction(
      env,
      opts({ status: { ocsp: { url: 'http://127.0.0.1:1/ocsp', timeoutMs: 2000 } } }),
    );
    expect(down).toMatchObject({ allow: false, reason: 'status' });
    const otherSrv = await startStatusServer();
    const other = await makeActionsFixture({ baseUrl: otherSrv.baseUrl });
    otherSrv.attach(other.authority);
    try {
      const v = await verifyAction(env, opts({ status: { ocsp: { url: `${otherSrv.baseUrl}/ocsp` } } }));
      expect(v).toMatchObject({ allow: false, reason: 'status' });
      expect(!v.allow && v.detail).toMatch(/unauthorized/);
    } finally {
      await other.close();
      await otherSrv.close();
    }
  });

  it('openssl reads our OCSP request', () => {
    const issuer = f.authority.ca('intermediate').certificate;
    const req = ocspRequestDer(
      certIdFor(
        { subjectDer: issuer.subject, publicKeyInfo: issuer.publicKeyInfo },
        Buffer.from('0badcafe', 'hex'),
        'sha256',
      ),
      Buffer.alloc(16, 7),
    );
    const r = openssl(['ocsp', '-reqin', tmp.file('req.der', req), '-req_text']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Serial Number: 0BADCAFE/i);
    expect(r.stdout).toMatch(/OCSP Nonce/);
  });
});

describe('openssl verifies what a counterparty receives', () => {
  function parts(env: ActionEnvelope, name: string) {
    const header = JSON.parse(fromB64u(env.protected)!.toString()) as { alg: string; x5c: string[] };
    const certs = header.x5c.map((c, i) => tmp.file(`${name}-x5c${i}.pem`, toPem(Buffer.from(c, 'base64'))));
    // The counterparty takes the key from x5c[0] with openssl itself.
    const pub = openssl(['x509', '-in', certs[0]!, '-pubkey', '-noout']);
    expect(pub.status, pub.stderr).toBe(0);
    return {
      header,
      certs,
      pubFile: tmp.file(`${name}-pub.pem`, pub.stdout),
      input: signingInput(env.protected, env.payload),
      sig: fromB64u(env.signature)!,
    };
  }

  function opensslVerify(
    alg: string,
    pubFile: string,
    input: Buffer,
    sig: Buffer,
    name: string,
  ): { status: number; stdout: string } {
    const inputFile = tmp.file(`${name}-input.bin`, input);
    if (alg === 'EdDSA') {
      // RFC 8037: PureEdDSA over the signing input; openssl 3.0 dgst cannot, pkeyutl -rawin can.
      return openssl([
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pubFile,
        '-rawin',
        '-in',
        inputFile,
        '-sigfile',
        tmp.file(`${name}-sig.bin`, sig),
      ]);
    }
    const der = alg === 'ES256' ? ecdsaRawToDer(sig) : sig;
    return openssl(['dgst', '-sha256', '-verify', pubFile, '-signature', tmp.file(`${name}-sig.der`, der), inputFile]);
  }

  it.each(['p256', 'rsa2048', 'ed25519'] as const)('%s: signature and chain', async (kt) => {
    const a = await f.issue(kt);
    const env = await sign(a);
    const p = parts(env, kt);
    expect(p.header.alg).toBe({ p256: 'ES256', rsa2048: 'RS256', ed25519: 'EdDSA' }[kt]);
    const ok = opensslVerify(p.header.alg, p.pubFile, p.input, p.sig, kt);
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/Verified OK|Signature Verified Successfully/);
    const tampered = Buffer.from(p.input);
    tampered[tampered.length - 1]! ^= 1;
    expect(opensslVerify(p.header.alg, p.pubFile, tampered, p.sig, `${kt}-bad`).status).not.toBe(0);
    const chain = openssl([
      'verify',
      '-attime',
      String(unixTime(START) + 60),
      '-CAfile',
      tmp.file('root.pem', f.rootPem),
      '-untrusted',
      p.certs[1]!,
      p.certs[0]!,
    ]);
    expect(chain.status, chain.stderr + chain.stdout).toBe(0);
    expect(chain.stdout).toMatch(/: OK/);
  });
});

describe('KMS-held agent key', () => {
  let kms: TestKmsEmulator;
  beforeAll(async () => {
    kms = await startTestKmsEmulator();
  });
  afterAll(async () => {
    await kms.close();
  });

  it.each(['p256', 'rsa2048'] as const)(
    '%s: signAction signs through the recorded awskms: URI; verify and openssl agree',
    async (keyType) => {
      const ctx = { env: kms.env };
      const keyUri = await keyManagerFor('awskms', ctx).createKey({ keyType });
      const kmsSigner = await openSigner(keyUri, ctx);
      const issued = await f.authority.issue({
        agentId: `kms-agent-${keyType}`,
        publicKey: toPem(kmsSigner.publicKeyInfo, 'PUBLIC KEY'),
        keyUri,
        scope: ['write:payments'],
      });
      expect((await f.authority.show(issued.serial)).record.keyUri).toBe(keyUri);
      // this authority has no credentials for that KMS: it records the URI and says it could not check it
      expect(issued.warnings).toEqual([
        expect.stringMatching(/^keyUri awskms:.* not verified against the certified key/),
      ]);
      const signsBefore = kms.emulator.stats().signCalls;
      const env = await signAction(
        f.authority,
        { serial: issued.serial, payload: PAYLOAD, action: 'write:payments' },
        { signerContext: ctx },
      );
      expect(kms.emulator.stats().signCalls).toBe(signsBefore + 1);
      expect(await verifyAction(env, opts())).toMatchObject({
        allow: true,
        serial: issued.serial,
        agentId: `kms-agent-${keyType}`,
      });
      const header = JSON.parse(fromB64u(env.protected)!.toString()) as { alg: string };
      const pub = tmp.file(`kms-${keyType}.pem`, toPem(kmsSigner.publicKeyInfo, 'PUBLIC KEY'));
      const sig = fromB64u(env.signature)!;
      const r = openssl([
        'dgst',
        '-sha256',
        '-verify',
        pub,
        '-signature',
        tmp.file(`kms-${keyType}.sig`, header.alg === 'ES256' ? ecdsaRawToDer(sig) : sig),
        tmp.file(`kms-${keyType}.in`, signingInput(env.protected, env.payload)),
      ]);
      expect(r.stdout).toMatch(/Verified OK/);
    },
  );
});

describe('CLI', () => {
  it('sign-action with the data directory, verify-action with only the root: allow, then deny after revocation', async () => {
    const cliSrv = await startStatusServer();
    const dir = await makeTmpDir('agent-ca-actions-cli-');
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), env: {} };
    try {
      let a = await createAuthority({ dataDir: dir.dir, env: {} });
      await a.init({ config: { baseUrl: cliSrv.baseUrl } });
      const { privateKey, publicKey } = keyPair('p256');
      const issued = await a.issue({
        agentId: 'cli-trader',
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
        scope: ['write:payments'],
        policy: { maxTransactionSize: { amount: '500', currency: 'USD' } },
      });
      const rootFile = join(dir.dir, 'ca', 'root.pem');
      await a.close();
      const keyFile = tmp.file('cli-agent.key', privateKey.export({ format: 'pem', type: 'pkcs8' }));
      const payloadFile = tmp.file('cli-payload.json', PAYLOAD);
      const envFile = join(tmp.dir, 'cli-env.json');
      const signArgs = [
        '--data',
        dir.dir,
        '--serial',
        issued.serial,
        '--payload',
        payloadFile,
        '--action',
        'write:payments',
        '--amount',
        '100:USD',
        '--key',
        keyFile,
      ];
      expect(await signActionCommand([...signArgs, '--out', envFile], io)).toBe(0);
      const bigEnv = join(tmp.dir, 'cli-env-big.json');
      expect(
        await signActionCommand(
          [...signArgs.slice(0, -4), '--amount', '900:USD', '--key', keyFile, '--out', bigEnv],
          io,
        ),
      ).toBe(0);

      a = await createAuthority({ dataDir: dir.dir, env: {} });
      cliSrv.attach(a);
      try {
        const verify = [
          '--action',
          'write:payments',
          '--amount',
          '100.00:USD',
          '--ca',
          rootFile,
          '--payload',
          payloadFile,
        ];
        out.length = 0;
        expect(await verifyActionCommand([envFile, ...verify], io)).toBe(0);
        expect(JSON.parse(out.join('\n'))).toMatchObject({
          allow: true,
          agentId: 'cli-trader',
          statusSource: `ocsp ${cliSrv.baseUrl}/ocsp`,
          payloadChecked: true,
        });

        err.length = 0;
        expect(await verifyActionCommand([bigEnv, '--action', 'write:payments', '--ca', rootFile], io)).toBe(1);
        expect(err.join('\n')).toMatch(/^deny: policy: amount 900 USD exceeds maxTransactionSize 500 USD/m);

        // claims: authentic, but another amount than the one asked for
        err.length = 0;
        expect(await verifyActionCommand([envFile, ...verify.slice(0, 3), '101:USD', ...verify.slice(4)], io)).toBe(1);
        expect(err.join('\n')).toMatch(/^deny: claims: the envelope signs amount 100 USD, not 101 USD/m);

        // --replay-cache: every run is a new verifier; the file remembers the accepted envelope
        const seen = join(tmp.dir, 'cli-seen.jsonl');
        err.length = 0;
        expect(await verifyActionCommand([envFile, ...verify, '--replay-cache', seen], io)).toBe(0);
        expect(await verifyActionCommand([envFile, ...verify, '--replay-cache', seen], io)).toBe(1);
        expect(err.join('\n')).toMatch(/^deny: replay: envelope \S+ was already used/m);
        // without the cache the same envelope still verifies (the cache is what detects replay)
        expect(await verifyActionCommand([envFile, ...verify], io)).toBe(0);

        writeFileSync(payloadFile, PAYLOAD.replace('10', '99'));
        err.length = 0;
        expect(await verifyActionCommand([envFile, ...verify], io)).toBe(1);
        expect(err.join('\n')).toMatch(/deny: signature: the payload does not match/);
        writeFileSync(payloadFile, PAYLOAD);

        await a.revoke(issued.serial);
        err.length = 0;
        expect(await verifyActionCommand([envFile, ...verify], io)).toBe(1);
        expect(err.join('\n')).toMatch(/^deny: revoked: /m);
        // --offline-status good skips the status check, and says so
        err.length = 0;
        expect(await verifyActionCommand([envFile, ...verify, '--offline-status', 'good'], io)).toBe(0);
        expect(err.join('\n')).toMatch(/NOT checked/);

        await expect(verifyActionCommand([envFile, '--action', 'write:payments'], io)).rejects.toThrow(
          /--ca ROOT.pem is required/,
        );
        await expect(verifyActionCommand([envFile, ...verify, '--ocsp', 'http://x', '--crl-dp'], io)).rejects.toThrow(
          /at most one/,
        );
      } finally {
        await a.close();
      }
    } finally {
      await cliSrv.close();
      await dir.cleanup();
    }
  });
});

describe('fastify guard', () => {
  let app: FastifyInstance;
  let url: string;
  const denials: string[] = [];

  beforeAll(async () => {
    app = Fastify({ logger: false });
    // Keep the exact body bytes: the envelope signs their SHA-256.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      (req as unknown as { rawBody: string }).rawBody = body as string;
      try {
        done(null, JSON.parse(body as string));
      } catch (e) {
        done(e as Error, undefined);
      }
    });
    const guard = (scope: string) =>
      requireAgentAction({
        scope,
        trustAnchors: f.rootPem,
        status: 'ocsp',
        clock: f.clock,
        amountFrom: (r) => {
          const b = r.body as { amount?: string; currency?: string } | undefined;
          return b?.amount ? { value: b.amount, currency: b.currency ?? '' } : undefined;
        },
        payloadFrom: (r) => (r as unknown as { rawBody?: string }).rawBody,
        onDeny: (_r, v) => denials.push(v.reason),
      });
    app.post('/payments', { preHandler: guard('write:payments') }, async (request) => ({
      paid: true,
      by: request.agentAction?.agentId,
      serial: request.agentAction?.serial,
    }));
    app.post('/accounts/delete', { preHandler: guard('delete:accounts') }, async () => ({ deleted: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    await app.close();
  });

  async function post(path: string, body: string, envelope?: ActionEnvelope) {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...(envelope ? { 'AgentCA-Action': compactOf(envelope) } : {}) },
      signal: AbortSignal.timeout(10_000),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      json: (await res.json()) as Record<string, unknown>,
    };
  }

  it('200 for an allowed action; 403 problem+json naming the reason otherwise', async () => {
    const a = await f.issue('p256', { scope: ['write:payments'], maxTx: { amount: '1000', currency: 'USD' } });
    const body = JSON.stringify({ amount: '250.00', currency: 'USD', to: 'acct-1' });
    const envFor = (action: string, b: string, amount = '250.00') =>
      signAction(f.authority, {
        serial: a.serial,
        payload: b,
        action,
        amount: { value: amount, currency: 'USD' },
        key: a.privateKey,
      });

    const okEnv = await envFor('write:payments', body);
    const ok = await post('/payments', body, okEnv);
    expect(ok).toMatchObject({
      status: 200,
      json: { paid: true, by: expect.stringMatching(/^trader-/), serial: a.serial },
    });

    const replay = await post('/payments', body, okEnv);
    expect(replay).toMatchObject({ status: 403, json: { reason: 'replay', code: 'ACA_ERR_ACTION_DENIED' } });

    const scope = await post('/accounts/delete', body, await envFor('delete:accounts', body));
    expect(scope.status).toBe(403);
    expect(scope.type).toMatch(/^application\/problem\+json/);
    expect(scope.json).toMatchObject({
      status: 403,
      reason: 'scope',
      type: 'urn:agent-ca:action-denied:scope',
      serial: a.serial,
    });
    expect(scope.json.detail).toMatch(/does not include delete:accounts/);

    const bigBody = JSON.stringify({ amount: '5000', currency: 'USD', to: 'acct-1' });
    expect(await post('/payments', bigBody, await envFor('write:payments', bigBody, '5000'))).toMatchObject({
      status: 403,
      json: { reason: 'policy' },
    });

    // the envelope signs 250.00 but the body asks for 5000: the signature does not cover it
    expect(await post('/payments', bigBody, await envFor('write:payments', body))).toMatchObject({
      status: 403,
      json: { reason: 'signature' },
    });

    expect(await post('/payments', body)).toMatchObject({ status: 403, json: { reason: 'malformed' } });
    expect(await post('/payments', JSON.stringify({ amount: '-1', currency: 'USD' }), okEnv)).toMatchObject({
      status: 400,
      json: { code: 'ACA_ERR_INPUT_INVALID' },
    });
    expect(denials).toEqual(['replay', 'scope', 'policy', 'signature', 'malformed']);
  });
});
