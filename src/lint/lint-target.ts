/**
 * What the lints read: the exact TBS bytes that will be signed, parsed back with the strict DER
 * reader, as Boulder lints a certificate re-parsed from its bytes rather than a model kept beside
 * the encoder (docs/oids-and-lints.md). Only what the bytes cannot say comes from the request:
 * the profile, the issuer's notAfter and the agent id the CN must equal.
 */
import type { DerNode } from '../asn1/decode.js';
import { lintOid, lintOidsIn } from './oid-reading.js';
import { readDerTree } from '../asn1/der-tree.js';
import { decodeTime, readTlv } from '../asn1/der-reader.js';
import { decodeName, type NameSpec } from '../asn1/name.js';
import { AgentOids, Oids } from '../asn1/oids.js';
import { Asn1DecodeError } from '../errors.js';
import type { Profile } from '../profile/profile.js';
import type { TbsCertificate, TbsFacts } from '../profile/tbs.js';
import { algorithmByOid } from '../signer/algorithms.js';
import { keyTypeOfSpki } from '../signer/public-key.js';
import { readExtensionValue, type ExtensionReading, type MutableFacts } from './extension-reading.js';
import type { KeyType, SignatureAlgorithm } from '../types.js';

/** What the request meant; everything else is read from the bytes. */
export interface LintIntent {
  readonly profile: Profile;
  /** The issuing CA's notAfter (a root has none above it). */
  readonly issuerNotAfter?: Date;
  /** The agent id that the subject CN must equal. */
  readonly agentId?: string;
}

export interface LintExtension {
  readonly oid: string;
  /** Our name for the OID (`basicConstraints`, `agentScope`), else the dotted OID. */
  readonly name: string;
  readonly critical: boolean;
  readonly value: Buffer;
}

/** TbsFacts as decoded from the extension values (absent extension = empty / false); EKUs we do not name stay dotted OIDs. */
export type DecodedFacts = Omit<TbsFacts, 'extKeyUsage'> & { readonly extKeyUsage: readonly string[] };

export interface LintTarget {
  /** The TBS bytes exactly as they will be signed. */
  readonly der: Buffer;
  readonly profile: Profile;
  readonly issuerNotAfter?: Date;
  readonly version: number;
  /** Serial magnitude (sign octet dropped) and the field's whole TLV as written. */
  readonly serial: Buffer;
  readonly serialDer: Buffer;
  readonly signatureAlgorithmOid: string;
  /** Undefined when the OID is not one we sign with. */
  readonly signatureAlgorithm?: SignatureAlgorithm;
  readonly signatureAlgorithmDer: Buffer;
  readonly issuer: { readonly der: Buffer };
  readonly selfSigned: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly validityDer: Buffer;
  readonly subject: { readonly der: Buffer };
  readonly subjectSpec: NameSpec;
  readonly publicKeyInfo: Buffer;
  /** Undefined when the key is not one we support. */
  readonly keyType?: KeyType;
  readonly extensions: readonly LintExtension[];
  readonly facts: DecodedFacts;
  /** Every OBJECT IDENTIFIER in the TBS, extension values included. */
  readonly oids: readonly string[];
  /** Parts that are not DER or not the syntax their OID says (extension values, names, keys). */
  readonly malformed: readonly string[];
}

const NAMES = new Map<string, string>(
  [...Object.entries(Oids), ...Object.entries(AgentOids)].map(([n, o]): [string, string] => [o, n]),
);

export function intentOf(tbs: TbsCertificate): LintIntent {
  return {
    profile: tbs.profile,
    ...(tbs.issuerNotAfter ? { issuerNotAfter: tbs.issuerNotAfter } : {}),
    ...(tbs.facts.agentId !== undefined ? { agentId: tbs.facts.agentId } : {}),
  };
}

function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

function readExtensions(node: DerNode | undefined, malformed: string[]): LintExtension[] {
  if (!node) return [];
  if (node.tagClass !== 'context' || node.tagNumber !== 3 || node.children.length !== 1)
    throw new Asn1DecodeError('tbsCertificate', 'expected extensions [3] EXPLICIT');
  return node.children[0]!.children.map((ext, i) => {
    const [id, second, third] = ext.children;
    const oid = lintOid(id!, `extension ${i} extnID`);
    const hasCritical = second?.tagClass === 'universal' && second.tagNumber === 1;
    const critical = hasCritical && second.content[0] === 0xff;
    // X.690 §11.5: critical DEFAULT FALSE is omitted, and a BOOLEAN is 00 or FF.
    if (hasCritical && (second.content.length !== 1 || second.content[0] !== 0xff))
      malformed.push(`extension ${NAMES.get(oid) ?? oid}: critical must be absent or TRUE (FF) in DER`);
    const octets = hasCritical ? third : second;
    if (
      !octets ||
      octets.tagClass !== 'universal' ||
      octets.tagNumber !== 4 ||
      ext.children.length !== (hasCritical ? 3 : 2)
    )
      throw new Asn1DecodeError('Extension', `${oid}: expected extnID, critical, extnValue OCTET STRING`);
    return { oid, name: NAMES.get(oid) ?? oid, critical, value: buf(octets.content) };
  });
}

