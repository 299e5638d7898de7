/**
 * What the lints learn from one extnValue: the fact it states (basicConstraints, key usages,
 * names, URLs), why it is not the DER of the syntax its OID names, and the OBJECT IDENTIFIERs
 * inside it. All of that is a function of the extension's OID and value bytes alone, so it is
 * remembered by those exact bytes: the extensions a profile and its issuing CA fix (key usage,
 * CRL and OCSP pointers, AKI, and agent extensions that many certificates share) are decoded
 * once, not once per certificate. A value seen for the first time, or any byte of it changed,
 * is decoded afresh; the bytes linted are still exactly the bytes signed (docs/throughput.md).
 */
import { readDerTree } from '../asn1/der-tree.js';
import { Oids } from '../asn1/oids.js';
import {
  decodeAuthorityInfoAccess,
  decodeBasicConstraints,
  decodeDistributionPoints,
  decodeExtKeyUsage,
  decodeGeneralNames,
  decodeKeyUsage,
  decodeOcspNoCheck,
} from '../asn1/x509-extension-decode.js';
import type { DecodedFacts } from './lint-target.js';
import { lintOidsIn } from './oid-reading.js';

export type MutableFacts = { -readonly [K in keyof DecodedFacts]: DecodedFacts[K] };

/** What one extension value says, as the lints read it. */
export interface ExtensionReading {
  /** Writes the decoded fact onto the facts being assembled (later duplicates win, as before). */
  readonly apply?: (f: MutableFacts) => void;
  /** The value is not the DER of its syntax: e_der_encoding reports this. */
  readonly malformed?: string;
  /** OBJECT IDENTIFIERs inside the value, in order (none when it is not DER). */
  readonly oids: readonly string[];
}

/** Enough for every fixed extension of every profile and CA, and for shared agent extensions. */
const MEMO_LIMIT = 2048;
const memo = new Map<string, ExtensionReading>();

/** The reading of the extension (`oid`, named `name`) whose extnValue contents are `value`. */
export function readExtensionValue(oid: string, name: string, value: Buffer): ExtensionReading {
  const key = `${oid} ${value.toString('latin1')}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const reading = decodeExtensionValue(oid, name, value);
  // Unique values (SKI, SAN) would otherwise grow the map without end; start over when full.
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, reading);
  return reading;
}

function decodeExtensionValue(oid: string, name: string, value: Buffer): ExtensionReading {
  const oids: string[] = [];
  try {
    lintOidsIn(readDerTree(value, name), name, oids);
  } catch {
    // not DER: the decode below reports it
  }
  Object.freeze(oids);
  try {
    const apply = factOf(oid, value, name);
    return Object.freeze(apply ? { apply, oids } : { oids });
  } catch (err) {
    return Object.freeze({ malformed: `extension ${name}: ${(err as Error).message}`, oids });
  }
}

function frozen<T>(list: T[]): readonly T[] {
  for (const x of list) if (x !== null && typeof x === 'object') Object.freeze(x);
  return Object.freeze(list);
}

/** Decodes the value per its OID; throws when it is not that syntax in DER. */
function factOf(oid: string, value: Buffer, name: string): ((f: MutableFacts) => void) | undefined {
  switch (oid) {
    case Oids.basicConstraints: {
      const { ca, pathLen } = decodeBasicConstraints(value);
      return (f) => {
        f.ca = ca;
        if (pathLen !== undefined) f.pathLen = pathLen;
      };
    }
    case Oids.keyUsage: {
      const keyUsage = frozen(decodeKeyUsage(value));
      return (f) => void (f.keyUsage = keyUsage);
    }
    case Oids.extKeyUsage: {
      const extKeyUsage = frozen(decodeExtKeyUsage(value));
      return (f) => void (f.extKeyUsage = extKeyUsage);
    }
    case Oids.subjectAltName: {
      const names = frozen(decodeGeneralNames(value));
      return (f) => void (f.subjectAltNames = names);
    }
    case Oids.crlDistributionPoints: {
      const urls = frozen(decodeDistributionPoints(value));
      return (f) => void (f.crlDistributionPoints = urls);
    }
    case Oids.freshestCrl: {
      const urls = frozen(decodeDistributionPoints(value, 'freshestCRL'));
      return (f) => void (f.freshestCrl = urls);
    }
    case Oids.authorityInfoAccess: {
      const aia = decodeAuthorityInfoAccess(value);
      const ocsp = frozen(aia.ocsp);
      const caIssuers = frozen(aia.caIssuers);
      return (f) => {
        f.ocspUrls = ocsp;
        f.caIssuersUrls = caIssuers;
      };
    }
    case Oids.ocspNoCheck:
      decodeOcspNoCheck(value);
      return (f) => void (f.ocspNoCheck = true);
    default:
      // RFC 5280 §4.1: extnValue is the DER of the extension's syntax, whatever it is.
      readDerTree(value, name);
      return undefined;
  }
}
