/**
 * examples/embed (docs/http-api.md, Embedding): the example type-checks against the sources,
 * starts, serves the routes its certificates name (OCSP answered "good" by openssl ocsp, the
 * CRL parsed by openssl crl), lets an agent call its own route with a signed action
 * (createActionEnvelope), and stops cleanly on SIGTERM.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePem, toPem } from '../../src/asn1/pem.js';
import { createActionEnvelope, compactOf } from '../../src/actions/index.js';
import { openAgentKey } from '../../src/client/agent-key.js';
import { systemClock } from '../../src/clock.js';
import { opensslAsync } from '../helpers/openssl.js';
import { spawnTsHelper, type TsChild } from '../helpers/spawn-ts-helper.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const TSCONFIG = 'examples/embed/tsconfig.json';
let tmp: TmpDir | undefined;
let server: TsChild | undefined;

afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await tmp?.cleanup();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('examples/embed', () => {
  it('type-checks against the package sources', async () => {
    const tsc = join('node_modules', '.bin', 'tsc');
    const r = await promisify(execFile)(tsc, ['-p', TSCONFIG], { encoding: 'utf8' }).catch(
      (e: { stdout: string; code: number }) => e,
    );
    expect('code' in r ? r.stdout : '').toBe('');
  }, 180_000);

  it('runs: issues, answers OCSP and CRLs that openssl reads, guards its own route, stops on SIGTERM', async () => {
    tmp = await makeTmpDir('agent-ca-embed-');
    const port = await freePort();
    server = spawnTsHelper('../../examples/embed/server.ts', [join(tmp.dir, 'data')], {
      PORT: String(port),
      TSX_TSCONFIG_PATH: TSCONFIG,
      AGENT_CA_ADMIN_TOKEN: 'embed-admin-token',
    });
    const ready = JSON.parse(await server.waitForLine(/^\{"url"/, 90_000)) as {
      url: string;
      adminToken: string;
      rootPem: string;
    };
    expect(ready.adminToken).toBe('embed-admin-token');
    const url = ready.url;

    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const issued = await fetch(`${url}/api/v1/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ready.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        agentId: 'embed-bot',
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
        scope: ['write:payments'],
        modelHash: { algorithm: 'sha256', digest: 'ab'.repeat(32) },
      }),
    });
    expect(issued.status).toBe(201);
    const cert = (await issued.json()) as { serial: string; certificate: string; chain: string };
    // chain: the agent certificate, then the intermediate.
    const intermediatePem = toPem(parsePem(cert.chain)[1]!.der);
    const files = {
      cert: join(tmp.dir, 'agent.pem'),
      intermediate: join(tmp.dir, 'intermediate.pem'),
      root: join(tmp.dir, 'root.pem'),
      crl: join(tmp.dir, 'intermediate.crl'),
      chain: join(tmp.dir, 'chain.pem'),
    };
    writeFileSync(files.cert, cert.certificate);
    writeFileSync(files.intermediate, intermediatePem);
    writeFileSync(files.root, ready.rootPem);
    writeFileSync(files.chain, intermediatePem + ready.rootPem);

    // The certificate names this server's OCSP URL; openssl asks it.
    const aia = await opensslAsync(['x509', '-in', files.cert, '-noout', '-ocsp_uri']);
    expect(aia.stdout.trim()).toBe(`${url}/ocsp`);
    const ocsp = await opensslAsync([
      'ocsp',
      '-issuer',
      files.intermediate,
      '-cert',
      files.cert,
      '-url',
      `${url}/ocsp`,
      '-CAfile',
      files.root,
      '-verify_other',
      files.intermediate,
    ]);
    expect(ocsp.stdout + ocsp.stderr).toMatch(/Response verify OK/);
    expect(ocsp.stdout).toMatch(/agent\.pem: good/);

    const crl = await fetch(`${url}/crl/intermediate.crl`);
    expect(crl.status).toBe(200);
    writeFileSync(files.crl, Buffer.from(await crl.arrayBuffer()));
    const crlText = await opensslAsync(['crl', '-inform', 'DER', '-in', files.crl, '-CAfile', files.chain, '-noout']);
    expect(crlText.stdout + crlText.stderr).toMatch(/verify OK/);
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);

    // The agent side: sign the action with its own key, call the app's own route.
    const { signer } = await openAgentKey({ pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string });
    const payload = JSON.stringify({ amount: '10', currency: 'USD' });
    const envelope = await createActionEnvelope({
      signer,
      chain: [parsePem(cert.certificate)[0]!.der, parsePem(intermediatePem)[0]!.der],
      clock: systemClock,
      payload,
      action: 'write:payments',
    });
    const paid = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: { 'agentca-action': compactOf(envelope), 'content-type': 'application/json' },
      body: payload,
    });
    expect(await paid.json()).toEqual({ accepted: true, agent: 'embed-bot' });
    const refused = await fetch(`${url}/payments`, { method: 'POST', body: payload });
    expect(refused.status).toBe(403);

    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
