/**
 * The CA on PostgreSQL, end to end through the CLI, and the WORM audit table: init as the
 * schema owner, `store grant --apply` for a fresh login role, then issue and revoke AS THAT
 * ROLE; openssl checks the certificate, the revoked OCSP response and the CRL read back from
 * PostgreSQL. The app role is refused UPDATE/DELETE/TRUNCATE on the audit log by privileges,
 * the superuser by the triggers; a superuser who drops the trigger and rewrites an entry is
 * caught by `agent-ca audit verify`, which names the entry.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority } from '../../src/authority/create-authority.js';
import { runCli } from '../../src/cli/main.js';
import { OcspService } from '../../src/ocsp/service.js';
import type { Serial } from '../../src/types.js';
import { openssl } from '../helpers/openssl.js';
import { freshSchema, PG_BASE_URL, pgAvailable, withSchema, type PgSchema } from '../helpers/postgres.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

describe.runIf(pgAvailable)('CA on PostgreSQL with a WORM audit table', () => {
  let db: PgSchema;
  let tmp: TmpDir;
  let role: string;
  let appUrl: string;
  let serial: string;
  const cli = async (argv: string[], store: string): Promise<{ code: number; out: string[]; err: string[] }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...argv, '--store', store], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: { AGENT_CA_DATA: join(tmp.dir, 'data') },
    });
    return { code, out, err };
  };
  const asApp = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: appUrl.replace(/\?.*$/, ''), options: `-c search_path=${db.schema}` });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const sqlError = async (p: Promise<unknown>): Promise<{ code?: string; message: string }> => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x as { code?: string; message: string },
    );
    expect(e, 'the statement should have been refused').toBeDefined();
    return e!;
  };

  beforeAll(async () => {
    db = await freshSchema('worm');
    tmp = await makeTmpDir('agent-ca-pg-worm-');
    role = `aca_app_${randomBytes(4).toString('hex')}`;
    await db.admin(`create role ${role} login`);
    const u = new URL(withSchema(PG_BASE_URL, db.schema));
    u.username = role;
    appUrl = u.toString();
  });
  afterAll(async () => {
    await db.cleanup();
    await db.admin(`drop role if exists ${role}`);
    await tmp.cleanup();
  });

  it('init as the owner; store grant prints, then applies, INSERT/SELECT-only audit GRANTs', async () => {
    const init = await cli(['init', '--org', 'Worm Test', '--key-type', 'p256'], db.url);
    expect(init.code, init.err.join('\n')).toBe(0);
    const printed = await cli(['store', 'grant', '--role', role], db.url);
    expect(printed.code, printed.err.join('\n')).toBe(0);
    expect(printed.out).toContain(
      `grant select, insert on "${db.schema}".audit_log, "${db.schema}".audit_checkpoints, "${db.schema}".certificates, "${db.schema}".status_changes to "${role}";`,
    );
    expect(printed.out.join('\n')).not.toMatch(/(update|delete|truncate)[^;]*audit_log/);
    // printing changed nothing: the role still cannot see the schema (so not the audit log either)
    expect((await sqlError(asApp((c) => c.query(`select count(*) from "${db.schema}".audit_log`)))).code).toBe('42501');
    const applied = await cli(['store', 'grant', '--role', role, '--apply'], db.url);
    expect(applied.code, applied.err.join('\n')).toBe(0);
    const missing = await cli(['store', 'grant', '--role', 'aca_nobody_here', '--apply'], db.url);
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toMatch(/ACA_ERR_INPUT_INVALID: role aca_nobody_here does not exist/);
  });

  it('issues and revokes as the app role; openssl accepts the certificate, the OCSP answer and the CRL from PostgreSQL', async () => {
    const dir = tmp.dir;
    const issued = await cli(
      ['issue', '--agent-id', 'worm-bot', '--generate-key', join(dir, 'bot.key'), '--out', join(dir, 'bot.pem')],
      appUrl,
    );
    expect(issued.code, issued.err.join('\n')).toBe(0);
    expect((await cli(['chain', '--out', join(dir, 'chain')], appUrl)).code).toBe(0);
    const v = openssl([
      'verify',
      '-x509_strict',
      '-CAfile',
      join(dir, 'chain/root.pem'),
      '-untrusted',
      join(dir, 'chain/intermediate.pem'),
      join(dir, 'bot.pem'),
    ]);
    expect(v.stdout + v.stderr).toContain('bot.pem: OK');
    serial = openssl(['x509', '-in', join(dir, 'bot.pem'), '-noout', '-serial'])
      .stdout.trim()
      .replace('serial=', '');
    // Revoke with the OCSP service attached: the record, the re-signed responses and the audit
    // outcome land in one PostgreSQL transaction.
    const a = await createAuthority({ dataDir: join(dir, 'data'), env: { AGENT_CA_STORE: appUrl }, create: false });
    const ocsp = new OcspService(a);
    try {
      await ocsp.start();
      const s = serial.toLowerCase() as Serial;
      await a.revoke(s, { reason: 'keyCompromise', actor: 'ops:worm-test' });
      // The answer a client gets now (agent answers are signed per validity window, on request).
      expect(
        openssl([
          'ocsp',
          '-issuer',
          join(dir, 'chain/intermediate.pem'),
          '-cert',
          join(dir, 'bot.pem'),
          '-no_nonce',
          '-reqout',
          join(dir, 'req.der'),
        ]).status,
      ).toBe(0);
      const resp = await ocsp.responder.respond(readFileSync(join(dir, 'req.der')));
      expect(resp.status).toBe('successful');
      writeFileSync(join(dir, 'resp.der'), resp.der);
    } finally {
      await ocsp.stop();
      await a.close();
    }
    const o = openssl([
      'ocsp',
      '-respin',
      join(dir, 'resp.der'),
      '-issuer',
      join(dir, 'chain/intermediate.pem'),
      '-CAfile',
      join(dir, 'chain/root.pem'),
      '-cert',
      join(dir, 'bot.pem'),
      '-no_nonce',
    ]);
    expect(o.stdout + o.stderr).toContain('Response verify OK');
    expect(o.stdout).toMatch(/bot\.pem: revoked/);
    expect(o.stdout).toContain('Reason: keyCompromise');

    const crl = await cli(['crl', '--out', join(dir, 'int.crl.pem')], appUrl);
    expect(crl.code, crl.err.join('\n')).toBe(0);
    writeFileSync(
      join(dir, 'bundle.pem'),
      readFileSync(join(dir, 'chain/intermediate.pem'), 'utf8') + readFileSync(join(dir, 'chain/root.pem'), 'utf8'),
    );
    const c = openssl(['crl', '-in', join(dir, 'int.crl.pem'), '-CAfile', join(dir, 'bundle.pem'), '-noout', '-text']);
    expect(c.stderr).toContain('verify OK');
    expect(c.stdout.toUpperCase()).toContain(serial.toUpperCase());
    expect(readFileSync(join(dir, 'int.crl.pem'), 'utf8')).toMatch(/BEGIN X509 CRL/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of the audit log to the app role (privileges) and to the superuser (triggers)', async () => {
    for (const sql of [
      'update audit_log set actor = $$mallory$$ where seq = 1',
      'delete from audit_log where seq = 1',
      'truncate audit_log',
      'delete from audit_checkpoints',
      'delete from certificates',
    ]) {
      const e = await sqlError(asApp((c) => c.query(sql)));
      expect(e.code, sql).toBe('42501');
      expect(e.message, sql).toMatch(/^permission denied for table (audit_log|audit_checkpoints|certificates)$/);
    }
    // the app role can still do its job: read the log, write a setting
    expect(Number((await asApp((c) => c.query('select count(*) as n from audit_log'))).rows[0].n)).toBeGreaterThan(3);
    await asApp((c) =>
      c.query(
        `insert into meta (key, value) values ('worm-test', '1') on conflict (key) do update set value = excluded.value`,
      ),
    );

    for (const [sql, op] of [
      ['update audit_log set actor = $$mallory$$ where seq = 1', 'UPDATE'],
      ['delete from audit_log where seq = 1', 'DELETE'],
      ['truncate audit_log', 'TRUNCATE'],
      ['update audit_checkpoints set hash = hash', 'UPDATE'],
    ] as const) {
      const e = await sqlError(db.admin(sql));
      expect(e.code, sql).toBe('ACW01');
      expect(e.message).toMatch(
        new RegExp(`^agent-ca: audit_(log|checkpoints) is append-only \\(WORM\\): ${op} refused$`),
      );
    }
    const verify = await cli(['audit', 'verify'], appUrl);
    expect(verify.code, verify.err.join('\n')).toBe(0);
    expect(verify.out[0]).toMatch(/^audit log OK: \d+ entries/);
  });

  it('a superuser who drops the trigger and rewrites an entry is named by audit verify', async () => {
    const target = await db.admin(`select seq from audit_log where action = 'revoke' and subject = $1`, [
      serial.toLowerCase(),
    ]);
    const seq = Number(target.rows[0].seq);
    await db.admin('drop trigger audit_log_worm on audit_log');
    await db.admin(`update audit_log set details = '{"reason":"superseded","outcome":"committed"}' where seq = $1`, [
      seq,
    ]);
    const verify = await cli(['audit', 'verify'], appUrl);
    expect(verify.code).toBe(1);
    expect(verify.err[0]).toBe(
      `agent-ca audit verify: ACA_ERR_AUDIT_CHAIN_BROKEN: first bad entry is seq ${seq}: entry ${seq} does not match its hash (altered)`,
    );
  });
});
