/**
 * A certificate as an agent-ca release before the arc move issued it: the same profile and
 * extension values, but the extensions under the legacy 2.25 arc. Built from the pieces the
 * authority uses (agentTbsRequest, buildTbs) and signed with the intermediate's own signer, then
 * stored like any issued certificate. It bypasses the Issuer on purpose: the lints now refuse
 * that arc, which is the point of the move; only reading it must keep working.
 */
import type { KeyObject } from 'node:crypto';
import { LEGACY_AGENT_CA_ARC } from '../../src/asn1/oids.js';
import { toPem } from '../../src/asn1/pem.js';
import { agentTbsRequest, type AgentIssueRequest } from '../../src/authority/agent-request.js';
import type { Authority } from '../../src/authority/authority.js';
import { assembleSigned } from '../../src/issuance/certificate.js';
import { buildTbs } from '../../src/profile/build-tbs.js';
import { serialFromMagnitude } from '../../src/profile/serial.js';
import { encodeTbs } from '../../src/profile/tbs.js';
import { asIssuerId } from '../../src/authority/ca-state.js';

export async function issueUnderLegacyArc(
  authority: Authority,
  req: Omit<AgentIssueRequest, 'publicKey' | 'csr'>,
  publicKey: KeyObject,
): Promise<{ serial: string; der: Buffer; pem: string }> {
  const intermediate = authority.ca('intermediate');
  const spki = publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
  const config = { ...authority.config, oidArc: LEGACY_AGENT_CA_ARC };
  const tbs = buildTbs(
    agentTbsRequest(req, spki, authority.profile(req.profile ?? 'agent'), config),
    intermediate.issuing,
    authority.clock,
  );
  const tbsDer = encodeTbs(tbs);
  const der = assembleSigned(tbsDer, intermediate.signer.algorithm, await intermediate.signer.sign(tbsDer));
  const serial = serialFromMagnitude(tbs.serial);
  await authority.store.commit([
    {
      op: 'putCertificate',
      record: {
        serial,
        issuerId: asIssuerId('intermediate'),
        der,
        profile: tbs.profile.name,
        subject: tbs.subject.text,
        agentId: req.agentId,
        notBefore: tbs.notBefore,
        notAfter: tbs.notAfter,
        issuedAt: authority.clock.now(),
        isCa: false,
      },
    },
  ]);
  return { serial, der, pem: toPem(der) };
}
