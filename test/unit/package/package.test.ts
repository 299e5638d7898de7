/**
 * What `npm pack` ships and what the package exposes (docs/cli-and-package.md): the `files`
 * allowlist keeps src/, test/ and stray private keys out of the tarball; the subpath exports map
 * to the build of their entry points; agent-ca/core has no fastify in its import graph; engines
 * are no looser than the production dependencies need.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importGraph } from '../../helpers/import-graph.js';
import { tempDir, type TempDir } from '../../helpers/openssl.js';

const ROOT = resolve(__dirname, '../../..');
const run = promisify(execFile);

interface Pkg {
  files: string[];
  exports: Record<string, { types: string; default: string }>;
  engines: { node: string };
  overrides: Record<string, Record<string, string>>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Pkg;

/** Paths `npm pack --dry-run` would put in the tarball (no build: scripts are not run). */
async function packed(dir: string): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  return (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

/** The release rule: no key or certificate outside ca-config/ and vectors/, no sources or tests. */
function violations(paths: string[]): string[] {
  return paths.filter((p) => (/\.(key|pem)$/.test(p) && !/^(ca-config|vectors)\//.test(p)) || /^(src|test)\//.test(p));
}

describe('npm pack', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('ships dist, asn1, ca-config, README and LICENSE from this checkout, nothing secret', async () => {
    const paths = await packed(ROOT);
    expect(violations(paths)).toEqual([]);
    for (const p of [
      'package.json',
      'README.md',
      'LICENSE',
      'asn1/AgentCA-Extensions.asn',
      'ca-config/profiles/agent.json',
    ])
      expect(paths).toContain(p);
    expect(paths.filter((p) => !/^(dist|asn1|ca-config)\//.test(p)).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
  });

  it('leaves out keys lying in the project root, src/ and test/ (the allowlist, not the checkout, decides)', async () => {
    const dir = join(tmp.dir, 'pkg');
    for (const d of ['dist', 'src', 'test', 'ca-config', 'asn1', 'vectors'])
      mkdirSync(join(dir, d), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    for (const f of ['README.md', 'LICENSE']) cpSync(join(ROOT, f), join(dir, f));
    writeFileSync(join(dir, 'dist/index.js'), 'export {};\n');
    writeFileSync(join(dir, 'ca-config/root.pem'), '-----BEGIN CERTIFICATE-----\n');
    writeFileSync(join(dir, 'asn1/AgentCA-Extensions.asn'), '');
    for (const f of ['agent.key', 'ca.pem', 'src/index.ts', 'test/a.test.ts', 'vectors/v.pem'])
      writeFileSync(join(dir, f), 'x\n');
    const paths = await packed(dir);
    expect(paths.sort()).toEqual([
      'LICENSE',
      'README.md',
      'asn1/AgentCA-Extensions.asn',
      'ca-config/root.pem',
      'dist/index.js',
      'package.json',
    ]);
    // the rule itself catches what the allowlist would let through if it were widened
    expect(
      violations(['agent.key', 'dist/x.pem', 'src/a.ts', 'test/b.ts', 'ca-config/a.pem', 'vectors/b.key']),
    ).toEqual(['agent.key', 'dist/x.pem', 'src/a.ts', 'test/b.ts']);
  });

  it('LICENSE is the Apache-2.0 text package.json names', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });
});

describe('subpath exports', () => {
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
    compilerOptions: { outDir?: string; rootDir?: string };
  };
  const outDir = (build.compilerOptions.outDir ?? 'dist').replace(/^\.\//, '').replace(/\/$/, '');

  it.each([
    ['.', 'index'],
    ['./client', 'client/index'],
    ['./http', 'http/index'],
    ['./core', 'core/index'],
  ])('%s maps to the build of src/%s.ts', (sub, entry) => {
    expect(pkg.exports[sub]).toEqual({ types: `./${outDir}/${entry}.d.ts`, default: `./${outDir}/${entry}.js` });
    expect(readFileSync(join(ROOT, 'src', `${entry}.ts`), 'utf8')).toMatch(/export/);
  });

  it('agent-ca/core reaches no fastify and nothing of src/http or src/cli', () => {
    const { files, packages } = importGraph(join(ROOT, 'src/core/index.ts'));
    expect([...packages].filter((p) => /^(fastify|@fastify\/|light-my-request)/.test(p))).toEqual([]);
    expect([...files].map((f) => relative(ROOT, f)).filter((f) => /^src\/(http|cli)\//.test(f))).toEqual([]);
    expect(files.size).toBeGreaterThan(50);
  });

  it('agent-ca is agent-ca/core plus agent-ca/http, so the root export did not shrink', async () => {
    const [root, core, http] = await Promise.all([
      import('../../../src/index.js'),
      import('../../../src/core/index.js'),
      import('../../../src/http/index.js'),
    ]);
    expect(Object.keys(root).sort()).toEqual([...new Set([...Object.keys(core), ...Object.keys(http)])].sort());
    expect(Object.keys(http).sort()).toEqual(['agentCaPlugin', 'buildApp', 'requireAgentAction', 'startServer']);
    expect(Object.keys(core)).toContain('createAuthority');
  });
});

describe('engines and overrides', () => {
  it('engines.node is what asn1js (a production dependency) declares, and cookie stays on 1.x under light-my-request', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; engines?: { node?: string } }>;
    };
    expect(pkg.engines.node).toBe(lock.packages['node_modules/asn1js']!.engines!.node);
    expect(pkg.overrides['light-my-request']).toEqual({ cookie: '^1.1.1' });
    const cookies = Object.entries(lock.packages).filter(([k]) => /(^|\/)node_modules\/cookie$/.test(k));
    expect(cookies.length).toBeGreaterThan(0);
    for (const [, v] of cookies) expect(v.version).toMatch(/^1\./);
  });
});
