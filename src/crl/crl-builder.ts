/**
 * X.509 v2 CRL builder (RFC 5280 §5): full and delta CRLs, one pass over the entries.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
 *                              revokedCertificates SEQUENCE OF ... OPTIONAL, [0] crlExtensions }
 *
 * Entries are streamed into chunks (entry-writer.ts) and the TBS is assembled once, directly
 * into the buffer that becomes the CertificateList, with room reserved in front for the outer
 * header and behind for the signature: the entries are copied exactly once, and the signer
 * signs the TBS in place (one signature over the whole TBS, whatever the entry count).
 */
import { explicit, extension, contextPrimitive, implicit, integer, sequence, x509Time } from '../asn1/der.js';
import { readWhole } from '../asn1/der-reader.js';
import { Oids } from '../asn1/oids.js';
import { authorityKeyIdentifierValue, distributionPointsValue, generalName } from '../asn1/x509-extensions.js';
import { AgentCaError } from '../errors.js';
import { algorithmInfo } from '../signer/algorithms.js';
import type { Signer } from '../signer/signer.js';
import { CrlEntryWriter, type CrlEntryInput } from './entry-writer.js';

export type { CrlEntryInput } from './entry-writer.js';

export interface CrlIssuer {
  /** The CA's subject Name: the exact DER bytes of its certificate's subject (RFC 5280 §5.1.2.3). */
  nameDer: Uint8Array;
  /** The CA's subject key identifier, written as the AKI keyIdentifier (RFC 5280 §5.2.1). */
  keyId: Uint8Array;
  signer: Pick<Signer, 'algorithm' | 'sign'>;
}

/** IssuingDistributionPoint (RFC 5280 §5.2.5); when a full CRL has one, its deltas need the same. */
export interface IssuingDistributionPointSpec {
  /** distributionPoint fullName URI: the URL this CRL is published at. */
  url?: string;
  onlyContainsUserCerts?: boolean;
  onlyContainsCACerts?: boolean;
}

export interface BuildCrlInput {
  issuer: CrlIssuer;
  /** CRLNumber (RFC 5280 §5.2.3): one monotonic sequence shared by full and delta CRLs. */
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Entries one by one, or (async) in batches: a batch per step keeps the per-entry await out. */
  entries: Iterable<CrlEntryInput> | AsyncIterable<CrlEntryInput> | AsyncIterable<readonly CrlEntryInput[]>;
  /** Makes this a delta CRL: critical DeltaCRLIndicator = the base CRL's number (§5.2.4). */
  delta?: { baseNumber: bigint };
  /** Freshest CRL (§5.2.6): where the deltas of this full CRL are published. Full CRLs only. */
  freshestUrl?: string;
  idp?: IssuingDistributionPointSpec;
}

export interface BuiltCrl {
  der: Buffer;
  entryCount: number;
  /** Bytes of the TBSCertList (what was signed). */
  tbsLength: number;
}

/** Outer CertificateList header: tag + 0x84 + 4 length bytes covers anything below 4 GiB. */
const HEAD_ROOM = 6;
/** Signature room behind the TBS: BIT STRING header + RSA-8192 (ECDSA/Ed25519 are far smaller). */
const SIG_ROOM = 6 + 1024;
/** CRLNumber "MUST NOT use CRLNumber values longer than 20 octets" (§5.2.3): a positive 20-octet INTEGER. */
const MAX_CRL_NUMBER = (1n << 159n) - 1n;

export async function buildCrl(input: BuildCrlInput): Promise<Buffer> {
  return (await buildCrlDetailed(input)).der;
}

export async function buildCrlDetailed(input: BuildCrlInput): Promise<BuiltCrl> {
  validate(input);
  const { issuer } = input;
  const alg = algorithmInfo(issuer.signer.algorithm).identifier;
  // Encode the fixed fields first so bad input fails before any entry is read.
  const head = Buffer.concat([integer(1), alg, issuer.nameDer, x509Time(input.thisUpdate), x509Time(input.nextUpdate)]);
  const extensions = crlExtensions(input);

  const writer = new CrlEntryWriter(input.delta !== undefined);
  const entries = input.entries;
  if (typeof (entries as Iterable<CrlEntryInput>)[Symbol.iterator] === 'function') {
    for (const e of entries as Iterable<CrlEntryInput>) writer.add(e);
  } else {
    for await (const e of entries as AsyncIterable<CrlEntryInput | readonly CrlEntryInput[]>) {
      if (Array.isArray(e)) for (const x of e as readonly CrlEntryInput[]) writer.add(x);
      else writer.add(e as CrlEntryInput);
    }
  }

  // §5.1.2.6: "When there are no revoked certificates, the revoked certificates list MUST be
  // absent" (not an empty SEQUENCE).
  const revokedHeader = writer.count > 0 ? header(0x30, writer.byteLength) : Buffer.alloc(0);
  const tbsContent = head.length + revokedHeader.length + writer.byteLength + extensions.length;
  const tbsHeader = header(0x30, tbsContent);
  const tbsLength = tbsHeader.length + tbsContent;

  const out = Buffer.allocUnsafe(HEAD_ROOM + tbsLength + alg.length + SIG_ROOM);
  let o = HEAD_ROOM;
  o += tbsHeader.copy(out, o);
  o += head.copy(out, o);
  o += revokedHeader.copy(out, o);
  o = writer.copyTo(out, o);
  writer.release();
  o += extensions.copy(out, o);
  const tbs = out.subarray(HEAD_ROOM, o);

  const signature = await issuer.signer.sign(tbs);
  const sigHeader = header(0x03, signature.length + 1);
  const tail = alg.length + sigHeader.length + 1 + signature.length;
  if (tail > alg.length + SIG_ROOM) {
    // Larger than any algorithm we support; stay correct at the cost of one copy.
    const der = Buffer.concat([header(0x30, tbsLength + tail), tbs, alg, sigHeader, Buffer.from([0]), signature]);
    return { der, entryCount: writer.count, tbsLength };
  }
  o += alg.copy(out, o);
  o += sigHeader.copy(out, o);
  out[o++] = 0; // no unused bits
  o += signature.copy(out, o);
  const outer = header(0x30, tbsLength + tail);
  outer.copy(out, HEAD_ROOM - outer.length);
  return { der: out.subarray(HEAD_ROOM - outer.length, o), entryCount: writer.count, tbsLength };
}

