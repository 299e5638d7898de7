import { MAX_OID_COMPONENT, oversizedOidComponents } from '../asn1/oids.js';
import type { Lint } from './lint.js';

const TEN_DIGITS = /[0-9]{10}/;

/**
 * Every OID in the encoded TBS (algorithm identifiers, name attribute types, extnIDs and the OIDs
 * inside extension values) keeps each component at or below 2^31 - 1. X.660 sets no limit, but Go
 * encoding/asn1, Botan, rust-asn1 (pyca/cryptography) and libtasn1 (GnuTLS) refuse larger ones and
 * then cannot load the certificate at all (docs/oids-and-lints.md).
 */
export const eOidComponentRange: Lint = {
  name: 'e_oid_component_range',
  citation: 'X.660 §A.2 arcs; interoperability ceiling 2^31 - 1 (Go crypto/x509, GnuTLS, pyca/cryptography, Botan)',
  severity: 'error',
  check(t) {
    const out: string[] = [];
    for (const oid of new Set(t.oids)) {
      // 2^31 - 1 has ten digits: an OID with no run of ten digits has no component above it.
      if (!TEN_DIGITS.test(oid)) continue;
      const big = oversizedOidComponents(oid);
      if (big.length > 0) out.push(`OID ${oid} has component ${big[0]} above ${MAX_OID_COMPONENT}`);
    }
    return out;
  },
};
