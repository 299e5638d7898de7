/** list(): filters by agent id, tenant and status (good / revoked / held / expired), CA certificates hidden by default. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedAgentCertificate } from '../../../src/authority/authority.js';
import { makeLifecycleFixture, type LifecycleFixture } from './fixture.js';

const DAY = 86_400_000;

let f: LifecycleFixture;
let alpha1: IssuedAgentCertificate;
let alpha2: IssuedAgentCertificate;
let beta: IssuedAgentCertificate;
let gamma: IssuedAgentCertificate;
let shortLived: IssuedAgentCertificate;

beforeAll(async () => {
  f = await makeLifecycleFixture();
  alpha1 = await f.issue({ agentId: 'alpha', tenant: 't1' });
  f.clock.advance(1000);
  alpha2 = await f.issue({ agentId: 'alpha', tenant: 't1' });
  f.clock.advance(1000);
  beta = await f.issue({ agentId: 'beta', tenant: 't2' });
  f.clock.advance(1000);
  gamma = await f.issue({ agentId: 'gamma' });
  f.clock.advance(1000);
  shortLived = await f.issue({ agentId: 'delta', tenant: 't2', validityDays: 1 });
  await f.authority.revoke(alpha1.serial, { reason: 'superseded' });
  await f.authority.hold(beta.serial);
  f.clock.advance(2 * DAY); // shortLived has expired
});
afterAll(async () => {
  await f.close();
});

const serials = async (filter: Parameters<LifecycleFixture['authority']['list']>[0]) =>
  (await f.authority.list(filter)).map((v) => v.record.serial);

describe('list', () => {
  it('lists agent certificates only, in issue order, with their status', async () => {
    const views = await f.authority.list();
    expect(views.map((v) => [v.record.serial, v.status.state])).toEqual([
      [alpha1.serial, 'revoked'],
      [alpha2.serial, 'good'],
      [beta.serial, 'held'],
      [gamma.serial, 'good'],
      [shortLived.serial, 'expired'],
    ]);
  });

  it('filters by status', async () => {
    expect(await serials({ status: 'good' })).toEqual([alpha2.serial, gamma.serial]);
    expect(await serials({ status: 'revoked' })).toEqual([alpha1.serial]);
    expect(await serials({ status: 'held' })).toEqual([beta.serial]);
    expect(await serials({ status: 'expired' })).toEqual([shortLived.serial]);
  });

  it('filters by agent id and tenant, alone and with a status', async () => {
    expect(await serials({ agentId: 'alpha' })).toEqual([alpha1.serial, alpha2.serial]);
    expect(await serials({ agentId: 'alpha', status: 'good' })).toEqual([alpha2.serial]);
    expect(await serials({ agentId: 'nobody' })).toEqual([]);
    expect(await serials({ tenant: 't2' })).toEqual([beta.serial, shortLived.serial]);
    expect(await serials({ tenant: 't2', status: 'held' })).toEqual([beta.serial]);
    expect(await serials({ agentId: 'alpha', tenant: 't2' })).toEqual([]);
    expect(await serials({ agentId: 'alpha', tenant: 't1' })).toEqual([alpha1.serial, alpha2.serial]);
  });

  it('includes the CA and responder certificates only when asked', async () => {
    const all = await f.authority.list({ includeCa: true });
    expect(all).toHaveLength(5 + 4);
    expect(
      all
        .filter((v) => v.record.isCa)
        .map((v) => v.record.profile)
        .sort(),
    ).toEqual(['intermediate', 'root']);
  });
});