/** tag || DER length (X.690 §8.1.3), for content written separately. */
function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

function crlExtensions(input: BuildCrlInput): Buffer {
  const exts: Buffer[] = [
    // §5.2.1: AKI MUST be included; keyIdentifier is the CA's SKI.
    extension(Oids.authorityKeyIdentifier, false, authorityKeyIdentifierValue(input.issuer.keyId)),
    // §5.2.3: CRLNumber MUST be included, non-critical.
    extension(Oids.crlNumber, false, integer(input.number)),
  ];
  // §5.2.4: DeltaCRLIndicator is critical and carries the base CRL's number.
  if (input.delta) exts.push(extension(Oids.deltaCrlIndicator, true, integer(input.delta.baseNumber)));
  // §5.2.5: IssuingDistributionPoint is critical.
  if (input.idp) exts.push(extension(Oids.issuingDistributionPoint, true, issuingDistributionPointValue(input.idp)));
  // §5.2.6: Freshest CRL, non-critical, in complete CRLs only.
  if (input.freshestUrl !== undefined)
    exts.push(extension(Oids.freshestCrl, false, distributionPointsValue([input.freshestUrl])));
  return explicit(0, sequence(...exts));
}

/**
 * IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
 *   onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE, onlyContainsCACerts [2] BOOLEAN DEFAULT FALSE, ... }
 * (implicitly tagged module; DistributionPointName is a CHOICE, so its [0] is explicit).
 */
export function issuingDistributionPointValue(idp: IssuingDistributionPointSpec): Buffer {
  const TRUE = Buffer.from([0xff]);
  return sequence(
    idp.url !== undefined ? explicit(0, implicit(0, sequence(generalName({ uri: idp.url })))) : undefined,
    idp.onlyContainsUserCerts ? contextPrimitive(1, TRUE) : undefined,
    idp.onlyContainsCACerts ? contextPrimitive(2, TRUE) : undefined,
  );
}

function validate(input: BuildCrlInput): void {
  const bad = (msg: string): never => {
    throw new AgentCaError('INPUT_INVALID', msg);
  };
  const n = input.number;
  if (typeof n !== 'bigint' || n < 0n || n > MAX_CRL_NUMBER)
    bad('CRL number must be a bigint in 0..2^159-1 (RFC 5280 §5.2.3)');
  for (const [name, d] of [
    ['thisUpdate', input.thisUpdate],
    ['nextUpdate', input.nextUpdate],
  ] as const) {
    if (!(d instanceof Date) || Number.isNaN(d.getTime())) bad(`CRL ${name}: invalid date`);
  }
  if (input.nextUpdate.getTime() <= input.thisUpdate.getTime())
    bad('CRL nextUpdate must be after thisUpdate (RFC 5280 §5.1.2.5)');
  if (input.delta) {
    const b = input.delta.baseNumber;
    if (typeof b !== 'bigint' || b < 0n || b >= n)
      bad("delta CRL base number must be below the delta's own CRL number (RFC 5280 §5.2.4)");
    if (input.freshestUrl !== undefined) bad('Freshest CRL must not appear in a delta CRL (RFC 5280 §5.2.6)');
  }
  if (input.idp) {
    const { url, onlyContainsUserCerts: u, onlyContainsCACerts: c } = input.idp;
    if (u && c)
      bad('IssuingDistributionPoint: at most one of onlyContainsUserCerts / onlyContainsCACerts (RFC 5280 §5.2.5)');
    if (url === undefined && !u && !c) bad('IssuingDistributionPoint must not be an empty SEQUENCE (RFC 5280 §5.2.5)');
  }
  try {
    readWhole(input.issuer.nameDer, 0x30, 'CRL issuer Name');
  } catch (e) {
    throw new AgentCaError('INPUT_INVALID', `CRL issuer must be a DER Name: ${(e as Error).message}`);
  }
  if (!(input.issuer.keyId instanceof Uint8Array) || input.issuer.keyId.length === 0)
    bad('CRL issuer keyId must not be empty (RFC 5280 §5.2.1)');
}
