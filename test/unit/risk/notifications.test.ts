import { describe, expect, it } from 'vitest';
import { NotificationInbox, type NewRiskNotification } from '../../../src/risk/notifications.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';

const note = (serial: string, tenant = 'acme', score = 0.8): NewRiskNotification => ({
  kind: 'risk.warning',
  at: '2026-03-01T00:00:00.000Z',
  serial,
  tenant,
  score,
  band: 'warning',
  thresholds: { warning: 0.75, revoke: 0.85 },
  reasons: [],
});

describe('NotificationInbox', () => {
  it('lists newest first, filters, and keeps at most `capacity`', async () => {
    const store = await createMemoryStore();
    const inbox = await NotificationInbox.open(store, { capacity: 3 });
    for (const s of ['01', '02', '03', '04']) await inbox.add(note(s, s === '03' ? 'other' : 'acme'));
    expect(inbox.list().map((n) => n.serial)).toEqual(['04', '03', '02']);
    expect(inbox.list().map((n) => n.id)).toEqual(['risk-4', 'risk-3', 'risk-2']);
    expect(inbox.list({ tenant: 'acme' }).map((n) => n.serial)).toEqual(['04', '02']);
    expect(inbox.list({ serial: '03' })).toHaveLength(1);
    expect(inbox.list({ after: 2 }).map((n) => n.seq)).toEqual([4, 3]);
    expect(inbox.list({ limit: 1 }).map((n) => n.seq)).toEqual([4]);
  });

  it('persists in the store meta and survives a reopen (restart)', async () => {
    const store = await createMemoryStore();
    const a = await NotificationInbox.open(store, { capacity: 3 });
    await Promise.all(['01', '02', '03', '04', '05'].map((s) => a.add(note(s)))); // concurrent adds keep seq order
    expect(a.list().map((n) => n.seq)).toEqual([5, 4, 3]);
    const b = await NotificationInbox.open(store, { capacity: 3 });
    expect(b.list()).toEqual(a.list());
    await b.add(note('06'));
    expect(b.list().map((n) => n.serial)).toEqual(['06', '05', '04']);
    // only `capacity` are kept in the store: a larger capacity after a restart finds those
    const c = await NotificationInbox.open(store, { capacity: 10 });
    expect(c.list().map((n) => n.seq)).toEqual([6, 5, 4]);
    expect(await store.meta.get('risk.notifications.3')).toBeUndefined();
  });

  it('a failed write does not list the notification nor advance the sequence', async () => {
    const store = await createMemoryStore();
    const inbox = await NotificationInbox.open(store);
    const commit = store.commit.bind(store);
    let fail = true;
    store.commit = async (batch, opts) => {
      if (fail) throw new Error('disk full');
      return commit(batch, opts);
    };
    await expect(inbox.add(note('01'))).rejects.toThrow('disk full');
    fail = false;
    expect((await inbox.add(note('02'))).id).toBe('risk-1');
    expect(inbox.list().map((n) => n.serial)).toEqual(['02']);
  });
});
