/**
 * The operator console in a real browser (docs/console.md): Debian's chromium driven by
 * puppeteer-core against the real server (startServer: OCSP, CRLs, risk engine, reports) on
 * 127.0.0.1. As a person would: an operator signs in, sees a warning appear without reload
 * after events are posted, holds the agent (openssl ocsp: revoked / certificateHold), releases
 * it (good), revokes another agent from the certificate page (openssl: keyCompromise) and marks
 * the warning reviewed (audited with the token's name). An auditor sees the warning but no
 * hold / revoke buttons, and the API refuses the revocation if forced. axe-core runs in every
 * page (zero serious or critical violations) and no page reports a CSP violation. Screenshots
 * go to a temp dir (and to docs/console-*.png with UPDATE_CONSOLE_SCREENSHOTS=1).
 * With CI=true it must run; locally it skips only when chromium is missing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslAsync } from '../helpers/openssl.js';
import { startTenancyServer, type TenancyServer } from '../helpers/tenancy-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true')
  throw new Error(`CI=true but ${CHROMIUM} is missing (.ci/run installs chromium)`);
if (!haveChromium) console.warn(`console e2e skipped: ${CHROMIUM} not found`);

const ADMIN = 'console-e2e-admin-token';
const SCOPE = ['read:accounts', 'trade:equities'];
const shots = mkdtempSync(join(tmpdir(), 'agent-ca-console-shots-'));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Bodies from the wire. */
type Json = any;
// Browser globals inside page.evaluate / waitForFunction callbacks (run in chromium, not in Node).
declare const document: any;
declare const window: any;
declare const localStorage: any;

let srv: TenancyServer;
let browser: Browser;
let operatorToken: string;
let auditorToken: string;
let rootPem: string;
let intermediatePem: string;
const agents: Record<string, { serial: string; pem: string }> = {};
const cspViolations: string[] = [];
const pageErrors: string[] = [];

