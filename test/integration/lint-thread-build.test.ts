/**
 * The lint worker thread in the built package: `tsc` output (what `npm run build` and the
 * published package hold) issues agent certificates with their lint on the worker, found next
 * to the compiled module, with no fallback to the calling thread (which would say so on stderr).
 */
import { spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';
import { openssl } from '../helpers/openssl.js';

const ROOT = resolve(__dirname, '../..');
let tmp: TmpDir;

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-lint-build-');
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(tmp.dir, 'dist'),
      '--sourceMap',
      'false',
      '--declaration',
      'false',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);
  // what the package ships beside dist/ and what it imports
  for (const d of ['node_modules', 'ca-config']) symlinkSync(join(ROOT, d), join(tmp.dir, d), 'dir');
  writeFileSync(join(tmp.dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
}, 150_000);
afterAll(async () => tmp?.cleanup());

describe('lint worker in the compiled package', () => {
  it('issues through the worker built next to the pool', () => {
    writeFileSync(
      join(tmp.dir, 'issue.mjs'),
      `import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createAuthority } from './dist/authority/create-authority.js';
const a = await createAuthority({ dataDir: process.argv[2], env: {}, lintThread: true });
await a.init({ keyType: 'p256', config: { organization: 'Build Test' } });
const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
const issued = await Promise.all(Array.from({ length: 12 }, (_, i) => a.issue({ agentId: 'agent-' + i, publicKey })));
writeFileSync(process.argv[2] + '/agent.pem', issued[0].pem);
writeFileSync(process.argv[2] + '/chain.pem', issued[0].chainPem.slice(issued[0].pem.length));
console.log('issued ' + issued.length);
await a.close();
`,
    );
    const data = join(tmp.dir, 'data');
    const r = spawnSync(process.execPath, [join(tmp.dir, 'issue.mjs'), data], {
      cwd: tmp.dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('issued 12');
    expect(r.stderr).not.toContain('linting in the calling thread');
    // openssl checks what the worker-linted path signed (the intermediate as trust anchor)
    const v = openssl(['verify', '-partial_chain', '-CAfile', join(data, 'chain.pem'), join(data, 'agent.pem')]);
    expect(v.stdout).toContain('agent.pem: OK');
  });
});
