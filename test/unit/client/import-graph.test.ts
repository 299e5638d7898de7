/**
 * `agent-ca/client` must load in an agent process without the server's weight: no fastify, no
 * LevelDB, no PostgreSQL, nothing from src/http or src/store in its static import graph. Walks
 * the TypeScript sources from src/client/index.ts, following every relative import.
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGraph as graph } from '../../helpers/import-graph.js';

const ROOT = resolve(__dirname, '../../..');

describe('agent-ca/client import graph', () => {
  const { files, packages } = graph(join(ROOT, 'src/client/index.ts'));
  it('has no fastify, level, pg, prom-client, pino', () => {
    for (const p of ['fastify', 'level', 'classic-level', 'pg', 'prom-client', 'pino'])
      expect([...packages]).not.toContain(p);
    expect(files.size).toBeGreaterThan(5);
  });
  it('reaches nothing of the server: http, store adapters, authority, risk, webhooks, tenancy, cli', () => {
    // store/ports.ts (record types, RFC 5280 reason codes) and the OCSP request/response codecs
    // are what a counterparty's verification needs; the store adapters are not.
    const bad = [...files]
      .map((f) => relative(ROOT, f))
      .filter(
        (f) => /^src\/(http|authority|risk|webhooks|tenancy|cli)\//.test(f) || /^src\/store\/(?!ports\.ts$)/.test(f),
      );
    expect(bad).toEqual([]);
  });
});

describe('package.json exports', () => {
  it('maps agent-ca/client to the build of src/client/index.ts, with its types', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir?: string; rootDir?: string };
    };
    const outDir = (build.compilerOptions.outDir ?? 'dist').replace(/^\.\//, '').replace(/\/$/, '');
    const rootDir = (build.compilerOptions.rootDir ?? 'src').replace(/^\.\//, '').replace(/\/$/, '');
    const client = pkg.exports['./client']!;
    expect(client.default).toBe(`./${outDir}/client/index.js`);
    expect(client.types).toBe(`./${outDir}/client/index.d.ts`);
    expect(readFileSync(join(ROOT, rootDir, 'client/index.ts'), 'utf8')).toContain('AgentCaClient');
  });
});
