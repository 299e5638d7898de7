/**
 * modelHash (<arc>.1.3): digest of the model the agent runs. asn1/AgentCA-Extensions.asn:
 *
 *   ModelHash ::= SEQUENCE { hashAlgorithm HashAlgorithmIdentifier, digest OCTET STRING }
 *
 * The digest length must match the algorithm (SHA-256 32, SHA-384 48, SHA-512 64 octets,
 * FIPS 180-4). RFC 5754 §2: SHA-2 AlgorithmIdentifier parameters are absent; implementations
 * MUST accept NULL too. We write absent and read either.
 */
import { AgentOids, Oids } from '../oids.js';
import { Asn1DecodeError } from '../../errors.js';
import { algorithmIdentifier, octetString, sequence } from '../der.js';
import { expectSequence, parseDer, readNull, readOctetString, readOid } from '../decode.js';
import { encodeError, type ExtensionCodec } from './codec.js';

export type ModelHashAlgorithm = 'sha256' | 'sha384' | 'sha512';

export interface ModelHash {
  algorithm: ModelHashAlgorithm;
  digest: Buffer;
}

export const MODEL_HASH_DIGEST_LENGTH: Readonly<Record<ModelHashAlgorithm, number>> = Object.freeze({
  sha256: 32,
  sha384: 48,
  sha512: 64,
});

const BY_OID: ReadonlyMap<string, ModelHashAlgorithm> = new Map([
  [Oids.sha256, 'sha256'],
  [Oids.sha384, 'sha384'],
  [Oids.sha512, 'sha512'],
]);

const WHAT = 'ModelHash';

export function encodeModelHash(value: ModelHash): Buffer {
  if (typeof value !== 'object' || value === null) throw encodeError(WHAT, 'must be an object');
  const want = Object.hasOwn(MODEL_HASH_DIGEST_LENGTH, value.algorithm)
    ? MODEL_HASH_DIGEST_LENGTH[value.algorithm]
    : undefined;
  if (want === undefined)
    throw encodeError(`${WHAT}.algorithm`, `${JSON.stringify(value.algorithm)} is not one of sha256, sha384, sha512`);
  if (!(value.digest instanceof Uint8Array)) throw encodeError(`${WHAT}.digest`, 'must be a Buffer or Uint8Array');
  if (value.digest.length !== want)
    throw encodeError(`${WHAT}.digest`, `${value.digest.length} octets, ${value.algorithm} digests are ${want}`);
  return sequence(algorithmIdentifier(Oids[value.algorithm], 'absent'), octetString(value.digest));
}

export function decodeModelHash(der: Uint8Array): ModelHash {
  const [algId, digestNode] = expectSequence(parseDer(der, WHAT), WHAT, { min: 2, max: 2 });
  const what = `${WHAT}.hashAlgorithm`;
  const [oidNode, params] = expectSequence(algId!, what, { min: 1, max: 2 });
  const oid = readOid(oidNode!, `${what}.algorithm`);
  const algorithm = BY_OID.get(oid);
  if (!algorithm) throw new Asn1DecodeError(`${what}.algorithm`, `${oid} is not SHA-256, SHA-384 or SHA-512`);
  if (params) readNull(params, `${what}.parameters`);
  const want = MODEL_HASH_DIGEST_LENGTH[algorithm];
  const digest = readOctetString(digestNode!, `${WHAT}.digest`);
  if (digest.length !== want)
    throw new Asn1DecodeError(`${WHAT}.digest`, `${digest.length} octets, ${algorithm} digests are ${want}`);
  return { algorithm, digest };
}

export const modelHashCodec: ExtensionCodec<ModelHash> = Object.freeze({
  name: 'modelHash',
  oid: AgentOids.modelHash,
  critical: false,
  encode: encodeModelHash,
  decode: decodeModelHash,
});
