/**
 * CLI conventions (docs/cli-and-package.md): `--version`, `help CMD` / `CMD --help` with every
 * flag, its default and an example, and `--json` on every command that prints a result, each
 * JSON answer checked against what openssl reads from the files the command wrote.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { HELP } from '../../src/cli/help.js';
import { runCliCaptured, type CliRun } from '../helpers/run-cli.js';
import { openssl, tempDir, type TempDir } from '../helpers/openssl.js';

let tmp: TempDir;
let data: string;

function cli(...argv: string[]): Promise<CliRun> {
  return runCliCaptured(argv, data);
}

/** Runs a command with --json: exit 0, exactly one stdout line, and it parses. */
async function json(...argv: string[]): Promise<Record<string, unknown>> {
  const r = await cli(...argv, '--json');
  expect(r.code, `${argv.join(' ')}: ${r.err.join('\n')}`).toBe(0);
  expect(r.out).toHaveLength(1);
  return JSON.parse(r.out[0]!) as Record<string, unknown>;
}

beforeAll(async () => {
  tmp = tempDir('agent-ca-cli-conventions-');
  data = join(tmp.dir, 'data');
  expect((await cli('init', '--org', 'Conventions Test')).code).toBe(0);
});
afterAll(() => tmp.cleanup());

describe('--version', () => {
  const version = (JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string })
    .version;
  it.each([['--version'], ['version'], ['-V']])('%s prints the package version', async (flag) => {
    expect(await cli(flag)).toEqual({ code: 0, out: [`agent-ca ${version}`], err: [] });
  });
  it('version --json', async () => {
    expect(JSON.parse((await cli('version', '--json')).out[0]!)).toEqual({ version, node: process.versions.node });
  });
});

describe('help', () => {
  it('every command has a help entry, and nothing else does', () => {
    expect(Object.keys(HELP).sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it.each(Object.keys(COMMANDS))(
    '%s: help CMD = CMD --help; every flag of the usage line documented with a default or as required; an example',
    async (name) => {
      const a = await cli('help', name);
      const b = await cli(name, '--help');
      expect(a.code).toBe(0);
      expect(b).toEqual(a);
      const text = a.out.join('\n');
      expect(text.startsWith(`usage: ${COMMANDS[name]!.usage}`)).toBe(true);
      const flagsSection = text.slice(text.indexOf('\nflags:\n'), text.search(/\nexamples?:\n/));
      for (const f of new Set(COMMANDS[name]!.usage.match(/--[a-z0-9-]+/g) ?? []))
        expect(flagsSection, `${name} ${f}`).toContain(f);
      for (const [flag, say] of HELP[name]!.flags) expect(say, `${name} ${flag}`).toMatch(/default|required/);
      const examples = text
        .slice(text.search(/\nexamples?:\n/))
        .split('\n')
        .slice(2);
      expect(examples.length).toBeGreaterThan(0);
      for (const e of examples) expect(e).toMatch(new RegExp(`^  (\\S+=\\S+ )?agent-ca ${name}( |$)`));
    },
  );

  it('help of an unknown command is a usage error', async () => {
    const r = await cli('help', 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/unknown command "frobnicate"/);
  });

  it('the general usage points at help CMD and --version', async () => {
    expect((await cli('--help')).out.join('\n')).toContain('agent-ca help COMMAND');
  });
});

describe('--json', () => {
  it('issue, show, hold, release, renew, revoke: one JSON object each, consistent with the certificate openssl reads', async () => {
    const pem = join(tmp.dir, 'j.pem');
    const issued = await json(
      'issue',
      '--agent-id',
      'json-bot',
      '--generate-key',
      join(tmp.dir, 'j.key'),
      '--out',
      pem,
    );
    expect(issued).toMatchObject({
      agentId: 'json-bot',
      certificate: pem,
      privateKey: join(tmp.dir, 'j.key'),
      warnings: [],
    });
    const serial = issued.serial as string;
    const x = openssl(['x509', '-in', pem, '-noout', '-serial', '-enddate', '-dateopt', 'iso_8601']);
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout).toContain(`serial=${serial.toUpperCase()}`);
    expect(x.stdout).toContain(`notAfter=${(issued.notAfter as string).slice(0, 19).replace('T', ' ')}Z`);
    expect((await json('show', serial)).serial).toBe(serial);
    expect(await json('hold', serial)).toMatchObject({ serial, status: 'held', reason: 'certificateHold' });
    expect(await json('release', serial)).toEqual({ serial, status: 'good' });
    const renewedPem = join(tmp.dir, 'r.pem');
    const renewed = await json('renew', serial, '--days', '7', '--out', renewedPem);
    expect(renewed).toMatchObject({ renewed: serial, certificate: renewedPem });
    expect(renewed.serial).not.toBe(serial);
    expect(openssl(['x509', '-in', renewedPem, '-noout', '-serial']).stdout.trim()).toBe(
      `serial=${(renewed.serial as string).toUpperCase()}`,
    );
    const revoked = await json('revoke', serial, '--reason', 'superseded');
    expect(revoked).toMatchObject({ serial, status: 'revoked', reason: 'superseded' });
    expect(Number.isNaN(Date.parse(revoked.revokedAt as string))).toBe(false);
  });

  it('crl --json names the CRL number openssl reads', async () => {
    const out = join(tmp.dir, 'i.crl');
    const r = await json('crl', '--out', out);
    expect(r).toMatchObject({ issuer: 'intermediate', kind: 'full', out, format: 'der' });
    const c = openssl(['crl', '-inform', 'DER', '-in', out, '-noout', '-crlnumber']);
    expect(c.status, c.stderr).toBe(0);
    expect(BigInt(c.stdout.trim().replace(/^crlNumber=(0x)?/, '0x'))).toBe(BigInt(r.crlNumber as string));
  });

  it('token create --json carries the secret and its record; audit verify --json is the verdict', async () => {
    const t = await json('token', 'create', '--name', 'ci');
    expect(t).toMatchObject({ name: 'ci', role: 'admin', state: 'active' });
    expect(typeof t.token).toBe('string');
    expect(typeof t.id).toBe('string');
    const v = await json('audit', 'verify');
    expect(v.ok).toBe(true);
    expect(v.entries).toBeGreaterThan(5);
  });
});
