/**
 * request + profile + issuing CA -> TbsCertificate. The extension set per profile kind follows
 * RFC 5280 §4.2 (CA certificates: basicConstraints critical, keyCertSign+cRLSign, SKI; all
 * non-self-signed: AKI, CRL DP, Freshest CRL, AIA) and RFC 6960 §4.2.2.2 for responders.
 */
import { extension, sequence } from '../asn1/der.js';
import type { EncodedName, NameSpec } from '../asn1/name.js';
import { Oids } from '../asn1/oids.js';
import {
  authorityInfoAccessValue,
  authorityKeyIdentifierValue,
  basicConstraintsValue,
  distributionPointsValue,
  extKeyUsageValue,
  keyUsageValue,
  OCSP_NOCHECK_VALUE,
  subjectAltNameValue,
  subjectKeyIdentifierValue,
  type GeneralName,
} from '../asn1/x509-extensions.js';
import { x509Time } from '../asn1/der.js';
import type { Clock } from '../clock.js';
import { keyIdentifier, keyTypeOfSpki } from '../signer/public-key.js';
import type { KeyType, SignatureAlgorithm } from '../types.js';
import type { issuerUrls } from './config.js';
import type { Profile } from './profile.js';
import { randomSerial } from './serial.js';
import type { ExtensionEntry, TbsCertificate, TbsFacts } from './tbs.js';

export const DAY_MS = 86_400_000;

/** What a certificate needs to know about the CA that signs it. */
export interface IssuingCa {
  readonly id: string;
  readonly subject: EncodedName;
  readonly keyId: Buffer;
  readonly notAfter: Date;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** URLs of this CA's CRLs, OCSP and certificate: written into what it issues. */
  readonly urls: ReturnType<typeof issuerUrls>;
}

export interface TbsRequest {
  readonly profile: Profile;
  readonly subject: NameSpec;
  readonly encodedSubject: EncodedName;
  readonly publicKeyInfo: Buffer;
  readonly subjectAltNames?: readonly GeneralName[];
  readonly validityDays?: number;
  /** Validity in seconds, for periods shorter than a day (`--validity 90m`); wins over validityDays. */
  readonly validitySeconds?: number;
  readonly agentId?: string;
  /** Our agent extensions, already encoded by their codecs. */
  readonly agentExtensions?: readonly ExtensionEntry[];
  /** Fixed serial (tests, vectors); otherwise 128 random bits. */
  readonly serial?: { magnitude: Buffer; der: Buffer };
  /** Already known from validating the SPKI (saves parsing it again). */
  readonly keyType?: KeyType;
}

interface FixedExtensions {
  head: readonly ExtensionEntry[];
  aki?: ExtensionEntry;
  tail: readonly ExtensionEntry[];
}

const fixedCache = new WeakMap<Profile, Map<string, FixedExtensions>>();

function fixedExtensions(profile: Profile, issuer: IssuingCa | undefined, facts: TbsFacts): FixedExtensions {
  const key = issuer ? `${issuer.keyId.toString('hex')}|${issuer.urls.crl}` : 'self';
  let perProfile = fixedCache.get(profile);
  if (!perProfile) fixedCache.set(profile, (perProfile = new Map<string, FixedExtensions>()));
  const hit = perProfile.get(key);
  if (hit) return hit;
  const head: ExtensionEntry[] = [
    extensionEntry('basicConstraints', Oids.basicConstraints, true, basicConstraintsValue(facts.ca, facts.pathLen)),
    extensionEntry('keyUsage', Oids.keyUsage, true, keyUsageValue(facts.keyUsage)),
  ];
  if (facts.extKeyUsage.length > 0)
    head.push(extensionEntry('extKeyUsage', Oids.extKeyUsage, false, extKeyUsageValue(facts.extKeyUsage)));
  const tail: ExtensionEntry[] = [];
  if (facts.crlDistributionPoints.length > 0)
    tail.push(
      extensionEntry(
        'crlDistributionPoints',
        Oids.crlDistributionPoints,
        false,
        distributionPointsValue(facts.crlDistributionPoints),
      ),
    );
  if (facts.freshestCrl.length > 0)
    tail.push(extensionEntry('freshestCRL', Oids.freshestCrl, false, distributionPointsValue(facts.freshestCrl)));
  if (facts.ocspUrls.length + facts.caIssuersUrls.length > 0) {
    tail.push(
      extensionEntry(
        'authorityInfoAccess',
        Oids.authorityInfoAccess,
        false,
        authorityInfoAccessValue({ ocsp: facts.ocspUrls, caIssuers: facts.caIssuersUrls }),
      ),
    );
  }
  if (facts.ocspNoCheck) tail.push(extensionEntry('ocspNoCheck', Oids.ocspNoCheck, false, OCSP_NOCHECK_VALUE));
  const out: FixedExtensions = {
    head: Object.freeze(head),
    ...(issuer
      ? {
          aki: extensionEntry(
            'authorityKeyIdentifier',
            Oids.authorityKeyIdentifier,
            false,
            authorityKeyIdentifierValue(issuer.keyId),
          ),
        }
      : {}),
    tail: Object.freeze(tail),
  };
  if (perProfile.size < 64) perProfile.set(key, out);
  return out;
}

