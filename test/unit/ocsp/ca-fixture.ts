/** A real CA hierarchy (root -> intermediate, one delegated OCSP responder each) for the OCSP tests. */
import { generateKeyPairSync } from 'node:crypto';
import type { Authority } from '../../../src/authority/authority.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import type { Clock } from '../../../src/clock.js';
import { issuerIndexFromCertificates, type IssuerIndex } from '../../../src/ocsp/issuer-index.js';
import { responderIdentity, type ResponderIdentity } from '../../../src/ocsp/responder-identity.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import type { IssuerId, KeyType } from '../../../src/types.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';

export interface CaFixture {
  authority: Authority;
  tmp: TmpDir;
  index: IssuerIndex;
  responders: Record<'root' | 'intermediate', ResponderIdentity>;
  responderFor(id: IssuerId): ResponderIdentity | undefined;
  issueAgent(agentId: string): Promise<{ serial: string; der: Buffer; pem: string }>;
  close(): Promise<void>;
}

export const ROOT = 'root' as IssuerId;
export const INTERMEDIATE = 'intermediate' as IssuerId;

export async function makeCaFixture(keyType: KeyType = 'p256', clock?: Clock): Promise<CaFixture> {
  const tmp = await makeTmpDir('agent-ca-ocsp-');
  const authority = await createAuthority({
    dataDir: tmp.dir,
    store: await createMemoryStore(),
    ...(clock ? { clock } : {}),
    env: {},
  });
  await authority.init({ keyType });
  const responders = {
    root: responderIdentity(authority.ca('root').responder.signer, authority.ca('root').responder.certificate.der),
    intermediate: responderIdentity(
      authority.ca('intermediate').responder.signer,
      authority.ca('intermediate').responder.certificate.der,
    ),
  };
  const index = issuerIndexFromCertificates([
    { id: ROOT, certificate: authority.ca('root').certificate },
    { id: INTERMEDIATE, certificate: authority.ca('intermediate').certificate },
  ]);
  return {
    authority,
    tmp,
    index,
    responders,
    responderFor: (id) => (id === ROOT ? responders.root : id === INTERMEDIATE ? responders.intermediate : undefined),
    async issueAgent(agentId) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const issued = await authority.issue({
        agentId,
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
      });
      return { serial: issued.serial, der: issued.der, pem: issued.pem };
    },
    async close() {
      await authority.close();
      await tmp.cleanup();
    },
  };
}
