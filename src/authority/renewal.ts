/**
 * Renewal: the same agent, the same key and the same agent extensions under a new serial and a
 * new validity window. The old certificate's subject and SANs are copied as decoded values and
 * its agent extensions byte for byte, so renewal cannot silently widen an agent's authority.
 * Extensions read under the legacy 2.25 arc are re-issued under the configured arc (the values
 * are the same bytes; only the extnID moves, asn1/README.md).
 */
import { describeParsed } from '../asn1/certificate-describe.js';
import type { ParsedCertificate } from '../asn1/certificate-parse.js';
import { encodeName, decodeName } from '../asn1/name.js';
import { agentExtensionOids, readableAgentExtensionOids } from '../asn1/oids.js';
import type { GeneralName } from '../asn1/x509-extensions.js';
import { extensionEntry, type TbsRequest } from '../profile/build-tbs.js';
import type { CaConfig } from '../profile/config.js';
import type { Profile } from '../profile/profile.js';

export function renewalTbsRequest(
  old: ParsedCertificate,
  profile: Profile,
  config: CaConfig,
  validityDays?: number,
  validitySeconds?: number,
): TbsRequest {
  const subject = decodeName(old.subject).spec;
  const d = describeParsed(old, config.oidArc);
  const sans: GeneralName[] = [
    ...(d.subjectAltNames?.dns ?? []).map((dns) => ({ dns })),
    ...(d.subjectAltNames?.uri ?? []).map((uri) => ({ uri })),
  ];
  const names = agentExtensionOids(config.oidArc);
  const ours = new Map<string, keyof typeof names>(
    readableAgentExtensionOids(config.oidArc).flatMap((set) =>
      Object.entries(set).map(([n, o]): [string, keyof typeof names] => [o, n as keyof typeof names]),
    ),
  );
  const agentExtensions = old.extensions
    .filter((e) => ours.has(e.oid))
    .map((e) => extensionEntry(ours.get(e.oid)!, names[ours.get(e.oid)!], false, e.value));
  return {
    profile,
    subject,
    encodedSubject: encodeName(subject),
    publicKeyInfo: old.publicKeyInfo,
    subjectAltNames: sans,
    ...(validityDays !== undefined ? { validityDays } : {}),
    ...(validitySeconds !== undefined ? { validitySeconds } : {}),
    ...(subject.commonName ? { agentId: subject.commonName } : {}),
    agentExtensions,
  };
}
