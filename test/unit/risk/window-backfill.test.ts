/** A gateway backfilling past hours oldest-first must not leave a stale rate baseline behind. */
import { expect, it } from 'vitest';
import { authorityRiskActions } from '../../../src/risk/actions.js';
import { RiskEngine } from '../../../src/risk/engine.js';
import { NotificationInbox } from '../../../src/risk/notifications.js';
import { withOneAgent } from './one-agent-authority.js';

const HOUR = 3_600_000;

it('scores a steady agent backfilled oldest-first the same as one rebuilt from the audit log (0)', async () => {
  await withOneAgent('steady', async (a, serial, clock) => {
    const inbox = await NotificationInbox.open(a.store);
    const engine = new RiskEngine({ host: a, actions: authorityRiskActions(a, inbox) });
    const thisHour = Math.floor(clock.now().getTime() / HOUR) * HOUR;
    const scores: number[] = [];
    for (let h = 26; h >= 1; h--) {
      const time = new Date(thisHour - h * HOUR + 30 * 60_000).toISOString();
      const r = await engine.ingest(
        Array.from({ length: 900 }, () => ({
          serial,
          type: 'api_call',
          action: 'read:accounts',
          outcome: 'success',
          time,
        })),
      );
      scores.push(r.scores[0]!.value);
    }
    expect(Math.max(...scores)).toBeLessThan(0.3);
    const live = await engine.score(serial);
    const rebuilt = new RiskEngine({ host: a, actions: authorityRiskActions(a, inbox) });
    await rebuilt.restore();
    expect(live.value).toBe((await rebuilt.score(serial)).value);
    expect(live.value).toBeLessThan(0.3);
    engine.close();
    rebuilt.close();
  });
});
