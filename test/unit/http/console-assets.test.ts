/**
 * The console's static side without a browser (docs/console.md): every page and asset under
 * /console with the strict CSP, every script and stylesheet the page names served from this
 * origin, nothing else reachable, and the build step that puts the assets next to dist/.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../../src/http/problem.js';
import { CONSOLE_CSP, consoleAssetsDir, consoleRoutes } from '../../../src/http/routes/console.js';
import { tempDir, type TempDir } from '../../helpers/openssl.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const app = Fastify();

beforeAll(async () => {
  await app.register(consoleRoutes);
});
afterAll(() => app.close());

describe('console assets', () => {
  it('serves the page with a CSP that allows nothing inline and nothing from elsewhere', async () => {
    const r = await app.inject('/console/');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
    for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"])
      expect(CONSOLE_CSP).toContain(d);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-|https?:|\*/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect((await app.inject('/console')).headers.location).toBe('/console/');
  });

  it('serves every module the page imports, from /console/assets', async () => {
    const names = new Set<string>();
    const html = (await app.inject('/console/')).body;
    for (const m of html.matchAll(/(?:src|href)="\/console\/assets\/([^"]+)"/g)) names.add(m[1]!);
    for (const f of readdirSync(consoleAssetsDir()).filter((n) => n.endsWith('.js'))) {
      const js = readFileSync(join(consoleAssetsDir(), f), 'utf8');
      for (const m of js.matchAll(/from '\/console\/assets\/([^']+)'/g)) names.add(m[1]!);
      // Every import is same-origin and absolute: no CDN, no bare specifier a browser cannot resolve.
      for (const m of js.matchAll(/^import .* from '([^']+)';$/gm)) expect(m[1]).toMatch(/^\/console\/assets\//);
    }
    expect([...names].sort()).toEqual(['api.js', 'app.js', 'chart.js', 'style.css', 'uPlot.esm.js', 'uPlot.min.css']);
    for (const n of names) {
      const r = await app.inject(`/console/assets/${n}`);
      expect(r.statusCode, n).toBe(200);
      expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(r.headers['content-type']).toMatch(n.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
  });

  it('answers nothing outside the asset list', async () => {
    for (const u of [
      '/console/assets/..%2F..%2Fhttp%2Fapp.ts',
      '/console/assets/nope.js',
      '/console/assets/index.html',
    ])
      expect((await app.inject(u)).statusCode, u).toBeGreaterThanOrEqual(400);
  });

  it('the page has no inline script, no inline style and no event-handler attributes', () => {
    const html = readFileSync(join(consoleAssetsDir(), 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    // The DOM is built with createElement / textContent: no innerHTML anywhere.
    for (const f of readdirSync(consoleAssetsDir()).filter((n) => n.endsWith('.js')))
      expect(readFileSync(join(consoleAssetsDir(), f), 'utf8'), f).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML/,
      );
  });
});

describe('without its assets', () => {
  it('the server still starts and /console says what is missing', async () => {
    const bare = Fastify();
    bare.setErrorHandler(errorHandler);
    await bare.register(consoleRoutes, { assetsDir: join(ROOT, 'no-such-dir') });
    for (const u of ['/console', '/console/', '/console/assets/app.js']) {
      const r = await bare.inject(u);
      expect(r.statusCode, u).toBe(404);
      expect(r.json().detail).toContain('the operator console is not installed');
    }
    await bare.close();
  });
});

describe('build', () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir('agent-ca-console-build-');
  });
  afterAll(() => tmp.cleanup());

  it('npm run build and prepare copy src/console/assets to dist/console/assets', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const s of ['build', 'prepare']) expect(pkg.scripts[s]).toContain('node scripts/copy-console-assets.mjs');
    mkdirSync(join(tmp.dir, 'src', 'console'), { recursive: true });
    cpSync(consoleAssetsDir(), join(tmp.dir, 'src', 'console', 'assets'), { recursive: true });
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'copy-console-assets.mjs')], { cwd: tmp.dir });
    expect(readdirSync(join(tmp.dir, 'dist', 'console', 'assets')).sort()).toEqual(
      readdirSync(consoleAssetsDir()).sort(),
    );
  });
});
