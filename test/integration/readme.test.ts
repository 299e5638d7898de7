/**
 * Docs that cannot rot (docs/cli-and-package.md, "The README test"): every ```sh and ```ts block
 * of README.md whose info string does not say `illustrative` runs, in order, in one temporary
 * directory, against a real server that the README's own Quick start starts in the background.
 *
 * - `npx agent-ca` and `agent-ca` are the built package (npm run build first): the temporary
 *   directory gets node_modules/agent-ca -> this checkout and node_modules/.bin/agent-ca ->
 *   dist/cli/bin.js, as `npm install agent-ca` would leave them.
 * - Port 8080 in the blocks becomes a free port, so the test never meets another server.
 * - Consecutive sh blocks share one shell (`set -euo pipefail`); exported variables carry over
 *   to the next shell after a ts block. A block that fails fails the test with its output.
 * - ts blocks are type-checked together against the built .d.ts (tsc --noEmit, strict), then
 *   each is executed with tsx at its place in the order.
 * - The server the README started is stopped at the end (its pid is in <data>/server.json).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnableBlocks, type Block } from '../helpers/readme-blocks.js';

const ROOT = resolve(__dirname, '../..');

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

describe('README.md', () => {
  const blocks = runnableBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  let dir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const built = run('npm', ['run', 'build'], ROOT, process.env, 600_000);
    expect(built.code, built.out).toBe(0);
    dir = mkdtempSync(join(tmpdir(), 'agent-ca-readme-'));
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules', 'agent-ca'), 'dir');
    // npm would link and chmod the package's bin; tsc leaves dist/cli/bin.js without +x.
    writeFileSync(
      join(dir, 'node_modules', '.bin', 'agent-ca'),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'dist', 'cli', 'bin.js'))} "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-test', private: true, type: 'module' }));
    // What the ts blocks import besides agent-ca (fastify for the Embedding example), as an app
    // that embeds agent-ca has it installed: linked from this checkout's node_modules.
    for (const b of blocks.filter((x) => x.lang === 'ts'))
      for (const m of b.code.matchAll(/from '((?:@[^/']+\/)?[^/'.][^/']*)[^']*'/g)) {
        const pkg = m[1]!;
        if (pkg.startsWith('node:') || pkg === 'agent-ca' || existsSync(join(dir, 'node_modules', pkg))) continue;
        mkdirSync(join(dir, 'node_modules', pkg, '..'), { recursive: true });
        symlinkSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
      }
    port = await freePort();
    env = {
      ...process.env,
      PATH: `${join(dir, 'node_modules', '.bin')}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      // The README's own variables start unset, as in a new shell.
      AGENT_CA_DATA: undefined,
      AGENT_CA_STORE: undefined,
      AGENT_CA_SERVER: undefined,
      AGENT_CA_TOKEN: undefined,
      AGENT_CA_ADMIN_TOKEN: undefined,
      AGENT_CA_PASSPHRASE: undefined,
    };
  }, 660_000);

  afterAll(() => {
    if (!dir) return;
    const file = join(dir, 'agent-ca-data', 'server.json');
    if (existsSync(file)) {
      const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('has runnable blocks, among them the Quick start that starts the server', () => {
    expect(blocks.filter((b) => b.lang === 'sh').length).toBeGreaterThan(3);
    expect(blocks.some((b) => b.lang === 'sh' && /agent-ca start\b/.test(b.code))).toBe(true);
  });

  const withPort = (code: string) =>
    code.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replaceAll('--port 8080', `--port ${port}`);

  it('type-checks every ts block against the built .d.ts', () => {
    const ts = blocks.filter((b) => b.lang === 'ts');
    if (ts.length === 0) return;
    for (const b of ts) writeFileSync(join(dir, `block-${b.line}.ts`), `${withPort(b.code)}\nexport {};\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ts.map((b) => `block-${b.line}.ts`),
      }),
    );
    const r = run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir, env, 300_000);
    expect(r.code, `README ts blocks do not type-check:\n${r.out}`).toBe(0);
  }, 300_000);

  /** The log the Quick start's background server writes, shown when a block fails. */
  const serverLog = () => {
    const f = join(dir, 'agent-ca.log');
    return existsSync(f) ? `\n--- agent-ca.log ---\n${readFileSync(f, 'utf8')}` : '';
  };

  it('runs every sh and ts block in order against the server the Quick start starts', () => {
    const envFile = join(dir, '.readme-env');
    writeFileSync(envFile, '');
    // Consecutive sh blocks form one script; each script sources what the previous exported.
    const segments: { lang: 'sh' | 'ts'; blocks: Block[] }[] = [];
    for (const b of blocks) {
      const last = segments.at(-1);
      if (last && last.lang === 'sh' && b.lang === 'sh') last.blocks.push(b);
      else segments.push({ lang: b.lang, blocks: [b] });
    }
    for (const seg of segments) {
      if (seg.lang === 'sh') {
        const script = [
          'set -euo pipefail',
          `source ${JSON.stringify(envFile)}`,
          ...seg.blocks.flatMap((b) => [`echo "### README.md line ${b.line}" >&2`, withPort(b.code)]),
          `export -p > ${JSON.stringify(envFile)}`,
        ].join('\n');
        const r = run('bash', ['-c', script], dir, env, 300_000);
        expect(
          r.code,
          `README sh block failed (the last "### README.md line N" names it):\n${r.out}${serverLog()}`,
        ).toBe(0);
      } else {
        const b = seg.blocks[0]!;
        // The ts block sees what the shell exported (AGENT_CA_SERVER, AGENT_CA_TOKEN, …).
        const r = run(
          'bash',
          ['-c', `set -euo pipefail; source ${JSON.stringify(envFile)}; tsx block-${b.line}.ts`],
          dir,
          env,
          300_000,
        );
        expect(r.code, `README ts block at line ${b.line} failed:\n${r.out}${serverLog()}`).toBe(0);
      }
    }
  }, 1_200_000);
});
