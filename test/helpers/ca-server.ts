/** A CA with its HTTP server on 127.0.0.1:<random port>, in a temp data dir (LevelDB + softkey). */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthority } from '../../src/authority/create-authority.js';
import type { Authority } from '../../src/authority/authority.js';
import type { Clock } from '../../src/clock.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { toPem } from '../../src/asn1/pem.js';
import type { KeyType } from '../../src/types.js';
import type { CrlServiceOptions } from '../../src/crl/service.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface TestCa {
  dir: string;
  authority: Authority;
  server: RunningServer;
  url: string;
  rootPem: string;
  intermediatePem: string;
  /** Issue an agent certificate; writes <agentId>.pem and its private key <agentId>.key in dir. */
  issueAgent(agentId: string, extra?: Record<string, unknown>): Promise<{ path: string; key: string; serial: string }>;
  admin(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; json: any; headers: Headers }>;
  close(): Promise<void>;
}

/** One JSON request to the admin API with a bearer token; the body parsed when it is JSON. */
export async function adminRequest(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  token: string | undefined,
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, json, headers: res.headers };
}

export interface TestCaOptions {
  keyType?: KeyType;
  clock?: Clock;
  serve?: boolean;
  crl?: CrlServiceOptions;
  /** Profiles (JSON objects) that add to or replace the built-in ones, by name. */
  profiles?: Record<string, unknown>[];
}

export async function startTestCa(opts: TestCaOptions = {}): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ca-server-'));
  const profilesDir = join(dir, 'profiles');
  if (opts.profiles) {
    mkdirSync(profilesDir);
    for (const p of opts.profiles) writeFileSync(join(profilesDir, `${String(p.name)}.json`), JSON.stringify(p));
  }
  const authority = await createAuthority({
    dataDir: join(dir, 'data'),
    env: {},
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await authority.init({
    keyType: opts.keyType ?? 'p256',
    config: { organization: 'Example Operator', ...(opts.profiles ? { profilesDir } : {}) },
  });
  const server = await startServer({
    authority,
    host: '127.0.0.1',
    port: 0,
    adminToken: ADMIN_TOKEN,
    logLevel: 'error',
    ...(opts.crl ? { crl: opts.crl } : {}),
  });
  const chain = authority.chain();
  writeFileSync(join(dir, 'root.pem'), chain.root);
  writeFileSync(join(dir, 'intermediate.pem'), chain.intermediate);
  const url = server.url;
  return {
    dir,
    authority,
    server,
    url,
    rootPem: join(dir, 'root.pem'),
    intermediatePem: join(dir, 'intermediate.pem'),
    async issueAgent(agentId, extra = {}) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const issued = await authority.issue({
        agentId,
        publicKey: publicKey.export({ format: 'der', type: 'spki' }),
        ...extra,
      });
      const path = join(dir, `${agentId}.pem`);
      const key = join(dir, `${agentId}.key`);
      writeFileSync(path, toPem(issued.der));
      writeFileSync(key, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
      return { path, key, serial: issued.serial };
    },
    admin: (method, path, body, token = ADMIN_TOKEN) => adminRequest(url, method, path, body, token),
    async close() {
      await server.close();
      await authority.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
