/**
 * A certificate as JSON for people and scripts (`agent-ca inspect`, `show`, the public verify
 * endpoint): the standard RFC 5280 fields we write plus our decoded agent extensions. Unknown
 * or undecodable extensions are listed, never fatal.
 */
import { createHash } from 'node:crypto';
import { Oids, readableAgentExtensionOids } from './oids.js';
import { parseCertificate, type ParsedCertificate } from './certificate-parse.js';
import { childrenOf, content, decodeOid, readTlv, readWhole } from './der-reader.js';
import { Tag } from './der.js';
import { decodeAgentExtensions, type AgentExtensions } from './extensions/index.js';
import { decodeName } from './name.js';
import { ExtKeyUsageOids, KeyUsageBits } from './x509-extensions.js';
import { algorithmByOid } from '../signer/algorithms.js';
import { keyTypeOfSpki } from '../signer/public-key.js';

export interface CertificateDescription {
  serial: string;
  subject: string;
  subjectFields: Record<string, string>;
  issuer: string;
  notBefore: string;
  notAfter: string;
  signatureAlgorithm: string;
  keyType: string;
  fingerprintSha256: string;
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: string[];
  extendedKeyUsage?: string[];
  subjectAltNames?: { dns?: string[]; uri?: string[] };
  crlDistributionPoints?: string[];
  freshestCrl?: string[];
  ocsp?: string[];
  caIssuers?: string[];
  ocspNoCheck?: boolean;
  agent: Omit<AgentExtensions, 'modelHash'> & { modelHash?: { algorithm: string; digest: string } };
  otherExtensions: { oid: string; critical: boolean }[];
}

const EKU_NAMES = new Map<string, string>(Object.entries(ExtKeyUsageOids).map(([n, o]): [string, string] => [o, n]));
const KU_NAMES = Object.entries(KeyUsageBits) as [string, number][];

/** Every [n] IA5String GeneralName below `value` (nested in SAN, DP or AIA structures). */
function uris(value: Buffer, tagWanted: number): string[] {
  const out: string[] = [];
  const walk = (start: number, end: number): void => {
    for (let at = start; at < end;) {
      const t = readTlv(value, at, 'GeneralNames');
      if (t.tag === tagWanted) out.push(content(value, t).toString('latin1'));
      else if (t.tag & 0x20) walk(t.contentStart, t.end);
      at = t.end;
    }
  };
  walk(0, value.length);
  return out;
}

export function describeParsed(c: ParsedCertificate, arc?: string): CertificateDescription {
  const subject = decodeName(c.subject);
  const d: CertificateDescription = {
    serial: c.serial,
    subject: subject.text,
    subjectFields: subject.spec as Record<string, string>,
    issuer: decodeName(c.issuer).text,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    signatureAlgorithm: algorithmByOid(c.signatureAlgorithmOid) ?? c.signatureAlgorithmOid,
    keyType: (() => {
      try {
        return keyTypeOfSpki(c.publicKeyInfo);
      } catch {
        return 'unsupported';
      }
    })(),
    fingerprintSha256: createHash('sha256').update(c.der).digest('hex'),
    agent: { parseErrors: [] },
    otherExtensions: [],
  };
  const readable = readableAgentExtensionOids(arc);
  const agentOids = new Set<string>(readable.flatMap((set) => Object.values(set)));
  for (const e of c.extensions) {
    try {
      switch (e.oid) {
        case Oids.basicConstraints: {
          const parts = childrenOf(e.value, readWhole(e.value, Tag.SEQUENCE, 'basicConstraints'));
          const ca = parts[0]?.tag === Tag.BOOLEAN && e.value[parts[0].contentStart] === 0xff;
          const pl = parts.find((p) => p.tag === Tag.INTEGER);
          d.basicConstraints = {
            ca,
            ...(pl ? { pathLen: content(e.value, pl).readUIntBE(0, pl.end - pl.contentStart) } : {}),
          };
          break;
        }
        case Oids.keyUsage: {
          const bits = content(e.value, readWhole(e.value, Tag.BIT_STRING, 'keyUsage')).subarray(1);
          d.keyUsage = KU_NAMES.filter(([, b]) => ((bits[Math.floor(b / 8)] ?? 0) & (0x80 >> (b % 8))) !== 0).map(
            ([n]) => n,
          );
          break;
        }
        case Oids.extKeyUsage:
          d.extendedKeyUsage = childrenOf(e.value, readWhole(e.value, Tag.SEQUENCE, 'extKeyUsage')).map((t) => {
            const o = decodeOid(content(e.value, t));
            return EKU_NAMES.get(o) ?? o;
          });
          break;
        case Oids.subjectAltName:
          d.subjectAltNames = { dns: uris(e.value, 0x82), uri: uris(e.value, 0x86) };
          break;
        case Oids.crlDistributionPoints:
          d.crlDistributionPoints = uris(e.value, 0x86);
          break;
        case Oids.freshestCrl:
          d.freshestCrl = uris(e.value, 0x86);
          break;
        case Oids.authorityInfoAccess: {
          for (const ad of childrenOf(e.value, readWhole(e.value, Tag.SEQUENCE, 'authorityInfoAccess'))) {
            const [m, loc] = childrenOf(e.value, ad);
            const method = decodeOid(content(e.value, m!));
            const uri = loc && loc.tag === 0x86 ? content(e.value, loc).toString('latin1') : undefined;
            if (!uri) continue;
            if (method === Oids.ocspAccess) (d.ocsp ??= []).push(uri);
            if (method === Oids.caIssuersAccess) (d.caIssuers ??= []).push(uri);
          }
          break;
        }
        case Oids.ocspNoCheck:
          d.ocspNoCheck = true;
          break;
        case Oids.subjectKeyIdentifier:
        case Oids.authorityKeyIdentifier:
          break;
        default:
          if (!agentOids.has(e.oid)) d.otherExtensions.push({ oid: e.oid, critical: e.critical });
      }
    } catch {
      d.otherExtensions.push({ oid: e.oid, critical: e.critical });
    }
  }
  const agent = decodeAgentExtensions(c.extensions, readable);
  const { modelHash, ...rest } = agent;
  d.agent = {
    ...rest,
    ...(modelHash
      ? { modelHash: { algorithm: modelHash.algorithm, digest: Buffer.from(modelHash.digest).toString('hex') } }
      : {}),
  };
  return d;
}

export function describeCertificate(der: Uint8Array, arc?: string): CertificateDescription {
  return describeParsed(parseCertificate(der), arc);
}
