/**
 * OcspService.invalidateAll() is what a peer's change notice without serials calls (another
 * process sharing the store changed statuses this one cannot name): every cached answer goes,
 * the short-validity window answers included, so the next request reads the status afresh.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Authority } from '../../../src/authority/authority.js';
import { certIdFor } from '../../../src/ocsp/cert-id.js';
import { ocspRequestDer } from '../../../src/ocsp/request-encode.js';
import { parseOcspResponse } from '../../../src/ocsp/response-parse.js';
import { OcspService } from '../../../src/ocsp/service.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';
import { dayProfileAuthority, withOverrides } from './day-profile-authority.js';

let tmp: TmpDir;
let a: Authority;
beforeEach(async () => {
  tmp = await makeTmpDir('agent-ca-ocsp-invalidate-');
  a = await dayProfileAuthority(tmp.dir);
});
afterEach(async () => {
  await a.close();
  await tmp.cleanup();
});

describe('OcspService.invalidateAll', () => {
  it('drops windowed answers too: a status changed by a peer is answered after the notice', async () => {
    // A service that is not told of this authority's status changes, as a peer process is not.
    const peer = new OcspService(withOverrides(a, () => ({ addStatusPublisher: () => undefined })));
    const pub = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const { serial } = await a.issue({ agentId: 'peer-changed', publicKey: pub });
    const int = a.ca('intermediate').certificate;
    const req = ocspRequestDer(
      certIdFor({ subjectDer: int.subject, publicKeyInfo: int.publicKeyInfo }, Buffer.from(serial, 'hex'), 'sha1'),
    );
    const statusOf = async () =>
      parseOcspResponse((await peer.responder.respond(req)).der).basic?.responses[0]?.status.kind;
    try {
      expect(peer.isWindowed((await a.store.certificates.get(serial))!)).toBe(true);
      expect(await statusOf()).toBe('good');
      await a.revoke(serial, { reason: 'keyCompromise', actor: 'test' });
      expect(await statusOf()).toBe('good'); // cached, the notice has not come yet
      peer.invalidateAll();
      expect(await statusOf()).toBe('revoked');
    } finally {
      await peer.stop();
    }
  });
});
