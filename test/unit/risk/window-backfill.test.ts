/** A gateway backfilling past hours oldest-first must not leave a stale rate baseline behind. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { FixedClock } from '../../../src/clock.js';
import { authorityRiskActions } from '../../../src/risk/actions.js';
import { RiskEngine } from '../../../src/risk/engine.js';
import { NotificationInbox } from '../../../src/risk/notifications.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';

const HOUR = 3_600_000;

it('scores a steady agent backfilled oldest-first the same as one rebuilt from the audit log (0)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'risk-backfill-'));
  const clock = new FixedClock('2031-05-01T12:20:00Z');
  const a = await createAuthority({ dataDir: dir, store: await createMemoryStore(), env: {}, clock });
  try {
    await a.init({ keyType: 'p256' });
    const pk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const { serial } = await a.issue({ agentId: 'steady', publicKey: pk, scope: ['read:accounts'] });
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
  } finally {
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
