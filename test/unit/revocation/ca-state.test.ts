/** A revoked or held intermediate: nothing new is issued under it, and what it issued follows its state. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAgentCaError, makeLifecycleFixture, type LifecycleFixture } from '../authority/fixture.js';

let f: LifecycleFixture;
beforeEach(async () => {
  f = await makeLifecycleFixture();
});
afterEach(async () => {
  await f.close();
});

describe('the intermediate CA state governs issuance and inherited status', () => {
  it('refuses to issue under a revoked intermediate, writing nothing', async () => {
    await f.issue();
    await f.authority.revokeCa('intermediate', { reason: 'cACompromise' });
    const before = await f.authority.store.certificates.count();
    const head = await f.headSeq();
    await expectAgentCaError(() => f.issue(), 'ACA_ERR_REVOKE_INVALID_STATE');
    expect(await f.authority.store.certificates.count()).toBe(before);
    expect(await f.headSeq()).toBe(head);
  });

  it('a held intermediate suspends the agents under it (held, inherited) and issuance, until released', async () => {
    const agent = await f.issue();
    const intSerial = f.authority.ca('intermediate').certificate.serial;
    await f.authority.holdCa('intermediate');
    expect((await f.authority.show(agent.serial)).status).toMatchObject({
      state: 'held',
      reason: 'certificateHold',
      inheritedFrom: intSerial,
    });
    await expectAgentCaError(() => f.issue(), 'ACA_ERR_REVOKE_INVALID_STATE');
    await f.authority.releaseCa('intermediate');
    expect((await f.authority.show(agent.serial)).status.state).toBe('good');
    await expect(f.issue()).resolves.toMatchObject({ serial: expect.any(String) });
  });
});
