/**
 * The refresh pass reads a status, signs, then writes. A revocation that commits between its
 * read and its write has stored its own (revoked) answer: the pass must not replace it with the
 * "good" it read (src/ocsp/change-guard.ts). The pass is held at its status read while the
 * revocation commits, so the interleaving is the same on every run. And stop() reports a
 * marker it could not write, instead of swallowing the error.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Authority } from '../../../src/authority/authority.js';
import type { CertificateRecord } from '../../../src/store/ports.js';
import type { CertificateStatus } from '../../../src/revocation/status.js';
import { ChangeGuard } from '../../../src/ocsp/change-guard.js';
import { parseOcspResponse } from '../../../src/ocsp/response-parse.js';
import { OcspService, type OcspAuthority } from '../../../src/ocsp/service.js';
import type { IssuerId, Serial } from '../../../src/types.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';
import { dayProfileAuthority, withOverrides } from './day-profile-authority.js';

let tmp: TmpDir;
let a: Authority;
beforeEach(async () => {
  tmp = await makeTmpDir('agent-ca-ocsp-race-');
  a = await dayProfileAuthority(tmp.dir);
});
afterEach(async () => {
  await a.close();
  await tmp.cleanup();
});

const storedKind = async (serial: Serial): Promise<string | undefined> => {
  const r = await a.store.ocspResponses.get('intermediate' as IssuerId, serial, 'sha1');
  return r ? parseOcspResponse(r.der).basic?.responses[0]?.status.kind : undefined;
};

/** The authority, with statusOf held for `state.serial` until release() once `state.hold` is set. */
function gated() {
  let reached!: () => void;
  let release!: () => void;
  const atRead = new Promise<void>((r) => (reached = r));
  const gate = new Promise<void>((r) => (release = r));
  const state = { hold: false, serial: '' as Serial };
  const statusOf = async (cert: CertificateRecord): Promise<CertificateStatus> => {
    const status = await a.statusOf(cert);
    if (state.hold && cert.serial === state.serial) {
      reached();
      await gate;
    }
    return status;
  };
  const authority: OcspAuthority = withOverrides(a, () => ({ statusOf }));
  return { authority, state, atRead, release };
}

describe('OCSP refresh vs a status change', () => {
  it('a revocation committed while the refresh signs keeps its revoked answer', async () => {
    const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const { authority, state, atRead, release } = gated();
    const ocsp = new OcspService(authority);
    try {
      const serial = (await a.issue({ agentId: 'racer', publicKey: pub, profile: 'agent-day' })).serial;
      state.serial = serial;
      // Make its stored answers due: an hour left of a day's validity.
      const now = a.clock.now().getTime();
      const stored = (await a.store.ocspResponses.get('intermediate' as IssuerId, serial, 'sha1'))!;
      await a.store.commit(
        (['sha1', 'sha256'] as const).map((hashAlgorithm) => ({
          op: 'putOcspResponse' as const,
          record: {
            ...stored,
            hashAlgorithm,
            thisUpdate: new Date(now - 23 * 3_600_000),
            nextUpdate: new Date(now + 3_600_000),
          },
        })),
      );
      expect(await storedKind(serial)).toBe('good');
      state.hold = true;
      const refresh = ocsp.refreshDue();
      await atRead; // the pass has read "good" and waits
      await a.revoke(serial, { reason: 'keyCompromise' });
      expect(await storedKind(serial)).toBe('revoked');
      release();
      await refresh;
      expect(await storedKind(serial)).toBe('revoked');
      // The revocation's answer is fresh: nothing is due for this serial any more.
      state.hold = false;
      await ocsp.refreshDue();
      expect(await storedKind(serial)).toBe('revoked');
    } finally {
      await ocsp.stop();
    }
  });
});

describe('OcspService.stop', () => {
  it('logs a failure to record the backfill marker instead of swallowing it', async () => {
    const disk = { full: false };
    const failing = () => Promise.reject(new Error('disk full'));
    const meta = withOverrides(a.store.meta, () => (disk.full ? { put: failing } : {}));
    const store = withOverrides(a.store, () => ({ meta }));
    const authority: OcspAuthority = withOverrides(a, () => ({ store }));
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const logger = {
      warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }),
      error: () => undefined,
    };
    const ocsp = new OcspService(authority, { logger });
    await ocsp.start();
    await ocsp.settled();
    const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    await a.issue({ agentId: 'after-start', publicKey: pub, profile: 'agent-day' });
    disk.full = true;
    await ocsp.stop();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields?.error).toContain('disk full');
  });
});

describe('ChangeGuard', () => {
  it('drops a watched key a change touched, or one a change is still committing', () => {
    const g = new ChangeGuard(1000);
    g.begin('in-flight', 0); // began before the pass watched it, not committed yet
    g.begin('done-before', 0);
    g.end('done-before');
    g.watch(['in-flight', 'done-before', 'touched', 'quiet']);
    g.begin('touched', 10);
    g.end('touched');
    expect(g.mayWrite('in-flight', 20)).toBe(false);
    expect(g.mayWrite('done-before', 20)).toBe(true); // its status was committed before the read
    expect(g.mayWrite('touched', 20)).toBe(false);
    expect(g.mayWrite('quiet', 20)).toBe(true);
    expect(g.mayWrite('not-watched', 20)).toBe(false);
    // an opsFor never followed by afterChange (issuance, a refused commit) stops counting
    expect(g.mayWrite('in-flight', 1000)).toBe(true);
    expect(g.inFlightCount).toBe(0);
    g.unwatch(['in-flight', 'done-before', 'touched', 'quiet']);
    expect(g.mayWrite('quiet', 1000)).toBe(false);
  });
});
