/**
 * Two risk engines in `shared` mode over one PostgreSQL schema, as two server processes would
 * run them (two Authorities, one store): events for the same agents go to either engine, in
 * turn and at the same time. Both end with the scores a single engine rebuilt from the whole
 * audit log gives (no event lost or counted twice), each batch is scored on every event logged
 * before it, and a drifting agent is warned once and revoked once across both. Two engines
 * NOT in shared mode, fed the same way, each see only their share (the defect shared mode fixes).
 * All of it twice: with the default window budget, and with a budget of 0 bytes (every window
 * evicted to the store after every batch and catch-up, each engine under its own keys).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { FixedClock } from '../../src/clock.js';
import { authorityRiskActions } from '../../src/risk/actions.js';
import { parseRiskConfig } from '../../src/risk/config.js';
import { RiskEngine } from '../../src/risk/engine.js';
import type { AgentEvent } from '../../src/risk/events.js';
import { NotificationInbox } from '../../src/risk/notifications.js';
import { freshSchema, pgAvailable, type PgSchema } from '../helpers/postgres.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const MIN = 60_000;
const SCOPE = ['read:accounts', 'trade:equities'];
const POLICY = { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['XNAS'] };

describe.runIf(pgAvailable).each([
  { budget: 'the default window budget', maxWindowBytes: undefined },
  { budget: 'every window evicted', maxWindowBytes: 0 },
])('risk windows shared by two processes over one PostgreSQL schema ($budget)', ({ maxWindowBytes }) => {
  let db: PgSchema;
  let tmp: TmpDir;
  let a: Authority;
  let b: Authority;
  const clock = new FixedClock('2031-04-01T10:00:00Z');
  const engines: RiskEngine[] = [];
  const serials: Record<string, string> = {};

  const engine = async (host: Authority, shared: boolean): Promise<RiskEngine> => {
    const e = new RiskEngine({
      host,
      actions: authorityRiskActions(host, await NotificationInbox.open(host.store)),
      shared,
      config: parseRiskConfig(maxWindowBytes !== undefined ? { memory: { maxWindowBytes } } : {}),
      logger: { warn: () => undefined, error: () => undefined },
    });
    await e.restore();
    engines.push(e);
    return e;
  };

  beforeAll(async () => {
    db = await freshSchema('risk');
    tmp = await makeTmpDir('agent-ca-risk-shared-');
    const env = { AGENT_CA_STORE: db.url };
    a = await createAuthority({ dataDir: tmp.dir, env, clock });
    await a.init({ keyType: 'p256' });
    for (const id of ['steady', 'drifter', 'trader', 'split-steady', 'split-drifter']) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const c = await a.issue({
        agentId: id,
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
        scope: SCOPE,
        policy: POLICY,
      });
      serials[id] = c.serial;
    }
    b = await createAuthority({ dataDir: tmp.dir, env, clock, create: false });
  }, 60_000);
  afterAll(async () => {
    for (const e of engines) e.close();
    await a?.close();
    await b?.close();
    await db?.cleanup();
    await tmp?.cleanup();
  });

  const time = (): string => clock.now().toISOString();
  const call = (serial: string, action = 'read:accounts'): AgentEvent => ({
    serial,
    type: 'api_call',
    action,
    outcome: action === 'read:accounts' ? 'success' : 'denied',
    time: time(),
  });
  const trade = (serial: string, amount: string): AgentEvent => ({
    serial,
    type: 'transaction',
    action: 'trade:equities',
    outcome: 'success',
    time: time(),
    amount,
    currency: 'USD',
    market: 'XNAS',
  });
  /** Step k of the stream for one agent (the "split-" twins get the same events). */
  const step = (name: string, serial: string, k: number): AgentEvent[] => {
    const out = Array.from({ length: 10 }, () => call(serial));
    if (name.endsWith('drifter') && k % 2 === 1) out.push(call(serial, 'write:accounts'));
    if (name === 'trader') out.push(trade(serial, String(1000 + ((k * 37) % 500))));
    if (name === 'trader' && k === 30) out.push(trade(serial, '49999'), trade(serial, '900000'));
    return out;
  };

  it('both engines hold every event once and score as one engine over the whole log; one warning, one revocation', async () => {
    const ea = await engine(a, true);
    const eb = await engine(b, true);
    const shared = ['steady', 'drifter', 'trader'];
    for (let k = 0; k < 40; k++) {
      clock.advance(7 * MIN);
      const batches = shared.map((n) => step(n, serials[n]!, k));
      if (k % 3 === 2) {
        // at the same time: one engine's batch lands between the other's classify and count
        await Promise.all([ea.ingest(batches.flat()), eb.ingest(batches.flat())]);
      } else {
        const r = await (k % 2 ? eb : ea).ingest(batches.flat());
        // scored on everything logged before it, whichever engine logged it: both say the same now
        for (const s of r.scores) {
          const other = await (k % 2 ? ea : eb).score(s.serial);
          expect(other.value, `step ${k} ${s.serial}`).toBe(s.value);
        }
      }
    }
    await ea.settle();
    await eb.settle();
    if (maxWindowBytes === 0)
      for (const e of [ea, eb]) expect(e.stats().windows).toMatchObject({ resident: 0, evicted: shared.length });

    const ref = await engine(a, false); // rebuilt from the audit log: every batch of both
    for (const n of shared) {
      const want = await ref.score(serials[n]!);
      for (const e of [ea, eb]) {
        const got = await e.score(serials[n]!);
        expect(got.value, n).toBe(want.value);
        expect(got.reasons, n).toEqual(want.reasons);
      }
    }
    const drifter = await ref.score(serials.drifter!);
    // 20 odd steps, 6 of them (k = 5, 11, ..., 35) sent to both engines: 26 violations, all counted
    expect(drifter.reasons.find((r) => r.feature === 'scope')?.raw.count).toBe(26);
    expect(drifter.band).toBe('revoke');

    const actions: string[] = [];
    for await (const e of a.store.audit.iterate())
      if (e.subject === serials.drifter && (e.action === 'risk.warning' || e.actor === 'risk-engine'))
        actions.push(e.action);
    expect(actions.filter((x) => x === 'risk.warning')).toHaveLength(1);
    expect(actions.filter((x) => x.startsWith('revoke'))).not.toHaveLength(0);
    const revokeIntents = [];
    for await (const e of a.store.audit.iterate())
      if (e.subject === serials.drifter && e.actor === 'risk-engine' && /revoke/.test(e.action)) revokeIntents.push(e);
    expect(new Set(revokeIntents.map((e) => e.action)).size).toBe(revokeIntents.length); // intent + outcome once each
    expect((await a.store.revocations.get(serials.drifter as never))?.reason).toBe('privilegeWithdrawn');
  }, 120_000);

  it('without shared mode, each engine sees only its share of the same agent', async () => {
    const ea = await engine(a, false);
    const eb = await engine(b, false);
    for (let k = 0; k < 10; k++) {
      clock.advance(7 * MIN);
      await (k % 2 ? eb : ea).ingest(step('split-drifter', serials['split-drifter']!, 2 * k + 1));
    }
    const count = async (e: RiskEngine): Promise<number | undefined> =>
      (await e.score(serials['split-drifter']!)).reasons.find((r) => r.feature === 'scope')?.raw.count;
    expect(await count(ea)).toBe(5);
    expect(await count(eb)).toBe(5);
    const whole = await engine(a, false);
    expect(await count(whole)).toBe(10);
  }, 60_000);
});
