import { describe, expect, it } from 'vitest';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError } from '../../../src/errors.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { WEBHOOK_EVENT_TYPES } from '../../../src/webhooks/events.js';
import {
  signingSecrets,
  validateWebhookUrl,
  WEBHOOK_ENDPOINTS_KEY,
  WebhookRegistry,
} from '../../../src/webhooks/registry.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AgentCaError ? e.code : 'not-an-AgentCaError';
  }
  return undefined;
}

describe('validateWebhookUrl', () => {
  it('accepts http and https URLs', () => {
    expect(validateWebhookUrl('https://hooks.example.com/agent-ca')).toBe('https://hooks.example.com/agent-ca');
    expect(validateWebhookUrl('http://127.0.0.1:8080/x?y=1')).toBe('http://127.0.0.1:8080/x?y=1');
  });

  it.each([
    ['ftp://example.com/x'],
    ['file:///etc/passwd'],
    ['javascript:alert(1)'],
    ['/relative/path'],
    ['not a url'],
    [''],
    ['https://user:pass@example.com/hook'],
    ['https://token@example.com/hook'],
    ['https://example.com/hook#frag'],
    [42],
    [undefined],
    [`https://example.com/${'a'.repeat(3000)}`],
  ])('refuses %s with INPUT_INVALID (400)', (url) => {
    expect(code(() => validateWebhookUrl(url))).toBe('ACA_ERR_INPUT_INVALID');
  });
});

describe('WebhookRegistry', () => {
  it('registers with a one-time whsec_ secret, lists without secrets, persists in store meta', async () => {
    const store = await createMemoryStore();
    const clock = new FixedClock('2026-03-01T00:00:00Z');
    const reg = new WebhookRegistry(store, { clock });
    const a = await reg.register({ url: 'https://a.example/hook' });
    expect(a.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.secret.slice(6), 'base64url')).toHaveLength(32);
    expect(a.events).toEqual([...WEBHOOK_EVENT_TYPES]);
    expect(a.createdAt).toBe('2026-03-01T00:00:00.000Z');
    const b = await reg.register({ url: 'https://b.example/hook', events: ['risk.warning', 'risk.warning'] });
    expect(b.events).toEqual(['risk.warning']);
    expect(b.secret).not.toBe(a.secret);
    expect(b.id).not.toBe(a.id);

    const listed = await new WebhookRegistry(store).list();
    expect(listed.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
    expect((await store.meta.get<unknown[]>(WEBHOOK_ENDPOINTS_KEY))?.length).toBe(2);
    expect((await reg.subscribers('certificate.revoked')).map((e) => e.id)).toEqual([a.id]);
    expect((await reg.subscribers('risk.warning')).map((e) => e.id)).toEqual([a.id, b.id]);
    expect((await reg.get(a.id))?.secret).toBe(a.secret);
  });

  it('refuses unknown or empty event lists', async () => {
    const reg = new WebhookRegistry(await createMemoryStore());
    await expect(reg.register({ url: 'https://a.example', events: ['certificate.issued'] })).rejects.toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
    });
    await expect(reg.register({ url: 'https://a.example', events: [] })).rejects.toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
    });
    await expect(reg.register({ url: 'https://a.example', events: 'risk.warning' })).rejects.toMatchObject({
      code: 'ACA_ERR_INPUT_INVALID',
    });
    expect(await reg.list()).toEqual([]);
  });

  it('deletes', async () => {
    const reg = new WebhookRegistry(await createMemoryStore());
    const a = await reg.register({ url: 'https://a.example/hook' });
    expect(await reg.delete('wh_nope')).toBe(false);
    expect(await reg.delete(a.id)).toBe(true);
    expect(await reg.list()).toEqual([]);
    expect(await reg.delete(a.id)).toBe(false);
  });

  it('serialises concurrent registrations (none lost)', async () => {
    const reg = new WebhookRegistry(await createMemoryStore());
    await Promise.all(Array.from({ length: 20 }, (_, i) => reg.register({ url: `https://h${i}.example/` })));
    expect(await reg.list()).toHaveLength(20);
  });

  it('rotates: the previous secret keeps signing during the grace period only', async () => {
    const clock = new FixedClock('2026-03-01T00:00:00Z');
    const reg = new WebhookRegistry(await createMemoryStore(), { clock });
    const a = await reg.register({ url: 'https://a.example/hook' });
    const r = await reg.rotateSecret(a.id, { graceSeconds: 60 });
    expect(r?.secret).toMatch(/^whsec_/);
    expect(r?.secret).not.toBe(a.secret);
    expect(r?.previousSecretExpiresAt).toBe('2026-03-01T00:01:00.000Z');
    const e = (await reg.get(a.id))!;
    expect(signingSecrets(e, clock.now())).toEqual([r!.secret, a.secret]);
    expect(signingSecrets(e, new Date('2026-03-01T00:01:00Z'))).toEqual([r!.secret]);
    expect(await reg.rotateSecret('wh_nope')).toBeUndefined();
  });
});
