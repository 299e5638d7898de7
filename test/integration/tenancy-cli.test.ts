/**
 * Tenancy from the command line on a data directory (tenant, token, agent commands), the
 * decommission that a crash interrupted finished at the next start, and tenant thresholds
 * reaching the risk engine without a restart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority } from '../../src/authority/create-authority.js';
import { startRiskService } from '../../src/risk/service.js';
import { tenantRiskConfig } from '../../src/risk/config.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { Tenancy } from '../../src/tenancy/tenancy.js';
import { TOKENS_KEY } from '../../src/tenancy/tokens.js';
import { runCliCaptured, type CliRun } from '../helpers/run-cli.js';
import { opensslAsync } from '../helpers/openssl.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

let tmp: TmpDir;
let data: string;

function cli(...argv: string[]): Promise<CliRun> {
  return runCliCaptured(argv, data);
}

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-tenancy-cli-');
  data = join(tmp.dir, 'data');
  expect((await cli('init', '--org', 'CLI Tenancy CA', '--key-type', 'p256')).code).toBe(0);
});
afterAll(() => tmp.cleanup());

describe('agent-ca tenant / token / agent', () => {
  it('creates tenants and scoped tokens (shown once, hash stored), registers, certifies, shows, decommissions agents', async () => {
    const t = await cli(
      'tenant',
      'create',
      'acme',
      '--warning',
      '0.7',
      '--revoke',
      '0.8',
      '--events-per-second',
      '500',
    );
    expect(t.code, t.err.join('\n')).toBe(0);
    expect(t.out[0]).toBe('tenant acme created: warning 0.7, revoke 0.8, 500 events/s');
    expect((await cli('tenant', 'create', 'acme')).err[0]).toMatch(/^agent-ca tenant: ACA_ERR_TENANT_EXISTS: /);
    expect((await cli('tenant', 'create', 'x', '--revoke', '1.5')).code).toBe(2);
    expect((await cli('tenant', 'list')).out[1]).toMatch(/^acme\t0\.7\t0\.8\t500\t/);

    const reg = await cli(
      'agent',
      'register',
      'trade-bot',
      '--tenant',
      'acme',
      '--org',
      'Acme Trading',
      '--scope',
      'read:accounts,trade:equities',
      '--max-tx',
      '5000:USD',
      '--markets',
      'XNAS',
      '--model-hash',
      `sha256:${'ab'.repeat(32)}`,
    );
    expect(reg.code, reg.err.join('\n')).toBe(0);
    expect((await cli('agent', 'register', 'trade-bot', '--tenant', 'acme')).err[0]).toMatch(/ACA_ERR_AGENT_EXISTS/);
    expect((await cli('agent', 'register', 'other', '--tenant', 'nope')).err[0]).toMatch(/ACA_ERR_TENANT_NOT_FOUND/);

    const certs: string[] = [];
    for (const n of [1, 2]) {
      const c = await cli(
        'agent',
        'certify',
        'trade-bot',
        '--days',
        '30',
        '--generate-key',
        join(tmp.dir, `bot${n}.key`),
        '--out',
        join(tmp.dir, `bot${n}.pem`),
      );
      expect(c.code, c.err.join('\n')).toBe(0);
      certs.push(c.out[0]!.match(/: ([0-9a-f]+),/)![1]!);
      const v = await opensslAsync([
        'verify',
        '-CAfile',
        join(data, 'ca/root.pem'),
        '-untrusted',
        join(data, 'ca/intermediate.pem'),
        join(tmp.dir, `bot${n}.pem`),
      ]);
      expect(v.stdout).toContain(': OK');
      const text = await opensslAsync(['x509', '-noout', '-subject', '-in', join(tmp.dir, `bot${n}.pem`)]);
      expect(text.stdout).toContain('O = Acme Trading');
    }
    const shown = JSON.parse((await cli('agent', 'show', 'trade-bot')).out.join('\n'));
    expect(shown).toMatchObject({
      agentId: 'trade-bot',
      tenant: 'acme',
      status: 'active',
      currentSerial: certs[1],
      policy: { maxTransactionSize: { amount: '5000', currency: 'USD' }, allowedMarkets: ['XNAS'] },
    });
    expect(shown.certificates).toHaveLength(2);

    const tok = await cli(
      'token',
      'create',
      '--name',
      'bot-token',
      '--role',
      'agent',
      '--tenant',
      'acme',
      '--agent',
      'trade-bot',
      '--expires',
      '90d',
    );
    expect(tok.code, tok.err.join('\n')).toBe(0);
    expect(tok.out[0]).toMatch(/^aca_[A-Za-z0-9_-]{43}$/);
    expect(tok.err[0]).toMatch(/agent token "bot-token" \(tok_[0-9a-f]{16}, tenant acme, agent trade-bot, expires /);
    const list = await cli('token', 'list');
    expect(list.out.join('\n')).not.toContain(tok.out[0]!);
    const id = list.out[1]!.split('\t')[0]!;
    expect(list.out[1]).toMatch(/\tactive\tagent\tbot-token\tacme\ttrade-bot\t/);
    expect((await cli('token', 'revoke', id)).code).toBe(0);
    expect((await cli('token', 'list')).out[1]).toContain('\trevoked\t');
    expect(
      (await cli('token', 'create', '--name', 'x', '--role', 'agent', '--tenant', 'acme', '--agent', 'ghost')).err[0],
    ).toMatch(/ACA_ERR_AGENT_NOT_FOUND/);

    const live = await cli(
      'token',
      'create',
      '--name',
      'bot-token-2',
      '--role',
      'agent',
      '--tenant',
      'acme',
      '--agent',
      'trade-bot',
    );
    expect(live.code).toBe(0);
    const d = await cli('agent', 'decommission', 'trade-bot');
    expect(d.code, d.err.join('\n')).toBe(0);
    expect(d.out[0]).toBe(`decommissioned trade-bot: revoked ${certs.join(', ')} (cessationOfOperation)`);
    const a = await createAuthority({ dataDir: data, env: {} });
    try {
      for (const s of certs)
        expect((await a.show(s)).status).toMatchObject({ state: 'revoked', reason: 'cessationOfOperation' });
      expect(JSON.stringify(await a.store.meta.get(TOKENS_KEY))).not.toContain(tok.out[0]!);
    } finally {
      await a.close();
    }
    // The agent's tokens were revoked with it.
    expect((await cli('token', 'list')).out.find((l) => l.includes('\tbot-token-2\t'))).toContain('\trevoked\t');
    expect((await cli('agent', 'list', '--status', 'decommissioned')).out[1]).toMatch(
      /^trade-bot\tacme\tdecommissioned\t/,
    );
    expect(
      (
        await cli(
          'agent',
          'certify',
          'trade-bot',
          '--generate-key',
          join(tmp.dir, 'bot3.key'),
          '--out',
          join(tmp.dir, 'bot3.pem'),
        )
      ).err[0],
    ).toMatch(/ACA_ERR_AGENT_DECOMMISSIONED/);
    expect(() => readFileSync(join(tmp.dir, 'bot3.key'))).toThrow();
  });
});

describe('decommission and thresholds', () => {
  it('a decommission interrupted after its intent is finished at the next start', async () => {
    const tmp2 = await makeTmpDir('agent-ca-decom-');
    const store = await createMemoryStore();
    const a = await createAuthority({ dataDir: tmp2.dir, store, env: {} });
    try {
      await a.init({ keyType: 'p256' });
      const t = new Tenancy(a);
      await t.tenants.create({ name: 'acme' }, 'test');
      await t.agents.register('acme', { agentId: 'half-bot' }, 'test');
      const { generateKeyPairSync } = await import('node:crypto');
      const pk = () =>
        generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          format: 'pem',
          type: 'spki',
        }) as string;
      const s1 = (await t.agents.certify('half-bot', { publicKey: pk() }, 'test')).serial;
      const s2 = (await t.agents.certify('half-bot', { publicKey: pk() }, 'test')).serial;
      // The crash: intent written, one revocation done, the rest not.
      await t.agents.registry.update(
        'half-bot',
        'test',
        'agent.decommission.requested',
        (r) => ({ ...r, status: 'decommissioning' }),
        { serials: [s1, s2] },
      );
      await a.revoke(s1, { reason: 'cessationOfOperation', actor: 'test' });
      const restarted = new Tenancy(a);
      await restarted.start();
      expect((await a.show(s2)).status).toMatchObject({ state: 'revoked', reason: 'cessationOfOperation' });
      expect(await restarted.agents.registry.get('half-bot')).toMatchObject({
        status: 'decommissioned',
        decommissioned: { serials: [s1, s2] },
      });
    } finally {
      await a.close();
      await tmp2.cleanup();
    }
  });

  it('tenant thresholds reach the risk engine at start and on change, without a restart', async () => {
    const tmp3 = await makeTmpDir('agent-ca-thr-');
    const a = await createAuthority({ dataDir: tmp3.dir, store: await createMemoryStore(), env: {} });
    try {
      await a.init({ keyType: 'p256' });
      const risk = await startRiskService(a, { env: {} });
      const t = new Tenancy(a, { risk: risk.engine });
      await t.tenants.create({ name: 'strict', warning: 0.4, revoke: 0.5 }, 'test');
      expect(tenantRiskConfig(risk.engine.config, 'strict').thresholds).toEqual({
        medium: 0.3,
        warning: 0.4,
        revoke: 0.5,
      });
      await t.tenants.update('strict', { revoke: 0.6 }, 'test');
      expect(tenantRiskConfig(risk.engine.config, 'strict').thresholds.revoke).toBe(0.6);
      expect(tenantRiskConfig(risk.engine.config, 'other').thresholds.revoke).toBe(0.85);
      await expect(t.tenants.update('strict', { warning: 0.9 }, 'test')).rejects.toMatchObject({
        code: 'ACA_ERR_INPUT_INVALID',
      });
      await risk.stop();
    } finally {
      await a.close();
      await tmp3.cleanup();
    }
  });
});
