/**
 * The lifecycle from the command line (issue, revoke, hold, release, renew, audit), in process: runCli with captured io on a
 * LevelDB data dir that every command reopens (so state must survive restarts). init -> issue
 * -> revoke / hold / release / renew -> list / show -> audit verify / export; bad inputs are
 * one stderr line, exit 1 and no write; finally the database is edited raw with `level` and
 * `audit verify` names the altered entry.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash } from '../../src/audit/entry-hash.js';
import { runCli } from '../../src/cli/main.js';
import { openssl, tempDir, type TempDir } from '../helpers/openssl.js';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

interface JsonLine {
  seq: number;
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

let tmp: TempDir;
let data: string;

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: { AGENT_CA_DATA: data } });
  return { code, out, err };
}

async function ok(...argv: string[]): Promise<string[]> {
  const r = await cli(...argv);
  expect(r.code, `${argv.join(' ')}: ${r.err.join('\n')}`).toBe(0);
  return r.out;
}

/** One clear stderr line `agent-ca <cmd>: <CODE>: ...`, exit 1, nothing on stdout. */
function expectError(r: Run, cmd: string, code: string): string {
  expect(r.code, r.err.join('\n')).toBe(1);
  expect(r.out).toEqual([]);
  expect(r.err).toHaveLength(1);
  expect(r.err[0]).not.toContain('\n');
  expect(r.err[0]).toMatch(new RegExp(`^agent-ca ${cmd}: ${code}: \\S`));
  return r.err[0]!;
}

async function issue(agentId: string, ...extra: string[]): Promise<string> {
  const out = await ok(
    'issue',
    '--agent-id',
    agentId,
    '--generate-key',
    join(tmp.dir, `${agentId}.key`),
    '--out',
    join(tmp.dir, `${agentId}.pem`),
    ...extra,
  );
  const m = /^issued ([0-9a-f]{32,34}) for /.exec(out[0]!);
  expect(m, out[0]).not.toBeNull();
  return m![1]!;
}

async function exportLines(...filter: string[]): Promise<JsonLine[]> {
  return (await ok('audit', 'export', ...filter)).map((l) => JSON.parse(l) as JsonLine);
}

/** Serial -> status from the `list` table. */
async function listed(...filter: string[]): Promise<Map<string, string>> {
  const [header, ...rows] = await ok('list', ...filter);
  expect(header).toMatch(/^SERIAL\s+STATUS\s+AGENT\s+NOT AFTER$/);
  return new Map(rows.map((r) => r.split(/\s+/)).map(([serial, status]) => [serial!, status!]));
}

function verifyCert(path: string) {
  return openssl([
    'verify',
    '-x509_strict',
    '-purpose',
    'sslclient',
    '-CAfile',
    join(data, 'ca', 'root.pem'),
    '-untrusted',
    join(data, 'ca', 'intermediate.pem'),
    path,
  ]);
}

let revoked: string;
let heldThenReleased: string;
let renewedFrom: string;
let renewed: string;
let stillHeld: string;

beforeAll(async () => {
  tmp = tempDir('agent-ca-cli-lifecycle-');
  data = join(tmp.dir, 'data');
  await ok('init', '--org', 'Acme Agents', '--agent-domain', 'agents.example');
  revoked = await issue(
    'trading-bot',
    '--scope',
    'read:accounts,write:payments',
    '--max-tx',
    '50000:USD',
    '--markets',
    'EUR_USD',
    '--tenant',
    'acme',
    '--env',
    'staging',
  );
  heldThenReleased = await issue('held-bot');
  renewedFrom = await issue('renew-bot', '--scope', 'read:/data/raw/*', '--days', '30');
  stillHeld = await issue('paused-bot');
});
afterAll(() => tmp.cleanup());

