/**
 * announceExpiring(window): certificate.expiring for good agent certificates whose notAfter
 * falls within the window from now (FixedClock); revoked, held, already expired, CA and
 * responder certificates are left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedAgentCertificate } from '../../../src/authority/authority.js';
import type { HookEvents } from '../../../src/revocation/hooks.js';
import { makeLifecycleFixture, START, type LifecycleFixture } from './fixture.js';

const DAY = 86_400_000;

let f: LifecycleFixture;
let in5: IssuedAgentCertificate;
let in20: IssuedAgentCertificate;
let in90: IssuedAgentCertificate;
let revokedIn5: IssuedAgentCertificate;
let heldIn5: IssuedAgentCertificate;
let in1: IssuedAgentCertificate;
let seen: HookEvents['certificate.expiring'][];

beforeAll(async () => {
  f = await makeLifecycleFixture();
  in5 = await f.issue({ agentId: 'five', tenant: 'acme', validityDays: 5 });
  in20 = await f.issue({ agentId: 'twenty', validityDays: 20 });
  in90 = await f.issue({ agentId: 'ninety', validityDays: 90 });
  revokedIn5 = await f.issue({ agentId: 'revoked', validityDays: 5 });
  heldIn5 = await f.issue({ agentId: 'held', validityDays: 5 });
  in1 = await f.issue({ agentId: 'one', validityDays: 1 });
  await f.authority.revoke(revokedIn5.serial, { reason: 'superseded' });
  await f.authority.hold(heldIn5.serial);
  seen = [];
  f.authority.hooks.on('certificate.expiring', (e) => {
    seen.push(e);
  });
});
afterAll(async () => {
  await f.close();
});

async function announce(windowMs: number): Promise<{ returned: string[]; emitted: string[] }> {
  seen.length = 0;
  const returned = (await f.authority.announceExpiring(windowMs)).map((r) => r.serial);
  await f.authority.hooks.settle();
  return { returned, emitted: seen.map((e) => e.serial) };
}

describe('announceExpiring', () => {
  it('announces good certificates ending within the window, soonest first, with their notAfter', async () => {
    const r = await announce(7 * DAY);
    expect(r.returned).toEqual([in1.serial, in5.serial]);
    expect(r.emitted).toEqual(r.returned);
    expect(seen[1]).toEqual({
      serial: in5.serial,
      issuerId: 'intermediate',
      agentId: 'five',
      tenant: 'acme',
      at: new Date(START),
      actor: 'scheduler',
      notAfter: in5.notAfter,
    });
  });

  it('a wider window reaches further; a tiny one announces nothing', async () => {
    expect((await announce(30 * DAY)).returned).toEqual([in1.serial, in5.serial, in20.serial]);
    expect((await announce(60_000)).returned).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('leaves out certificates that have already expired, as the clock moves on', async () => {
    f.clock.advance(2 * DAY); // in1 is past its notAfter now
    expect((await announce(7 * DAY)).returned).toEqual([in5.serial]);
    f.clock.advance(100 * DAY);
    expect((await announce(365 * DAY)).returned).toEqual([]);
    expect(in90.notAfter.getTime()).toBeLessThan(f.clock.now().getTime());
  });
});
