/**
 * The CA's persistent identity: config, key URIs (never keys) and certificates of the root,
 * the intermediate and their delegated OCSP responders. Kept in the store's meta under
 * `ca-state`; loaded into `LoadedCa` objects with their signers opened.
 */
import { parseCertificate, type ParsedCertificate } from '../asn1/certificate-parse.js';
import { decodeName, type EncodedName } from '../asn1/name.js';
import { AgentCaError } from '../errors.js';
import { issuerUrls, type CaConfig } from '../profile/config.js';
import type { IssuingCa } from '../profile/build-tbs.js';
import { keyIdentifier } from '../signer/public-key.js';
import type { Signer, SignerContext } from '../signer/signer.js';
import { openSigner } from '../signer/registry.js';
import { CA_NAMES, type CaName, type IssuerId, type KeyUri } from '../types.js';

export const CA_STATE_KEY = 'ca-state';
export { CA_NAMES, type CaName } from '../types.js';

export interface StoredKeyAndCert {
  keyUri: KeyUri;
  /** base64 DER */
  certificate: string;
}

export interface CaState {
  version: 1;
  createdAt: string;
  config: CaConfig;
  cas: Record<CaName, StoredKeyAndCert>;
  /** Delegated OCSP responder per CA (RFC 6960 §4.2.2.2), certified by that CA. */
  responders: Record<CaName, StoredKeyAndCert>;
}

/** A CA (or responder) with its certificate parsed and its signer open. */
export interface LoadedKeyAndCert {
  readonly name: CaName;
  readonly certificate: ParsedCertificate;
  readonly signer: Signer;
}

export interface LoadedCa extends LoadedKeyAndCert {
  readonly issuing: IssuingCa;
  readonly responder: LoadedKeyAndCert;
}

/** Called with the key's role and the seconds each signature took (metrics). */
export type SignObserver = (key: string, seconds: number) => void;

/** The same signer, timing every signature (a KMS or HSM round trip is the usual cost). */
function timed(signer: Signer, key: string, observe: () => SignObserver | undefined): Signer {
  return Object.freeze({
    keyUri: signer.keyUri,
    keyType: signer.keyType,
    algorithm: signer.algorithm,
    publicKeyInfo: signer.publicKeyInfo,
    async sign(data: Uint8Array) {
      const o = observe();
      if (!o) return signer.sign(data);
      const t = process.hrtime.bigint();
      const sig = await signer.sign(data);
      o(key, Number(process.hrtime.bigint() - t) / 1e9);
      return sig;
    },
    ...(signer.close ? { close: () => signer.close!() } : {}),
  });
}

async function loadPair(
  name: CaName,
  stored: StoredKeyAndCert,
  ctx: SignerContext,
  key: string,
  observe: () => SignObserver | undefined,
): Promise<LoadedKeyAndCert> {
  const certificate = parseCertificate(Buffer.from(stored.certificate, 'base64'));
  const signer = timed(await openSigner(stored.keyUri, ctx), key, observe);
  if (!signer.publicKeyInfo.equals(certificate.publicKeyInfo)) {
    throw new AgentCaError('CONFIG_INVALID', `the key at ${stored.keyUri} does not match the ${name} certificate`);
  }
  return { name, certificate, signer };
}

export function issuingCaFrom(
  name: CaName,
  certificate: ParsedCertificate,
  signer: Signer,
  config: CaConfig,
): IssuingCa {
  const subject: EncodedName = { der: certificate.subject, text: decodeName(certificate.subject).text };
  return Object.freeze({
    id: name,
    subject,
    keyId: keyIdentifier(certificate.publicKeyInfo),
    notAfter: certificate.notAfter,
    signatureAlgorithm: signer.algorithm,
    urls: issuerUrls(config.baseUrl, name),
  });
}

export async function loadCas(
  state: CaState,
  ctx: SignerContext,
  observe: () => SignObserver | undefined = () => undefined,
): Promise<Record<CaName, LoadedCa>> {
  const out = {} as Record<CaName, LoadedCa>;
  for (const name of CA_NAMES) {
    const ca = await loadPair(name, state.cas[name], ctx, name, observe);
    const responder = await loadPair(name, state.responders[name], ctx, `ocsp-${name}`, observe);
    out[name] = { ...ca, responder, issuing: issuingCaFrom(name, ca.certificate, ca.signer, state.config) };
  }
  return out;
}

export function asIssuerId(name: CaName): IssuerId {
  return name as IssuerId;
}
