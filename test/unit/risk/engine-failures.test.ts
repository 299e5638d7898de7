/**
 * Failures the engine cannot hand back to a caller are reported, never dropped: an action that
 * fails goes to the engine's Logger; a failed turn (shared mode) is counted and does not stop
 * the next one; an inbox addition that failed to persist is counted and the next one persists.
 */
import { expect, it } from 'vitest';
import type { Authority } from '../../../src/authority/authority.js';
import { RiskEngine } from '../../../src/risk/engine.js';
import { NotificationInbox, type NewRiskNotification } from '../../../src/risk/notifications.js';
import type { Store } from '../../../src/store/ports.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { recordingLogger } from '../../helpers/recording-logger.js';
import { withOneAgent } from './one-agent-authority.js';

const withAuthority = (fn: (a: Authority, serial: string) => Promise<void>): Promise<void> => withOneAgent('bot', fn);

const outOfScope = (serial: string, time: string, n: number): unknown[] =>
  Array.from({ length: n }, () => ({ serial, type: 'api_call', action: 'delete:accounts', outcome: 'denied', time }));

it('an action that fails is reported through the Logger', async () => {
  await withAuthority(async (a, serial) => {
    const logger = recordingLogger();
    const engine = new RiskEngine({
      host: a,
      logger,
      actions: {
        warn: () => Promise.reject(new Error('inbox down')),
        revoke: () => Promise.reject(new Error('signer down')),
      },
    });
    const r = await engine.ingest(outOfScope(serial, a.clock.now().toISOString(), 20));
    expect(r.scores[0]!.band).toBe('revoke');
    await engine.settle();
    expect(logger.lines).toEqual([
      `error risk engine warning for ${serial} failed {"error":"inbox down"}`,
      `error risk engine revoke for ${serial} failed {"error":"signer down"}`,
    ]);
    engine.close();
  });
});

it('shared: a failed turn is counted, its caller gets the error, and the next turn runs', async () => {
  await withAuthority(async (a, serial) => {
    const engine = new RiskEngine({
      host: a,
      logger: recordingLogger(),
      shared: true,
      actions: { warn: () => 0, revoke: () => Promise.resolve() },
    });
    const time = a.clock.now().toISOString();
    const iterate = a.store.audit.iterate.bind(a.store.audit);
    let fail = true;
    a.store.audit.iterate = (range) => {
      if (fail) throw new Error('connection reset');
      return iterate(range);
    };
    await expect(engine.ingest([{ serial, type: 'api_call', outcome: 'success', time }])).rejects.toThrow(
      'connection reset',
    );
    fail = false;
    expect(engine.stats().failedTurns).toBe(1);
    const r = await engine.ingest([{ serial, type: 'api_call', outcome: 'success', time }]);
    expect(r.accepted).toBe(1);
    expect(engine.stats().failedTurns).toBe(1);
    engine.close();
  });
});

it('an inbox addition that fails to persist is counted; the next one persists', async () => {
  const store = await createMemoryStore();
  const inbox = await NotificationInbox.open(store);
  const commit = store.commit.bind(store);
  let fail = true;
  (store as Store).commit = (batch, opts) => (fail ? Promise.reject(new Error('disk full')) : commit(batch, opts));
  const note: NewRiskNotification = {
    kind: 'risk.warning',
    at: '2031-05-01T12:20:00.000Z',
    serial: '01',
    score: 0.8,
    band: 'warning',
    thresholds: { warning: 0.75, revoke: 0.85 },
    reasons: [],
  };
  await expect(inbox.add(note)).rejects.toThrow('disk full');
  expect(inbox.failures).toBe(1);
  expect(inbox.size).toBe(0);
  fail = false;
  expect((await inbox.add(note)).seq).toBe(1);
  expect(inbox.failures).toBe(1);
  expect((await NotificationInbox.open(store)).list().map((n) => n.seq)).toEqual([1]);
});