export function extensionEntry(name: string, oid: string, critical: boolean, value: Buffer): ExtensionEntry {
  return Object.freeze({ oid, name, critical, value, der: extension(oid, critical, value) });
}

/**
 * Build the TBS. `issuer` is undefined for a self-signed root, whose own algorithm is then
 * `selfAlgorithm`.
 */
export function buildTbs(
  req: TbsRequest,
  issuer: IssuingCa | undefined,
  clock: Clock,
  selfAlgorithm?: SignatureAlgorithm,
): TbsCertificate {
  const { profile } = req;
  const now = clock.now().getTime();
  const notBefore = new Date(Math.floor((now - profile.backdateSeconds * 1000) / 1000) * 1000);
  const days = req.validityDays ?? profile.defaultValidityDays;
  // RFC 5280 §4.1.2.5: the validity period includes both notBefore and notAfter, so a period of
  // N days ends one second before notBefore + N days.
  const periodMs = req.validitySeconds !== undefined ? req.validitySeconds * 1000 : days * DAY_MS;
  const notAfter = new Date(notBefore.getTime() + periodMs - 1000);
  const ski = keyIdentifier(req.publicKeyInfo);
  const selfSigned = issuer === undefined;
  const ca = profile.kind === 'root' || profile.kind === 'intermediate';
  const urls = issuer?.urls;
  const withPointers = !selfSigned && profile.kind !== 'ocsp-responder';

  const facts: TbsFacts = {
    ca,
    ...(profile.pathLen !== undefined ? { pathLen: profile.pathLen } : {}),
    keyUsage: profile.keyUsage,
    extKeyUsage: profile.extKeyUsage,
    subjectAltNames: req.subjectAltNames ?? [],
    crlDistributionPoints: withPointers && urls ? [urls.crl] : [],
    freshestCrl: withPointers && urls ? [urls.deltaCrl] : [],
    ocspUrls: withPointers && urls ? [urls.ocsp] : [],
    caIssuersUrls: withPointers && urls ? [urls.caIssuers] : [],
    ocspNoCheck: profile.kind === 'ocsp-responder',
    ...(req.agentId !== undefined ? { agentId: req.agentId } : {}),
  };

  // The profile- and issuer-determined extensions are the same for every certificate: encode
  // them once per (profile, issuer) and reuse the frozen entries.
  const fixed = fixedExtensions(profile, issuer, facts);
  const ext: ExtensionEntry[] = [
    ...fixed.head,
    extensionEntry('subjectKeyIdentifier', Oids.subjectKeyIdentifier, false, subjectKeyIdentifierValue(ski)),
  ];
  ext.push(
    issuer
      ? fixed.aki!
      : extensionEntry('authorityKeyIdentifier', Oids.authorityKeyIdentifier, false, authorityKeyIdentifierValue(ski)),
  );
  if (facts.subjectAltNames.length > 0)
    ext.push(extensionEntry('subjectAltName', Oids.subjectAltName, false, subjectAltNameValue(facts.subjectAltNames)));
  ext.push(...fixed.tail);
  for (const e of req.agentExtensions ?? []) ext.push(e);

  const serial = req.serial ?? randomSerial();
  return Object.freeze({
    profile,
    serial: serial.magnitude,
    serialDer: serial.der,
    signatureAlgorithm: issuer ? issuer.signatureAlgorithm : selfAlgorithm!,
    issuer: issuer ? issuer.subject : req.encodedSubject,
    ...(issuer ? { issuerKeyId: issuer.keyId, issuerNotAfter: issuer.notAfter } : { issuerKeyId: ski }),
    selfSigned,
    notBefore,
    notAfter,
    validityDer: sequence(x509Time(notBefore), x509Time(notAfter)),
    subject: req.encodedSubject,
    subjectSpec: req.subject,
    publicKeyInfo: req.publicKeyInfo,
    keyType: req.keyType ?? keyTypeOfSpki(req.publicKeyInfo),
    extensions: Object.freeze(ext),
    facts: Object.freeze(facts),
  });
}