describe('agent-ca lifecycle commands', () => {
  it('revoke --reason keyCompromise, then revoke again is ACA_ERR_REVOKE_ALREADY', async () => {
    const out = await ok('revoke', revoked, '--reason', 'keyCompromise');
    expect(out).toEqual([
      expect.stringMatching(new RegExp(`^revoked ${revoked}: keyCompromise at \\d{4}-\\d{2}-\\d{2}T`)),
    ]);
    const again = expectError(
      await cli('revoke', revoked, '--reason', 'superseded'),
      'revoke',
      'ACA_ERR_REVOKE_ALREADY',
    );
    expect(again).toContain(revoked);
    expectError(await cli('revoke', revoked, '--reason', 'key-compromise'), 'revoke', 'ACA_ERR_REVOKE_ALREADY');
  });

  it('hold then release on another certificate; list follows each step', async () => {
    expect(await ok('hold', heldThenReleased)).toEqual([
      expect.stringMatching(new RegExp(`^held ${heldThenReleased} \\(certificateHold\\) at `)),
    ]);
    expect([...(await listed('--status', 'held')).keys()]).toEqual([heldThenReleased]);
    expectError(await cli('hold', heldThenReleased), 'hold', 'ACA_ERR_REVOKE_ALREADY');
    expect(await ok('release', heldThenReleased)).toEqual([`released ${heldThenReleased}: certificateHold lifted`]);
    expect((await listed('--status', 'held')).size).toBe(0);
    expect((await listed()).get(heldThenReleased)).toBe('good');
    expectError(await cli('release', heldThenReleased), 'release', 'ACA_ERR_REVOKE_NOT_HELD');
    expectError(await cli('release', revoked), 'release', 'ACA_ERR_REVOKE_NOT_HELD');
    await ok('hold', stillHeld);
  });

  it('renew --out writes a new certificate for the same key that openssl verifies for client auth', async () => {
    const out = join(tmp.dir, 'renewed.pem');
    const lines = await ok('renew', renewedFrom, '--days', '60', '--out', out);
    const m = new RegExp(
      `^renewed ${renewedFrom} as ([0-9a-f]+), valid \\S+ \\.\\. \\S+; written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
    ).exec(lines[0]!);
    expect(m, lines[0]).not.toBeNull();
    renewed = m![1]!;
    expect(renewed).not.toBe(renewedFrom);
    const v = verifyCert(out);
    expect(v.status, v.stderr + v.stdout).toBe(0);
    expect(v.stdout).toContain(': OK');
    // same key as the original, which the agent still holds
    const pub = (p: string) => openssl(['x509', '-in', p, '-noout', '-pubkey']).stdout;
    expect(pub(out)).toBe(pub(join(tmp.dir, 'renew-bot.pem')));
    expect(openssl(['x509', '-in', out, '-noout', '-serial']).stdout.trim().toLowerCase()).toBe(`serial=${renewed}`);
    const show = JSON.parse((await ok('show', renewed)).join('\n')) as Record<string, unknown> & {
      certificate: { agent: { agentScope?: string[] } };
    };
    expect(show).toMatchObject({ serial: renewed, status: 'good', agentId: 'renew-bot', renewalOf: renewedFrom });
    expect(show.certificate.agent.agentScope).toEqual(['read:/data/raw/*']);
  });

  it('renew of a revoked or held certificate is refused and writes no file', async () => {
    for (const s of [revoked, stillHeld]) {
      const out = join(tmp.dir, `never-${s}.pem`);
      expectError(await cli('renew', s, '--out', out), 'renew', 'ACA_ERR_REVOKE_INVALID_STATE');
      expect(existsSync(out)).toBe(false);
    }
  });

  it('list --status revoked | held | good, --agent-id and --tenant', async () => {
    expect([...(await listed('--status', 'revoked')).keys()]).toEqual([revoked]);
    expect([...(await listed('--status', 'held')).keys()]).toEqual([stillHeld]);
    expect([...(await listed('--status', 'good')).keys()].sort()).toEqual(
      [heldThenReleased, renewedFrom, renewed].sort(),
    );
    expect([...(await listed('--agent-id', 'renew-bot')).keys()]).toEqual([renewedFrom, renewed]);
    expect([...(await listed('--tenant', 'acme')).entries()]).toEqual([[revoked, 'revoked']]);
    const json = JSON.parse((await ok('list', '--status', 'revoked', '--json')).join('\n')) as Array<
      Record<string, unknown>
    >;
    expect(json).toEqual([
      expect.objectContaining({
        serial: revoked,
        status: 'revoked',
        reason: 'keyCompromise',
        agentId: 'trading-bot',
        tenant: 'acme',
      }),
    ]);
    const usage = await cli('list', '--status', 'bogus');
    expect(usage.code).toBe(2);
  });

  it('show SERIAL prints JSON with status, reason, times and the decoded agent extensions', async () => {
    const v = JSON.parse((await ok('show', revoked)).join('\n')) as Record<string, unknown> & {
      certificate: { serial: string; agent: Record<string, unknown> };
    };
    expect(v).toMatchObject({
      serial: revoked,
      status: 'revoked',
      reason: 'keyCompromise',
      agentId: 'trading-bot',
      tenant: 'acme',
      profile: 'agent',
      issuer: 'intermediate',
    });
    expect(Date.parse(v.revokedAt as string)).not.toBeNaN();
    expect(Date.parse(v.notAfter as string)).toBeGreaterThan(Date.parse(v.notBefore as string));
    expect(v.certificate.serial).toBe(revoked);
    expect(v.certificate.agent).toMatchObject({
      agentScope: ['read:accounts', 'write:payments'],
      agentPolicy: { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['EUR_USD'] },
      agentContext: { tenantId: 'acme', environment: 'staging' },
      parseErrors: [],
    });
    const held = JSON.parse((await ok('show', stillHeld.toUpperCase())).join('\n')) as Record<string, unknown>;
    expect(held).toMatchObject({ serial: stillHeld, status: 'held', reason: 'certificateHold' });
  });

  it('audit verify is ok and counts every entry; audit export --agent-id streams chained JSON lines', async () => {
    const all = await exportLines();
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    const verify = await ok('audit', 'verify');
    // every command that appended signed a checkpoint over its head before closing (auditCheckpointIntervalMs)
    expect(verify).toEqual([
      expect.stringMatching(new RegExp(`^audit log OK: ${all.length} entries, [1-9]\\d* signed checkpoints$`)),
    ]);

    const bySeq = new Map(all.map((e) => [e.seq, e]));
    const bot = await exportLines('--agent-id', 'trading-bot');
    expect(bot.map((e) => e.action)).toEqual(['issue.requested', 'issue', 'revoke.requested', 'revoke']);
    for (const e of bot) {
      expect(entryHash({ ...e, time: new Date(e.time) }), `seq ${e.seq}`).toBe(e.hash);
      expect(e.prevHash).toBe(bySeq.get(e.seq - 1)!.hash);
      expect(e).toEqual(bySeq.get(e.seq));
    }
    expect(bot[3]!).toMatchObject({
      subject: revoked,
      actor: 'cli',
      details: { agentId: 'trading-bot', reason: 'keyCompromise', outcome: 'committed' },
    });
    const renewBot = await exportLines('--agent-id', 'renew-bot');
    expect(renewBot.map((e) => e.action)).toEqual(['issue.requested', 'issue', 'renew.requested', 'renew']);
    expect(renewBot[3]!.details).toMatchObject({ serial: renewed, renewalOf: renewedFrom });
  });

  describe('bad input: exit 1, one stderr line, nothing written', () => {
    let before: JsonLine[];
    beforeAll(async () => {
      before = await exportLines();
    });

    it.each([
      ['unknown reason', ['revoke', 'SERIAL', '--reason', 'stolen'], 'revoke', 'ACA_ERR_INPUT_REASON_UNKNOWN'],
      [
        'certificateHold as a revoke reason',
        ['revoke', 'SERIAL', '--reason', 'certificateHold'],
        'revoke',
        'ACA_ERR_INPUT_REASON_UNKNOWN',
      ],
      [
        'malformed serial',
        ['revoke', 'not-a-serial!', '--reason', 'keyCompromise'],
        'revoke',
        'ACA_ERR_INPUT_SERIAL_MALFORMED',
      ],
      ['malformed serial (hold)', ['hold', 'xyz'], 'hold', 'ACA_ERR_INPUT_SERIAL_MALFORMED'],
      ['malformed serial (show)', ['show', '12:zz'], 'show', 'ACA_ERR_INPUT_SERIAL_MALFORMED'],
      [
        'unknown serial',
        ['revoke', '0badc0ffee0badc0ffee0badc0ffee00', '--reason', 'keyCompromise'],
        'revoke',
        'ACA_ERR_CERT_NOT_FOUND',
      ],
      ['unknown serial (show)', ['show', '0badc0ffee'], 'show', 'ACA_ERR_CERT_NOT_FOUND'],
      [
        'invalidity date in the future',
        ['revoke', 'SERIAL', '--reason', 'keyCompromise', '--invalidity-date', '2999-01-01T00:00:00Z'],
        'revoke',
        'ACA_ERR_INPUT_INVALID',
      ],
    ])('%s', async (_name, argv, cmd, code) => {
      const r = await cli(...argv.map((a) => (a === 'SERIAL' ? heldThenReleased : a)));
      const line = expectError(r, cmd, code);
      if (code === 'ACA_ERR_INPUT_REASON_UNKNOWN') expect(line).toMatch(/keyCompromise|release/);
      expect(await exportLines()).toEqual(before);
      expect((await listed()).get(heldThenReleased)).toBe('good');
    });

    it('missing data dir: ACA_ERR_STORE_UNAVAILABLE, and the directory is not created', async () => {
      const missing = join(tmp.dir, 'no-such-dir');
      for (const argv of [
        ['revoke', heldThenReleased, '--reason', 'keyCompromise'],
        ['hold', heldThenReleased],
        ['list'],
        ['show', heldThenReleased],
        ['audit', 'verify'],
      ]) {
        const line = expectError(await cli(...argv, '--data', missing), argv[0]!, 'ACA_ERR_STORE_UNAVAILABLE');
        expect(line).toContain(missing);
        expect(existsSync(missing)).toBe(false);
      }
      expect(await exportLines()).toEqual(before);
    });
  });

  it('after a raw edit of one audit entry in LevelDB, audit verify exits 1 naming that seq', async () => {
    const all = await exportLines();
    const target = all.find((e) => e.action === 'revoke' && e.subject === revoked)!;
    const db = new Level<string, string>(join(data, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    try {
      const key = `a!${String(target.seq).padStart(16, '0')}`;
      const stored = JSON.parse(await db.get(key)) as JsonLine;
      expect(stored.hash).toBe(target.hash);
      await db.put(key, JSON.stringify({ ...stored, details: { ...stored.details, reason: 'superseded' } }));
    } finally {
      await db.close();
    }
    const r = await cli('audit', 'verify');
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `agent-ca audit verify: ACA_ERR_AUDIT_CHAIN_BROKEN: first bad entry is seq ${target.seq}: entry ${target.seq} does not match its hash (altered)`,
    ]);
    // the audit record was edited, not the revocation: the certificate still reads revoked
    expect(JSON.parse((await ok('show', revoked)).join('\n'))).toMatchObject({
      status: 'revoked',
      reason: 'keyCompromise',
    });
  });
});
