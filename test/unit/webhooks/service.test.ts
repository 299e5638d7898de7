import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authority } from '../../../src/authority/authority.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import type { PostRequest } from '../../../src/webhooks/dispatcher.js';
import type { WebhookEvent } from '../../../src/webhooks/events.js';
import { WebhookService } from '../../../src/webhooks/service.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const tmp: TmpDir = await makeTmpDir('agent-ca-wh-svc-');
  const authority: Authority = await createAuthority({ dataDir: tmp.dir, store: await createMemoryStore(), env: {} });
  await authority.init();
  const calls: PostRequest[] = [];
  const service = new WebhookService({ authority, post: async (req) => (calls.push(req), { status: 200 }) });
  cleanups.push(async () => {
    await service.stop();
    await authority.close();
    await tmp.cleanup();
  });
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  }) as string;
  const issue = async (agentId: string, tenant?: string) =>
    (await authority.issue({ agentId, publicKey, ...(tenant ? { tenant } : {}) })).serial;
  const settle = async () => {
    await authority.hooks.settle();
    await service.dispatcher.idle();
    await service.outbox.drain();
  };
  const events = () => calls.map((c) => JSON.parse(c.body) as WebhookEvent<Record<string, unknown>>);
  return { authority, service, calls, issue, settle, events };
}

describe('WebhookService', () => {
  it('turns revoke / hold / release hooks into deliveries with the documented payload', async () => {
    const t = await setup();
    await t.service.register({ url: 'https://r.example/hook' });
    await t.service.start();
    const s1 = await t.issue('bot-one', 'acme');
    const s2 = await t.issue('bot-two');
    const revoked = await t.authority.revoke(s1, { reason: 'keyCompromise', actor: 'admin:alice' });
    await t.settle();
    const held = await t.authority.hold(s2, { actor: 'risk-engine' });
    await t.settle();
    await t.authority.release(s2, { actor: 'risk-engine' });
    await t.settle();

    const evs = t.events();
    expect(evs.map((e) => e.type)).toEqual(['certificate.revoked', 'certificate.held', 'certificate.released']);
    expect(evs[0]).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      data: {
        serial: s1,
        agentId: 'bot-one',
        tenant: 'acme',
        reason: 'keyCompromise',
        revokedAt: revoked.revokedAt.toISOString(),
        actor: 'admin:alice',
        issuerId: 'intermediate',
      },
    });
    expect(evs[1]!.data).toMatchObject({
      serial: s2,
      agentId: 'bot-two',
      tenant: null,
      reason: 'certificateHold',
      revokedAt: held.revokedAt.toISOString(),
      actor: 'risk-engine',
    });
    expect(evs[2]!.data).toMatchObject({
      serial: s2,
      reason: 'removeFromCRL',
      revokedAt: null,
      releasedAt: expect.any(String),
    });
    expect(t.calls.map((c) => c.headers['AgentCA-Event'])).toEqual(evs.map((e) => e.type));
    expect(new Set(t.calls.map((c) => c.headers['AgentCA-Delivery'])).size).toBe(3);
  });

  it('publishes risk.warning only to endpoints subscribed to it, one delivery each, same event id', async () => {
    const t = await setup();
    await t.service.register({ url: 'https://revocations-only.example/', events: ['certificate.revoked'] });
    const a = await t.service.register({ url: 'https://risk-a.example/', events: ['risk.warning'] });
    const b = await t.service.register({ url: 'https://risk-b.example/' });
    await t.service.start();
    const res = await t.service.publish('risk.warning', {
      serial: 'ab12',
      score: 0.8,
      reasons: ['scope_boundary_tests'],
    });
    expect(res.deliveries).toHaveLength(2);
    await t.settle();
    expect(t.calls.map((c) => c.url).sort()).toEqual(['https://risk-a.example/', 'https://risk-b.example/']);
    expect(new Set(t.events().map((e) => e.id))).toEqual(new Set([res.event.id]));
    expect(t.events()[0]!.data).toEqual({ serial: 'ab12', score: 0.8, reasons: ['scope_boundary_tests'] });
    expect([a.id, b.id]).toHaveLength(2);
    await expect(t.service.publish('certificate.issued' as never, {})).rejects.toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
    });
  });

  it('persists nothing when no endpoint is subscribed, and stops listening after stop()', async () => {
    const t = await setup();
    await t.service.start();
    const res = await t.service.publish('risk.warning', { serial: 'ab' });
    expect(res.deliveries).toEqual([]);
    await t.service.register({ url: 'https://r.example/hook' });
    await t.service.stop();
    await t.authority.revoke(await t.issue('bot-three'));
    await t.settle();
    expect(t.calls).toEqual([]);
    expect((await t.service.deliveries()).pending).toEqual([]);
  });
});