async function call(
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function ok(method: string, path: string, body?: unknown, token = ADMIN): Promise<Json> {
  const r = await call(method, path, body, token);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBeLessThan(300);
  return r.json;
}

/** `openssl ocsp` for an agent's certificate, the response verified against the root; its stdout. */
async function opensslOcsp(agentId: string): Promise<string> {
  const r = await opensslAsync(
    [
      'ocsp',
      '-issuer',
      intermediatePem,
      '-cert',
      agents[agentId]!.pem,
      '-url',
      `${srv.url}/ocsp`,
      '-CAfile',
      rootPem,
      '-no_nonce',
    ],
    { timeoutMs: 10_000 },
  );
  expect(r.stderr).toContain('Response verify OK');
  return r.stdout;
}

async function newPage(): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return page;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${srv.url}/console/`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#token');
  await page.type('#token', token);
  await page.keyboard.press('Enter'); // keyboard only: the form submits on Enter
  await page.waitForSelector('#queue-title');
  await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live');
}

/** axe-core in the page itself (evaluated over the DevTools protocol, so the page's CSP stays on). */
async function axe(page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource);
  const result: { id: string; impact: string; nodes: string[] }[] = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n: any) => n.target.join(' ')),
    }));
  });
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${what}: ${JSON.stringify(serious)}`).toEqual([]);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => document.getElementById('toasts').replaceChildren());
  const path = join(shots, `console-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  if (process.env.UPDATE_CONSOLE_SCREENSHOTS === '1') copyFileSync(path, join('docs', `console-${name}.png`));
}

/** Presses Tab from the top of the content until `selector` has focus: it is reachable by keyboard. */
async function tabTo(page: Page, selector: string): Promise<number> {
  await page.evaluate(() => document.getElementById('main').focus());
  for (let n = 1; n <= 60; n++) {
    await page.keyboard.press('Tab');
    if (await page.$eval(selector, (e) => e === document.activeElement)) return n;
  }
  throw new Error(`${selector} not reached with Tab`);
}

/** The status text of a queue card's certificate. */
const cardStatus = (page: Page, agentId: string) =>
  page.$eval(`li.card[data-agent="${agentId}"] .meta .badge`, (e) => e.textContent);

describe.skipIf(!haveChromium)('operator console in chromium', () => {
  beforeAll(async () => {
    srv = await startTenancyServer(ADMIN, 'Console Test Operator');
    await ok('POST', '/api/v1/tenants', { name: 'acme', warning: 0.5, revoke: 0.95 });
    operatorToken = (await ok('POST', '/api/v1/tokens', { name: 'ops-alice', role: 'operator', tenant: 'acme' })).token;
    auditorToken = (await ok('POST', '/api/v1/tokens', { name: 'audit-bob', role: 'auditor', tenant: 'acme' })).token;
    for (const agentId of ['trader-1', 'trader-2']) {
      await ok('POST', '/api/v1/agents', { agentId, scope: SCOPE }, operatorToken);
      const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'pem',
        type: 'spki',
      }) as string;
      const c = await ok('POST', `/api/v1/agents/${agentId}/certify`, { publicKey }, operatorToken);
      const pem = join(srv.tmp.dir, `${agentId}.pem`);
      writeFileSync(pem, c.certificate as string);
      agents[agentId] = { serial: c.serial as string, pem };
    }
    rootPem = join(srv.tmp.dir, 'root.pem');
    intermediatePem = join(srv.tmp.dir, 'intermediate.pem');
    writeFileSync(rootPem, await (await fetch(`${srv.url}/ca/root.pem`)).text());
    writeFileSync(intermediatePem, await (await fetch(`${srv.url}/ca/intermediate.pem`)).text());
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  it('serves the console with a strict CSP and every asset from this origin', async () => {
    const res = await fetch(`${srv.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=/);
    for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      if (src[1]!.startsWith('data:') || src[1]!.startsWith('#')) continue;
      expect(src[1]).toMatch(/^\/console\//);
      expect((await fetch(`${srv.url}${src[1]}`)).status, src[1]).toBe(200);
    }
    expect((await fetch(`${srv.url}/console/assets/uPlot.esm.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${srv.url}/console/assets/..%2Fapp.ts`)).status).toBe(404);
  });

  it('an operator sees a warning arrive live, holds, releases, revokes another and reviews it', async () => {
    const page = await newPage();
    await signIn(page, operatorToken);
    expect(await page.$eval('#who', (e) => e.textContent)).toBe('ops-alice · operator · acme');
    // The token is in sessionStorage only.
    expect(await page.evaluate(() => [localStorage.length, document.cookie])).toEqual([0, '']);
    expect(await page.$('#queue-empty')).not.toBeNull();

    // Six out-of-scope calls: scope feature 0.6, score 0.9 * 0.6 = 0.54 >= acme's warning 0.5.
    const time = new Date().toISOString();
    const events = Array.from({ length: 6 }, () => ({
      agentId: 'trader-1',
      type: 'api_call',
      action: 'write:payments',
      outcome: 'denied',
      time,
    }));
    const posted = await ok('POST', '/api/v1/events', { events }, operatorToken);
    expect(posted.accepted).toBe(6);
    // No reload: the warning stream re-renders the queue.
    await page.waitForSelector('li.card[data-agent="trader-1"]', { timeout: 15_000 });
    const card = 'li.card[data-agent="trader-1"]';
    expect(await page.$eval(`${card} .score`, (e) => e.textContent)).toBe('score 0.54');
    expect(await page.$eval(`${card} .reasons`, (e) => e.textContent)).toContain('actions outside its certified scope');
    await page.waitForSelector(`${card} svg.spark path.spark-line`);
    expect(await cardStatus(page, 'trader-1')).toBe('good');
    await axe(page, 'review queue');
    await shot(page, 'queue');

    // Hold from the queue, by keyboard (Tab from the top of the content, Enter): OCSP answers
    // revoked / certificateHold.
    await tabTo(page, `${card} button.hold`);
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'on hold',
      {},
      `${card} .meta .badge`,
    );
    const held = await opensslOcsp('trader-1');
    expect(held).toMatch(/: revoked/);
    expect(held).toContain('Reason: certificateHold');

    // Release: good again.
    await page.waitForSelector(`${card} button.release`);
    await page.click(`${card} button.release`);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'good',
      {},
      `${card} .meta .badge`,
    );
    expect(await opensslOcsp('trader-1')).toMatch(/: good/);

    // Mark reviewed with a comment: recorded with the reviewer's token name, audited.
    await page.type(`${card} textarea`, 'Bug in the payments client retry loop; fixed, released.');
    await page.click(`${card} form.review button`);
    await page.waitForSelector(`${card} .reviewed`);
    expect(await page.$eval(`${card} .reviewed`, (e) => e.textContent)).toContain('ops-alice');
    const q = await ok('GET', '/api/v1/review-queue', undefined, operatorToken);
    expect(q.items[0].review).toMatchObject({
      reviewer: 'ops-alice',
      role: 'operator',
      comment: expect.stringContaining('retry loop'),
    });
    const audit = await fetch(`${srv.url}/api/v1/audit/export`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const reviewed = (await audit.text())
      .split('\n')
      .filter((l) => l.includes('"risk.reviewed"'))
      .map((l) => JSON.parse(l));
    expect(reviewed).toHaveLength(1);
    expect(reviewed[0].actor).toBe('operator:ops-alice@acme');

    // Revoke the other agent from the certificate page, its serial pasted in openssl's colon form.
    const colon = agents['trader-2']!.serial.toUpperCase().match(/../g)!.join(':');
    await page.click('nav a[data-view="certificates"]');
    await page.waitForSelector('#serial');
    await page.type('#serial', colon);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#cert-status');
    expect(await page.$eval('#cert-title', (e) => e.textContent)).toBe(`Certificate ${agents['trader-2']!.serial}`);
    await page.click('#ocsp-check');
    await page.waitForFunction(() =>
      /OCSP answers good/.test(document.getElementById('ocsp-result')?.textContent ?? ''),
    );
    // Downloads (a blob: link under the page's CSP): the PEM is the certificate openssl reads,
    // the chain verifies against the root.
    const downloads = mkdtempSync(join(tmpdir(), 'agent-ca-console-dl-'));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', {
      behavior: 'allow',
      downloadPath: downloads,
      browserContextId: page.browserContext().id,
    } as never);
    await page.click('#download-pem');
    await page.click('#download-chain');
    const serial2 = agents['trader-2']!.serial;
    const pemFile = join(downloads, `${serial2}.pem`);
    const chainFile = join(downloads, `${serial2}-chain.pem`);
    for (let i = 0; i < 100 && !(existsSync(pemFile) && existsSync(chainFile)); i++)
      await new Promise((r) => setTimeout(r, 100));
    const x509 = await opensslAsync(['x509', '-in', pemFile, '-noout', '-serial']);
    expect(x509.stdout.trim().toLowerCase()).toBe(`serial=${serial2}`);
    const verified = await opensslAsync(['verify', '-CAfile', rootPem, '-untrusted', chainFile, pemFile]);
    expect(verified.stdout).toContain(': OK');
    await axe(page, 'certificate page');
    await shot(page, 'certificate');
    await page.select('#cert-reason', 'keyCompromise');
    await page.click('#cert-revoke');
    await page.waitForFunction(() => /revoked/.test(document.getElementById('cert-status')?.textContent ?? ''));
    const revoked = await opensslOcsp('trader-2');
    expect(revoked).toMatch(/: revoked/);
    expect(revoked).toContain('Reason: keyCompromise');
    await page.click('#ocsp-check');
    await page.waitForFunction(() =>
      /OCSP answers revoked \(keyCompromise\)/.test(document.getElementById('ocsp-result')?.textContent ?? ''),
    );

    // The agent page: certificates, risk chart (uPlot canvas), timeline.
    await page.goto(`${srv.url}/console/#/agents/trader-1`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#risk-chart canvas');
    expect(await page.$eval('#agent-certs tbody', (e) => e.textContent)).toContain('read:accounts, trade:equities');
    const timeline = await page.$eval('#timeline', (e) => e.textContent);
    expect(timeline).toContain('hold');
    expect(timeline).toContain('release');
    expect(timeline).toContain('operator:ops-alice@acme');
    await axe(page, 'agent page');
    await shot(page, 'agent');

    // Certify again (the key is created in KMS), then decommission (two clicks): every
    // certificate revoked with cessationOfOperation, which openssl reads from OCSP.
    await page.goto(`${srv.url}/console/#/agents/trader-2`, { waitUntil: 'networkidle0' });
    // A live event may re-render the page between finding the button and clicking it: click it
    // from inside the page, in the same turn that finds it.
    // The move from trader-1's page is a hash change in the same document: until the router has
    // rendered trader-2, the #certify-again on screen is trader-1's.
    await page.waitForFunction(() => {
      if (document.getElementById('agent-title')?.textContent !== 'Agent trader-2') return false;
      const b = document.getElementById('certify-again');
      b?.click();
      return b !== null;
    });
    let renewed = agents['trader-2']!.serial;
    for (let i = 0; i < 300 && renewed === agents['trader-2']!.serial; i++) {
      renewed = (await ok('GET', '/api/v1/agents/trader-2', undefined, operatorToken)).currentSerial as string;
      if (renewed === agents['trader-2']!.serial) await new Promise((r) => setTimeout(r, 100));
    }
    expect(renewed).not.toBe(agents['trader-2']!.serial);
    await page.goto(`${srv.url}/console/#/agents/trader-2?after=certify`, { waitUntil: 'networkidle0' });
    await page.waitForFunction(
      (serial) => (document.querySelector('#agent-certs tbody')?.textContent ?? '').includes(serial),
      { timeout: 30_000 },
      renewed,
    );
    const renewedPem = join(srv.tmp.dir, 'trader-2-again.pem');
    writeFileSync(
      renewedPem,
      await (
        await fetch(`${srv.url}/api/v1/certificates/${renewed}/certificate.pem`, {
          headers: { authorization: `Bearer ${operatorToken}` },
        })
      ).text(),
    );
    agents['trader-2-again'] = { serial: renewed, pem: renewedPem };
    expect(await opensslOcsp('trader-2-again')).toMatch(/: good/);
    await page.waitForSelector('#decommission');
    await page.click('#decommission');
    expect(await page.$eval('#decommission', (e) => e.textContent)).toContain('Confirm');
    await page.click('#decommission');
    await page.waitForFunction(() => /decommissioned/.test(document.querySelector('dl.facts')?.textContent ?? ''), {
      timeout: 30_000,
    });
    expect(await page.$('#certify-again')).toBeNull();
    const decommissioned = await opensslOcsp('trader-2-again');
    expect(decommissioned).toMatch(/: revoked/);
    expect(decommissioned).toContain('Reason: cessationOfOperation');

    // The agents list with a band filter: trader-1 (0.54) is in acme's warning band, trader-2 has no events.
    await page.goto(`${srv.url}/console/#/agents?band=warning`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#agents-table');
    const rows = await page.$$eval('#agents-table tbody tr', (trs) => trs.map((t) => t.textContent));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('trader-1');
    await axe(page, 'agents list');
    // An operator is not offered reports.
    expect(await page.$eval('nav a[data-view="reports"]', (e: any) => e.hidden)).toBe(true);
    await page.browserContext().close();
  }, 180_000);

  it('an auditor sees the queue without hold or revoke, the API refuses a forced revoke, reports run', async () => {
    const page = await newPage();
    await signIn(page, auditorToken);
    const card = 'li.card[data-agent="trader-1"]';
    await page.waitForSelector(card);
    expect(await page.$$(`${card} button`)).toHaveLength(0);
    expect(await page.$(`${card} textarea`)).toBeNull();
    expect(await page.$eval(`${card} .reviewed`, (e) => e.textContent)).toContain('ops-alice');
    // A hold made elsewhere (the operator's API call) shows up on the auditor's page without reload.
    await ok('POST', `/api/v1/certificates/${agents['trader-1']!.serial}/hold`, {}, operatorToken);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'on hold',
      {},
      `${card} .meta .badge`,
    );
    await ok('POST', `/api/v1/certificates/${agents['trader-1']!.serial}/release`, {}, operatorToken);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'good',
      {},
      `${card} .meta .badge`,
    );
    expect(await page.$$(`${card} button`)).toHaveLength(0);
    await page.goto(`${srv.url}/console/#/certificates/${agents['trader-1']!.serial}`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#cert-status');
    expect(await page.$('#cert-revoke')).toBeNull();
    expect(await page.$('#cert-hold')).toBeNull();
    const forced = await call(
      'POST',
      `/api/v1/certificates/${agents['trader-1']!.serial}/revoke`,
      { reason: 'keyCompromise' },
      auditorToken,
    );
    expect(forced.status).toBe(403);
    expect(forced.json.code).toBe('ACA_ERR_HTTP_FORBIDDEN');
    const review = await call('POST', '/api/v1/notifications/risk-1/review', { comment: 'x' }, auditorToken);
    expect(review.status).toBe(403);
    expect(await opensslOcsp('trader-1')).toMatch(/: good/);

    // Reports: start, follow, done.
    await page.click('nav a[data-view="reports"]');
    await page.waitForSelector('#report-form');
    await page.type('#r-subject', 'trader-1');
    await page.click('#report-start');
    await page.waitForFunction(() => document.getElementById('report-state')?.textContent === 'done', {
      timeout: 120_000,
    });
    expect(await page.$('#report-pdf')).not.toBeNull();
    await axe(page, 'reports');
    await shot(page, 'reports');
    await page.browserContext().close();
  }, 180_000);

  it('the review API refuses unknown fields and other tenants', async () => {
    const extra = await call('POST', '/api/v1/notifications/risk-1/review', { comment: 'ok', extra: 1 }, operatorToken);
    expect(extra.status).toBe(400);
    expect(extra.json.details.fields).toEqual({ extra: 'unknown field' });
    const empty = await call('POST', '/api/v1/notifications/risk-1/review', { comment: '' }, operatorToken);
    expect(empty.status).toBe(400);
    await ok('POST', '/api/v1/tenants', { name: 'other' });
    const otherOps = (await ok('POST', '/api/v1/tokens', { name: 'ops-eve', role: 'operator', tenant: 'other' })).token;
    const hidden = await call('POST', '/api/v1/notifications/risk-1/review', { comment: 'mine?' }, otherOps);
    expect(hidden.status).toBe(404);
    expect(hidden.json.code).toBe('ACA_ERR_NOTIFICATION_NOT_FOUND');
    expect((await ok('GET', '/api/v1/review-queue', undefined, otherOps)).items).toEqual([]);
    expect((await call('GET', '/api/v1/agents/trader-1/risk/history', undefined, otherOps)).status).toBe(404);
  });

  it('no page reported a CSP violation or an uncaught error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