function decodeFacts(readings: readonly ExtensionReading[], intent: LintIntent, malformed: string[]): DecodedFacts {
  const f: MutableFacts = {
    ca: false,
    keyUsage: [],
    extKeyUsage: [],
    subjectAltNames: [],
    crlDistributionPoints: [],
    freshestCrl: [],
    ocspUrls: [],
    caIssuersUrls: [],
    ocspNoCheck: false,
    ...(intent.agentId !== undefined ? { agentId: intent.agentId } : {}),
  };
  for (const r of readings) {
    r.apply?.(f);
    if (r.malformed !== undefined) malformed.push(r.malformed);
  }
  return f;
}

function time(n: DerNode, what: string): Date {
  return decodeTime(n.der, readTlv(n.der, 0, what), what);
}

/** Parse the exact TBS bytes (RFC 5280 §4.1). Throws Asn1DecodeError only when the TBS structure itself is not DER. */
export function parseLintTarget(tbsDer: Buffer, intent: LintIntent): LintTarget {
  const root = readDerTree(tbsDer, 'tbsCertificate', { maxNodes: 20_000 });
  const f = root.children;
  if (root.tagClass !== 'universal' || root.tagNumber !== 16 || f.length < 7)
    throw new Asn1DecodeError('tbsCertificate', 'expected a SEQUENCE of at least 7 fields');
  const malformed: string[] = [];
  const versionNode = f[0]!.tagClass === 'context' && f[0]!.tagNumber === 0 ? f[0]! : undefined;
  const at = versionNode ? 1 : 0;
  const [serialNode, algNode, issuerNode, validityNode, subjectNode, spkiNode] = f.slice(at, at + 6);
  const version = versionNode?.children[0]?.content.length === 1 ? versionNode.children[0].content[0]! + 1 : 1;
  const serialBytes = buf(serialNode!.content);
  const algorithmOid = lintOid(algNode!.children[0] ?? algNode!, 'signature AlgorithmIdentifier');
  const validity = validityNode!.children;
  if (validity.length !== 2) throw new Asn1DecodeError('validity', 'expected notBefore and notAfter');
  let subjectSpec: NameSpec = {};
  try {
    subjectSpec = decodeName(subjectNode!.der).spec;
  } catch (e) {
    malformed.push(`subject: ${(e as Error).message}`);
  }
  let keyType: KeyType | undefined;
  try {
    keyType = keyTypeOfSpki(spkiNode!.der);
  } catch {
    keyType = undefined;
  }
  const extensions = readExtensions(
    f.slice(at + 6).find((n) => n.tagClass === 'context' && n.tagNumber === 3),
    malformed,
  );
  const readings = extensions.map((e) => readExtensionValue(e.oid, e.name, e.value));
  const oids = lintOidsIn(root, 'tbsCertificate');
  for (const r of readings) for (const oid of r.oids) oids.push(oid);
  const signatureAlgorithm = algorithmByOid(algorithmOid);
  return Object.freeze({
    der: tbsDer,
    profile: intent.profile,
    ...(intent.issuerNotAfter ? { issuerNotAfter: intent.issuerNotAfter } : {}),
    version,
    serial: serialBytes[0] === 0 && serialBytes.length > 1 ? serialBytes.subarray(1) : serialBytes,
    serialDer: buf(serialNode!.der),
    signatureAlgorithmOid: algorithmOid,
    ...(signatureAlgorithm ? { signatureAlgorithm } : {}),
    signatureAlgorithmDer: buf(algNode!.der),
    issuer: { der: buf(issuerNode!.der) },
    selfSigned: buf(issuerNode!.der).equals(buf(subjectNode!.der)),
    notBefore: time(validity[0]!, 'notBefore'),
    notAfter: time(validity[1]!, 'notAfter'),
    validityDer: buf(validityNode!.der),
    subject: { der: buf(subjectNode!.der) },
    subjectSpec,
    publicKeyInfo: buf(spkiNode!.der),
    ...(keyType ? { keyType } : {}),
    extensions: Object.freeze(extensions),
    facts: Object.freeze(decodeFacts(readings, intent, malformed)),
    oids: Object.freeze(oids),
    malformed: Object.freeze(malformed),
  });
}
