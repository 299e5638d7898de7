/**
 * `agent-ca store migrate --from DATA_DIR --to postgres://…`: a LevelDB CA with issued, revoked,
 * held-and-released certificates, pre-signed OCSP responses, full and delta CRLs, an admin
 * token and a webhook endpoint is copied to PostgreSQL; every port reads back the same, the
 * copied chain verifies, and the copy carries on (change seqs and CRL numbers continue).
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { runCli } from '../../src/cli/main.js';
import { TokenStore } from '../../src/tenancy/tokens.js';
import { OcspService } from '../../src/ocsp/service.js';
import type { Store } from '../../src/store/ports.js';
import type { IssuerId } from '../../src/types.js';
import { WebhookRegistry } from '../../src/webhooks/registry.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Everything a store holds, through its ports, for issuers root and intermediate. */
async function snapshot(store: Store): Promise<Record<string, unknown>> {
  const issuers = ['root', 'intermediate'] as IssuerId[];
  const per = async (id: IssuerId) => ({
    revocations: await collect(store.revocations.iterate({ issuerId: id })),
    changes: await collect(store.revocations.changesSince(id, 0)),
    ocsp: await collect(store.ocspResponses.iterate(id)),
    crls: await collect(store.crls.iterate(id)),
    latestFull: await store.crls.latest(id, 'full'),
    latestDelta: await store.crls.latest(id, 'delta'),
    counter: await store.crls.counter(id),
  });
  return {
    certificates: await collect(store.certificates.iterate()),
    count: await store.certificates.count(),
    lastChangeSeq: await store.revocations.lastChangeSeq(),
    root: await per(issuers[0]!),
    intermediate: await per(issuers[1]!),
    audit: await collect(store.audit.iterate()),
    head: await store.audit.head(),
    checkpoints: await collect(store.audit.iterateCheckpoints()),
    meta: await collect(store.meta.iterate()),
  };
}

describe.runIf(pgAvailable)('store migrate: LevelDB -> PostgreSQL', () => {
  let tmp: TmpDir;
  let db: PgSchema;
  let dataDir: string;
  const io = (out: string[], err: string[]) => ({
    out: (l: string) => out.push(l),
    err: (l: string) => err.push(l),
    env: { AGENT_CA_DATA: '' },
  });

  beforeAll(async () => {
    tmp = await makeTmpDir('agent-ca-migrate-');
    db = await freshSchema('migrate');
    dataDir = join(tmp.dir, 'data');
    const a = await createAuthority({ dataDir, env: {} });
    await a.init({ keyType: 'p256' });
    const ocsp = new OcspService(a);
    try {
      await ocsp.start();
      const issue = async (agentId: string) => {
        const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        return (
          await a.issue({
            agentId,
            tenant: 'acme',
            publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
          })
        ).serial;
      };
      const [s1, s2, s3] = [await issue('bot-1'), await issue('bot-2'), await issue('bot-3')];
      await issue('bot-4');
      await a.revoke(s1, { reason: 'keyCompromise', actor: 'ops' });
      await a.hold(s2, { actor: 'ops' });
      await a.release(s2, { actor: 'ops' });
      await a.hold(s3, { actor: 'ops' });
      await new TokenStore({ store: a.store, audit: () => a.audit, clock: a.clock }).create(
        { name: 'ops-token', role: 'admin' },
        'test',
        async () => undefined,
      );
      await new WebhookRegistry(a.store).register({
        url: 'https://hooks.example/agent-ca',
        events: ['certificate.revoked'],
      });
    } finally {
      await ocsp.stop();
      await a.close();
    }
    for (const argv of [
      ['crl', '--out', join(tmp.dir, 'full.crl')],
      ['crl', '--delta', '--out', join(tmp.dir, 'delta.crl')],
    ]) {
      const err: string[] = [];
      expect(await runCli([...argv, '--data', dataDir], io([], err)), err.join('\n')).toBe(0);
    }
  });
  afterAll(async () => {
    await db.cleanup();
    await tmp.cleanup();
  });

  it('copies every record, and audit verify passes on the copy', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(await runCli(['store', 'migrate', '--from', dataDir, '--to', db.url], io(out, err)), err.join('\n')).toBe(0);
    expect(out[0]).toMatch(
      /^copied .*: 8 certificates, 2 revocations \(4 status changes\), 6 OCSP responses, 2 CRLs, \d+ audit entries, \d+ checkpoints, \d+ settings/,
    );

    const level = await createAuthority({ dataDir, env: {}, create: false });
    let pgCa: Authority | undefined;
    try {
      const before = await snapshot(level.store);
      await level.close();
      pgCa = await createAuthority({ dataDir, env: { AGENT_CA_STORE: db.url }, create: false });
      expect(pgCa.store.kind).toBe('postgres');
      const after = await snapshot(pgCa.store);
      expect(after).toEqual(before);
      expect((after.meta as { key: string }[]).map((m) => m.key)).toEqual(
        expect.arrayContaining(['webhooks:endpoints']),
      );
      expect(await pgCa.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await level.close().catch(() => undefined);
      await pgCa?.close();
    }
    const verifyOut: string[] = [];
    const verifyErr: string[] = [];
    expect(
      await runCli(['audit', 'verify', '--data', dataDir, '--store', db.url], io(verifyOut, verifyErr)),
      verifyErr.join('\n'),
    ).toBe(0);
    expect(verifyOut[0]).toMatch(/^audit log OK/);
  });

  it('the copy carries on: change seqs and CRL numbers continue; a second migrate is refused', async () => {
    const a = await createAuthority({ dataDir, env: { AGENT_CA_STORE: db.url }, create: false });
    try {
      const seq = await a.store.revocations.lastChangeSeq();
      const before = await a.store.crls.counter('intermediate' as IssuerId);
      const held = (await a.list({ status: 'held' }))[0]!;
      await a.revoke(held.record.serial, { reason: 'keyCompromise', actor: 'ops' });
      expect(await a.store.revocations.lastChangeSeq()).toBe(seq + 1);
      expect(await a.store.crls.nextCrlNumber('intermediate' as IssuerId)).toBe(before + 1n);
      expect(await a.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await a.close();
    }
    const err: string[] = [];
    expect(await runCli(['store', 'migrate', '--from', dataDir, '--to', db.url], io([], err))).toBe(1);
    expect(err[0]).toMatch(
      /ACA_ERR_STORE_MIGRATE_TARGET_NOT_EMPTY: schema aca_migrate_\w+ of postgres:\/\/.* already holds a CA/,
    );
  });
});
