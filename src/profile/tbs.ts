/**
 * The to-be-signed certificate as the builder holds it: the facts it was built from, beside the
 * exact DER pieces. `encodeTbs` only concatenates the DER pieces; the lints never read this
 * model: they parse what `encodeTbs` produced (src/lint/lint-target.ts), and those bytes are the
 * ones that get signed.
 */
import { explicit, integer, sequence } from '../asn1/der.js';
import type { EncodedName, NameSpec } from '../asn1/name.js';
import type { ExtKeyUsageName, GeneralName, KeyUsageName } from '../asn1/x509-extensions.js';
import { algorithmInfo } from '../signer/algorithms.js';
import type { KeyType, SignatureAlgorithm } from '../types.js';
import type { Profile } from './profile.js';

export interface ExtensionEntry {
  readonly oid: string;
  readonly name: string;
  readonly critical: boolean;
  /** extnValue contents (the DER inside the OCTET STRING). */
  readonly value: Buffer;
  /** The full Extension SEQUENCE, as it is written. */
  readonly der: Buffer;
}

export interface TbsFacts {
  readonly ca: boolean;
  readonly pathLen?: number;
  readonly keyUsage: readonly KeyUsageName[];
  readonly extKeyUsage: readonly ExtKeyUsageName[];
  readonly subjectAltNames: readonly GeneralName[];
  readonly crlDistributionPoints: readonly string[];
  readonly freshestCrl: readonly string[];
  readonly ocspUrls: readonly string[];
  readonly caIssuersUrls: readonly string[];
  readonly ocspNoCheck: boolean;
  readonly agentId?: string;
}

export interface TbsCertificate {
  readonly profile: Profile;
  /** Serial magnitude (big-endian, no sign byte) and its DER INTEGER. */
  readonly serial: Buffer;
  readonly serialDer: Buffer;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly issuer: EncodedName;
  readonly issuerKeyId?: Buffer;
  readonly issuerNotAfter?: Date;
  readonly selfSigned: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Validity SEQUENCE DER (RFC 5280 §4.1.2.5 time choice already made). */
  readonly validityDer: Buffer;
  readonly subject: EncodedName;
  readonly subjectSpec: NameSpec;
  readonly publicKeyInfo: Buffer;
  readonly keyType: KeyType;
  readonly extensions: readonly ExtensionEntry[];
  readonly facts: TbsFacts;
}

/** X.509 v3 (RFC 5280 §4.1.2.1): version [0] EXPLICIT INTEGER 2. */
const VERSION_V3 = explicit(0, integer(2));

export function encodeTbs(t: TbsCertificate): Buffer {
  return sequence(
    VERSION_V3,
    t.serialDer,
    algorithmInfo(t.signatureAlgorithm).identifier,
    t.issuer.der,
    t.validityDer,
    t.subject.der,
    t.publicKeyInfo,
    explicit(3, sequence(...t.extensions.map((e) => e.der))),
  );
}
