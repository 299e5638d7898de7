/** A CA + server on 127.0.0.1 (LevelDB, soft CA keys) with the KMS emulator for agent keys, for tenancy tests. */
import { join } from 'node:path';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { startTestKmsEmulator, type TestKmsEmulator } from './kms-emulator.js';
import { makeTmpDir, type TmpDir } from './tmp-dir.js';

export interface TenancyServer {
  tmp: TmpDir;
  kms: TestKmsEmulator;
  authority: Authority;
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

export async function startTenancyServer(adminToken: string, organization: string): Promise<TenancyServer> {
  const tmp = await makeTmpDir('agent-ca-tenancy-');
  const kms = await startTestKmsEmulator();
  const authority = await createAuthority({ dataDir: join(tmp.dir, 'data'), env: { ...kms.env } });
  await authority.init({ keyType: 'p256', config: { organization } });
  const server = await startServer({ authority, host: '127.0.0.1', port: 0, adminToken, logLevel: 'error', env: {} });
  return {
    tmp,
    kms,
    authority,
    server,
    url: server.url,
    async close() {
      await server.close();
      await authority.close();
      await kms.close();
      await tmp.cleanup();
    },
  };
}
