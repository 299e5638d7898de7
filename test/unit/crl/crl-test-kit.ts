/**
 * Test kit for the CRL tests: key pairs that sign like a CA Signer, and a strict structural
 * CRL parser built on the DER reader (independent of the builder's own encoder).
 */
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import {
  childrenOf,
  content,
  decodeOid,
  decodeTime,
  expectTag,
  readWhole,
  slice,
  type Tlv,
} from '../../../src/asn1/der-reader.js';
import { encodeName } from '../../../src/asn1/name.js';
import { parseExtensions, type RawExtension } from '../../../src/asn1/certificate-parse.js';
import type { CrlIssuer } from '../../../src/crl/crl-builder.js';
import type { SignatureAlgorithm } from '../../../src/types.js';

export interface TestKey {
  issuer: CrlIssuer;
  publicKey: KeyObject;
  /** Count of sign() calls. */
  signs: () => number;
}

export function testIssuer(kind: 'ed25519' | 'p256' | 'rsa' = 'ed25519', commonName = 'Test CRL Issuer'): TestKey {
  const pair =
    kind === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : kind === 'p256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const algorithm: SignatureAlgorithm =
    kind === 'ed25519' ? 'Ed25519' : kind === 'p256' ? 'ecdsaWithSHA256' : 'sha256WithRSAEncryption';
  let n = 0;
  return {
    issuer: {
      nameDer: encodeName({ organization: 'Agent CA Test', commonName }).der,
      keyId: Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex'),
      signer: {
        algorithm,
        sign: async (data) => {
          n++;
          return cryptoSign(kind === 'ed25519' ? null : 'sha256', data, pair.privateKey);
        },
      },
    },
    publicKey: pair.publicKey,
    signs: () => n,
  };
}

export interface ParsedEntry {
  serialHex: string;
  /** The INTEGER content bytes as written (with any 00 pad). */
  serialContent: Buffer;
  revocationDate: Date;
  revocationDateTag: number;
  extensions: RawExtension[];
}

export interface ParsedCrl {
  tbs: Buffer;
  /** Tags of the TBSCertList children in order. */
  tbsTags: number[];
  version: number;
  signatureAlgorithm: Buffer;
  outerAlgorithm: Buffer;
  issuer: Buffer;
  thisUpdate: Date;
  thisUpdateTag: number;
  nextUpdate: Date;
  nextUpdateTag: number;
  /** undefined when revokedCertificates is absent. */
  entries: ParsedEntry[] | undefined;
  /** Raw revokedCertificates TLV content, when present. */
  entriesContent: Buffer | undefined;
  extensions: RawExtension[];
  signature: Buffer;
}

export function parseCrl(der: Buffer): ParsedCrl {
  const top = childrenOf(der, readWhole(der, 0x30, 'CertificateList'), 'CertificateList');
  if (top.length !== 3) throw new Error('CertificateList must have 3 children');
  const tbsTlv = expectTag(top[0], 0x30, 'tbsCertList');
  const f = childrenOf(der, tbsTlv, 'tbsCertList');
  let i = 0;
  const version = content(der, expectTag(f[i++], 0x02, 'version'))[0]!;
  const signatureAlgorithm = slice(der, expectTag(f[i++], 0x30, 'signature'));
  const issuer = slice(der, expectTag(f[i++], 0x30, 'issuer'));
  const thisTlv = f[i++]!;
  const nextTlv = f[i++]!;
  let entries: ParsedEntry[] | undefined;
  let entriesContent: Buffer | undefined;
  if (f[i]?.tag === 0x30) {
    const list = f[i++]!;
    entriesContent = content(der, list);
    entries = childrenOf(der, list, 'revokedCertificates').map((e) => parseEntry(der, e));
  }
  let extensions: RawExtension[] = [];
  if (f[i]?.tag === 0xa0) {
    const seq = childrenOf(der, f[i]!, 'crlExtensions')[0];
    extensions = parseExtensions(der, expectTag(seq, 0x30, 'crlExtensions'), 'crlExtensions');
    i++;
  }
  if (i !== f.length) throw new Error('unexpected fields after crlExtensions');
  const bits = content(der, expectTag(top[2], 0x03, 'signatureValue'));
  return {
    tbs: slice(der, tbsTlv),
    tbsTags: f.map((t) => t.tag),
    version,
    signatureAlgorithm,
    outerAlgorithm: slice(der, top[1]!),
    issuer,
    thisUpdate: decodeTime(der, thisTlv),
    thisUpdateTag: thisTlv.tag,
    nextUpdate: decodeTime(der, nextTlv),
    nextUpdateTag: nextTlv.tag,
    entries,
    entriesContent,
    extensions,
    signature: bits.subarray(1),
  };
}

function parseEntry(der: Buffer, e: Tlv): ParsedEntry {
  const parts = childrenOf(der, expectTag(e, 0x30, 'entry'), 'entry');
  const serialContent = content(der, expectTag(parts[0], 0x02, 'userCertificate'));
  const extensions = parts[2]
    ? parseExtensions(der, expectTag(parts[2], 0x30, 'crlEntryExtensions'), 'crlEntryExtensions')
    : [];
  if (parts.length > 3) throw new Error('entry has too many fields');
  const stripped = serialContent[0] === 0 && serialContent.length > 1 ? serialContent.subarray(1) : serialContent;
  return {
    serialHex: Buffer.from(stripped).toString('hex'),
    serialContent: Buffer.from(serialContent),
    revocationDate: decodeTime(der, parts[1]!),
    revocationDateTag: parts[1]!.tag,
    extensions,
  };
}

export function ext(exts: RawExtension[], oid: string): RawExtension | undefined {
  return exts.find((e) => e.oid === oid);
}

/** reasonCode of an entry (ENUMERATED), or undefined when the extension is absent. */
export function entryReason(e: ParsedEntry): number | undefined {
  const r = ext(e.extensions, '2.5.29.21');
  if (!r) return undefined;
  const t = readWhole(r.value, 0x0a, 'reasonCode');
  return content(r.value, t)[0];
}

export function entryInvalidity(e: ParsedEntry): { date: Date; tag: number } | undefined {
  const r = ext(e.extensions, '2.5.29.24');
  if (!r) return undefined;
  const t = readWhole(r.value, r.value[0]!, 'invalidityDate');
  return { date: decodeTime(r.value, t), tag: t.tag };
}

/** INTEGER value of an extension (CRLNumber, DeltaCRLIndicator). */
export function extInteger(e: RawExtension): bigint {
  const t = readWhole(e.value, 0x02, 'INTEGER');
  return BigInt(`0x${content(e.value, t).toString('hex')}`);
}

export function oidOf(algorithmIdentifier: Buffer): string {
  const parts = childrenOf(algorithmIdentifier, readWhole(algorithmIdentifier, 0x30, 'AlgorithmIdentifier'));
  return decodeOid(content(algorithmIdentifier, parts[0]!));
}

export function verifySignature(p: ParsedCrl, key: TestKey): boolean {
  const digest = key.issuer.signer.algorithm === 'Ed25519' ? null : 'sha256';
  return cryptoVerify(digest, p.tbs, key.publicKey, p.signature);
}
