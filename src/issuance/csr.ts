/**
 * PKCS#10 certification requests (RFC 2986). The request's self-signature proves possession of
 * the private key (RFC 2986 §3) and is checked before anything else is read from it.
 */
import { childrenOf, content, decodeOid, expectTag, readWhole, slice } from '../asn1/der-reader.js';
import { Tag } from '../asn1/der.js';
import { pemOrDer } from '../asn1/pem.js';
import { AgentCaError, isAgentCaError } from '../errors.js';
import { algorithmByOid } from '../signer/algorithms.js';
import { publicKeyFromSpki } from '../signer/public-key.js';
import { verifySignature } from '../signer/verify.js';

export interface ParsedCsr {
  subject: Buffer;
  publicKeyInfo: Buffer;
}

export function parseAndVerifyCsr(input: Uint8Array | string): ParsedCsr {
  let der: Buffer;
  let info: Buffer;
  let spki: Buffer;
  let subject: Buffer;
  let algOid: string;
  let signature: Buffer;
  try {
    der = pemOrDer(input, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
    const top = childrenOf(der, readWhole(der, Tag.SEQUENCE, 'CSR'), 'CSR');
    const infoTlv = expectTag(top[0], Tag.SEQUENCE, 'certificationRequestInfo');
    info = slice(der, infoTlv);
    const f = childrenOf(der, infoTlv, 'certificationRequestInfo');
    if (content(der, expectTag(f[0], Tag.INTEGER, 'version'))[0] !== 0)
      throw new AgentCaError('INPUT_CSR_INVALID', 'CSR version must be v1 (0)');
    subject = slice(der, expectTag(f[1], Tag.SEQUENCE, 'subject'));
    spki = slice(der, expectTag(f[2], Tag.SEQUENCE, 'subjectPKInfo'));
    const alg = childrenOf(der, expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm'), 'signatureAlgorithm');
    algOid = decodeOid(content(der, expectTag(alg[0], Tag.OID, 'signatureAlgorithm')));
    signature = content(der, expectTag(top[2], Tag.BIT_STRING, 'signature')).subarray(1);
  } catch (e) {
    if (isAgentCaError(e) && e.is('INPUT_CSR_INVALID')) throw e;
    throw new AgentCaError('INPUT_CSR_INVALID', `not a PKCS#10 request: ${(e as Error).message}`);
  }
  const alg = algorithmByOid(algOid);
  if (!alg)
    throw new AgentCaError(
      'INPUT_CSR_SIGNATURE',
      `CSR signed with unsupported algorithm ${algOid} (supported: sha256/384/512WithRSAEncryption, ecdsa-with-SHA256/384, Ed25519)`,
    );
  publicKeyFromSpki(spki); // an unusable key is INPUT_PUBLIC_KEY_INVALID, not a bad signature
  if (!verifySignature(alg, info, spki, signature))
    throw new AgentCaError(
      'INPUT_CSR_SIGNATURE',
      'CSR self-signature does not verify: no proof of possession of the private key',
    );
  return { subject, publicKeyInfo: spki };
}
