/**
 * Test-only certificate minting for chains the Issuer would refuse to make (a CA under the
 * pathLen-0 intermediate, an unknown critical extension, cA FALSE on an intermediate): the
 * project's own TBS builder and encoders, with the extension list patched, signed directly by
 * the parent's key. Nothing here is linted; that is the point.
 */
import type { KeyObject } from 'node:crypto';
import { encodeName } from '../../src/asn1/name.js';
import { toPem } from '../../src/asn1/pem.js';
import type { Clock } from '../../src/clock.js';
import { assembleSigned } from '../../src/issuance/certificate.js';
import { buildTbs, type IssuingCa } from '../../src/profile/build-tbs.js';
import { issuerUrls } from '../../src/profile/config.js';
import { loadProfiles, parseProfile, type Profile } from '../../src/profile/profile.js';
import { encodeTbs, type ExtensionEntry } from '../../src/profile/tbs.js';
import { defaultAlgorithm } from '../../src/signer/algorithms.js';
import { keyIdentifier } from '../../src/signer/public-key.js';
import { generateKeyPair, signerFromPrivateKey } from '../../src/signer/soft-key.js';
import type { KeyUri } from '../../src/types.js';

export interface Minted {
  der: Buffer;
  pem: string;
  privateKey: KeyObject;
  issuing: IssuingCa;
}

export interface MintOptions {
  /** Profile kind to build from (its extensions and validity), default by role. */
  profile?: 'root' | 'intermediate' | 'agent';
  /** Replace the profile's pathLen (CA profiles). */
  pathLen?: number;
  validityDays?: number;
  /** Edit the extension list before encoding (drop, replace, add). */
  patch?: (exts: readonly ExtensionEntry[]) => ExtensionEntry[];
}

const BUILTIN = loadProfiles();

function profileFor(kind: 'root' | 'intermediate' | 'agent', pathLen?: number): Profile {
  const p = BUILTIN.get(kind)!;
  return pathLen === undefined ? p : parseProfile({ ...p, name: `${kind}-pathlen-${pathLen}`, pathLen });
}

/** Mint `name` under `parent` (undefined: self-signed root) at `clock`'s time, with a fresh P-256 key. */
export async function mint(
  name: string,
  parent: Minted | undefined,
  clock: Clock,
  opts: MintOptions = {},
): Promise<Minted> {
  const { privateKey, publicKey } = generateKeyPair('p256');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const kind = opts.profile ?? (parent ? 'agent' : 'root');
  const subjectSpec = { organization: 'Differential Test', commonName: name };
  const subject = encodeName(subjectSpec);
  const tbs = buildTbs(
    {
      profile: profileFor(kind, opts.pathLen),
      subject: subjectSpec,
      encodedSubject: subject,
      publicKeyInfo: spki,
      ...(kind === 'agent' ? { subjectAltNames: [{ dns: `${name}.agents.example` }], agentId: name } : {}),
      ...(opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {}),
    },
    parent?.issuing,
    clock,
    defaultAlgorithm('p256'),
  );
  const extensions = opts.patch ? opts.patch(tbs.extensions) : tbs.extensions;
  const tbsDer = encodeTbs({ ...tbs, extensions });
  const signerKey = parent?.privateKey ?? privateKey;
  const signer = signerFromPrivateKey(signerKey, `softkey:${name}` as KeyUri);
  const der = assembleSigned(tbsDer, signer.algorithm, await signer.sign(tbsDer));
  return {
    der,
    pem: toPem(der),
    privateKey,
    issuing: {
      id: name,
      subject,
      keyId: keyIdentifier(spki),
      notAfter: tbs.notAfter,
      signatureAlgorithm: defaultAlgorithm('p256'),
      urls: issuerUrls('http://127.0.0.1:8080', name),
    },
  };
}
