/**
 * `init`: Root CA -> Intermediate CA, plus one delegated OCSP responder per CA (RFC 6960
 * §4.2.2.2), every certificate built, linted and signed through the same Issuer as agents.
 * Keys are created through the backend's KeyManager, so for awskms:/pkcs11: nothing secret
 * ever touches the data directory.
 */
import { encodeName, type NameSpec } from '../asn1/name.js';
import type { Clock } from '../clock.js';
import type { Issuer } from '../issuance/issuer.js';
import { buildTbs, type IssuingCa } from '../profile/build-tbs.js';
import type { CaConfig } from '../profile/config.js';
import type { Profile } from '../profile/profile.js';
import { openSigner } from '../signer/registry.js';
import type { KeyManager, Signer, SignerContext } from '../signer/signer.js';
import type { KeyType, KeyUri } from '../types.js';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { issuingCaFrom, type CaName, type CaState, type StoredKeyAndCert } from './ca-state.js';

export interface HierarchyKeys {
  root?: KeyUri;
  intermediate?: KeyUri;
  ocspRoot?: KeyUri;
  ocspIntermediate?: KeyUri;
}

export interface InitInput {
  config: CaConfig;
  profiles: ReadonlyMap<string, Profile>;
  keyType: KeyType;
  keyManager: KeyManager;
  /** Where the OCSP responders' keys are made, when not with the CA keys. */
  responderKeys?: { keyManager: KeyManager; labelPrefix: string };
  /** Adopt existing keys instead of creating them (`--key-uri`). */
  keys?: HierarchyKeys;
  /** Prefix for key labels (softkey file names, KMS aliases, HSM labels). */
  labelPrefix?: string;
  signerContext: SignerContext;
  issuer: Issuer;
  clock: Clock;
}

export interface IssuedCaMaterial {
  state: CaState;
  /** Every certificate made, with who issued it, for the store. */
  certificates: { der: Buffer; issuer: CaName; profile: string; isCa: boolean }[];
}

async function keyFor(
  input: InitInput,
  adopted: KeyUri | undefined,
  label: string,
  where: { keyManager: KeyManager; labelPrefix?: string } = input,
): Promise<Signer> {
  const uri =
    adopted ??
    (await where.keyManager.createKey({ keyType: input.keyType, label: `${where.labelPrefix ?? ''}${label}` }));
  return openSigner(uri, input.signerContext);
}

function profile(input: InitInput, name: string): Profile {
  const p = input.profiles.get(name);
  if (!p) throw new Error(`built-in profile ${name} is missing`);
  return p;
}

async function certify(
  input: InitInput,
  p: Profile,
  subject: NameSpec,
  subjectSigner: Signer,
  issuer: { ca: IssuingCa; signer: Signer } | undefined,
): Promise<Buffer> {
  const tbs = buildTbs(
    { profile: p, subject, encodedSubject: encodeName(subject), publicKeyInfo: subjectSigner.publicKeyInfo },
    issuer?.ca,
    input.clock,
    subjectSigner.algorithm,
  );
  const prepared = input.issuer.prepare(tbs, issuer?.signer ?? subjectSigner);
  return (await input.issuer.issue(prepared.token)).der;
}

export async function createHierarchy(input: InitInput): Promise<IssuedCaMaterial> {
  const { config } = input;
  const base: NameSpec = { ...(config.country ? { country: config.country } : {}), organization: config.organization };
  const rootSigner = await keyFor(input, input.keys?.root, 'root');
  const rootDer = await certify(
    input,
    profile(input, 'root'),
    { ...base, commonName: `${config.organization} Root CA` },
    rootSigner,
    undefined,
  );
  const rootCa = issuingCaFrom('root', parseCertificate(rootDer), rootSigner, config);

  const intSigner = await keyFor(input, input.keys?.intermediate, 'intermediate');
  const intDer = await certify(
    input,
    profile(input, 'intermediate'),
    { ...base, commonName: `${config.organization} Agent Issuing CA` },
    intSigner,
    { ca: rootCa, signer: rootSigner },
  );
  const intCa = issuingCaFrom('intermediate', parseCertificate(intDer), intSigner, config);

  const responderProfile = profile(input, 'ocsp-responder');
  const ocspRootSigner = await keyFor(input, input.keys?.ocspRoot, 'ocsp-root', input.responderKeys);
  const ocspRootDer = await certify(
    input,
    responderProfile,
    { ...base, commonName: `${config.organization} OCSP Responder (Root CA)` },
    ocspRootSigner,
    { ca: rootCa, signer: rootSigner },
  );
  const ocspIntSigner = await keyFor(input, input.keys?.ocspIntermediate, 'ocsp-intermediate', input.responderKeys);
  const ocspIntDer = await certify(
    input,
    responderProfile,
    { ...base, commonName: `${config.organization} OCSP Responder (Agent Issuing CA)` },
    ocspIntSigner,
    { ca: intCa, signer: intSigner },
  );

  const pair = (signer: Signer, der: Buffer): StoredKeyAndCert => ({
    keyUri: signer.keyUri,
    certificate: der.toString('base64'),
  });
  const state: CaState = {
    version: 1,
    createdAt: input.clock.now().toISOString(),
    config,
    cas: { root: pair(rootSigner, rootDer), intermediate: pair(intSigner, intDer) },
    responders: { root: pair(ocspRootSigner, ocspRootDer), intermediate: pair(ocspIntSigner, ocspIntDer) },
  };
  return {
    state,
    certificates: [
      { der: rootDer, issuer: 'root', profile: 'root', isCa: true },
      { der: intDer, issuer: 'root', profile: 'intermediate', isCa: true },
      { der: ocspRootDer, issuer: 'root', profile: 'ocsp-responder', isCa: false },
      { der: ocspIntDer, issuer: 'intermediate', profile: 'ocsp-responder', isCa: false },
    ],
  };
}
