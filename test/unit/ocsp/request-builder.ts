/** Builds OCSPRequests byte by byte for the parser and responder tests (openssl builds them in test/integration). */
import {
  algorithmIdentifier,
  explicit,
  extension,
  integer,
  octetString,
  sequence,
  tlv,
  Tag,
} from '../../../src/asn1/der.js';
import { Oids } from '../../../src/asn1/oids.js';

export interface CertIdSpec {
  hashOid?: string;
  params?: 'null' | 'absent';
  nameHash?: Buffer;
  keyHash?: Buffer;
  /** INTEGER content bytes, exactly as written. */
  serialContent?: Buffer;
}

export function certIdDer(s: CertIdSpec = {}): Buffer {
  const hashOid = s.hashOid ?? Oids.sha1;
  const len = hashOid === Oids.sha1 ? 20 : hashOid === Oids.sha256 ? 32 : hashOid === Oids.sha384 ? 48 : 64;
  return sequence(
    algorithmIdentifier(hashOid, s.params ?? 'null'),
    octetString(s.nameHash ?? Buffer.alloc(len, 0x11)),
    octetString(s.keyHash ?? Buffer.alloc(len, 0x22)),
    tlv(Tag.INTEGER, s.serialContent ?? Buffer.from('0102030405', 'hex')),
  );
}

export function nonceExtension(nonce: Buffer, critical = false): Buffer {
  return extension(Oids.ocspNonce, critical, octetString(nonce));
}

export interface RequestSpec {
  certIds: Buffer[];
  /** Request extensions (Extension DERs) under [2]. */
  extensions?: Buffer[];
  /** Per-CertID singleRequestExtensions (Extension DERs) under [0]. */
  singleExtensions?: (Buffer[] | undefined)[];
  version?: number;
  requestorName?: boolean;
  signature?: boolean;
}

export function requestDer(spec: RequestSpec): Buffer {
  const requests = spec.certIds.map((c, i) => {
    const se = spec.singleExtensions?.[i];
    return sequence(c, se ? explicit(0, sequence(...se)) : undefined);
  });
  const tbs = sequence(
    spec.version !== undefined ? explicit(0, integer(spec.version)) : undefined,
    spec.requestorName ? explicit(1, tlv(0x82, Buffer.from('requester.example'))) : undefined,
    sequence(...requests),
    spec.extensions ? explicit(2, sequence(...spec.extensions)) : undefined,
  );
  const sig = spec.signature
    ? explicit(0, sequence(algorithmIdentifier(Oids.ecdsaWithSHA256), tlv(Tag.BIT_STRING, Buffer.from([0, 1, 2, 3]))))
    : undefined;
  return sequence(tbs, sig);
}

export const criticalUnknownExtension = (): Buffer => extension('1.2.3.4.5', true, octetString(Buffer.from([1])));
export const nonCriticalUnknownExtension = (): Buffer => extension('1.2.3.4.6', false, octetString(Buffer.from([1])));
