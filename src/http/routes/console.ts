/**
 * The operator console (docs/console.md): static files under /console, same origin as the API.
 * No CDN and no build step: plain ES modules from src/console/assets (copied to dist/console/assets
 * by `npm run build`) and uPlot from its npm package. Every answer carries a strict Content
 * Security Policy (CSP Level 3): scripts, styles and connections from this origin only, no
 * inline script or style, no framing. The pages hold no data: they call /api/v1 with the token
 * the operator typed, kept in sessionStorage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AgentCaError } from '../../errors.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** src/console/assets next to src/http, or dist/console/assets next to dist/http. */
export function consoleAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console', 'assets');
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  // uPlot (MIT) from its own package, served from here: no CDN at run time.
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot'));
  assets.set('uPlot.esm.js', { type: TYPES['.js']!, body: readFileSync(join(uplotDir, 'uPlot.esm.js')) });
  assets.set('uPlot.min.css', { type: TYPES['.css']!, body: readFileSync(join(uplotDir, 'uPlot.min.css')) });
  return assets;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('x-frame-options', 'DENY');
}

/** Browser pages and their assets, like /docs: not API operations, so left out of /openapi.json. */
const PAGE = { schema: { hide: true } };

export async function consoleRoutes(app: FastifyInstance, opts: { assetsDir?: string } = {}): Promise<void> {
  const dir = opts.assetsDir ?? consoleAssetsDir();
  let assets: Map<string, Asset>;
  try {
    assets = loadAssets(dir);
  } catch (e) {
    assets = new Map();
    app.log.warn({ err: e }, 'operator console assets not found');
  }
  const index = assets.get('index.html');
  if (!index) {
    // A build without the copy step (or a missing uPlot) must not take the CA down: the API
    // serves on, /console says what is missing.
    const missing = (): never => {
      throw new AgentCaError(
        'HTTP_NOT_FOUND',
        `the operator console is not installed: no assets in ${dir} (npm run build copies them)`,
      );
    };
    app.get('/console', PAGE, missing);
    app.get('/console/*', PAGE, missing);
    return;
  }

  app.get('/console', PAGE, async (_request, reply) => secure(reply).redirect('/console/', 308));
  app.get('/console/', PAGE, async (_request, reply) =>
    secure(reply).header('cache-control', 'no-cache').type(index.type).send(index.body),
  );
  app.get<{ Params: { name: string } }>('/console/assets/:name', PAGE, async (request, reply) => {
    const a = request.params.name === 'index.html' ? undefined : assets.get(request.params.name);
    if (!a) throw new AgentCaError('HTTP_NOT_FOUND', `no console asset ${request.params.name}`);
    return secure(reply).header('cache-control', 'no-cache').type(a.type).send(a.body);
  });
}
