/**
 * `agent-ca report verify DIR|ZIP`: what a regulator runs on a package, with no access to the
 * CA. Every check is reported, and each failure names the file and what does not match:
 *   1. manifest.jws: signature by the certificate in x5c[0], which must be signed by x5c[1]
 *      (the root; pin it with `--ca root.pem`, else compare its fingerprint with the one the
 *      operator publishes), and its payload must be manifest.json byte for byte;
 *   2. every file listed in the manifest: SHA-256 and size;
 *   3. evidence.jsonl: seqs contiguous from audit.firstSeq, prevHash of the first = the one
 *      the manifest names, each full entry's hash recomputed (src/audit/entry-hash.ts), each
 *      link to its predecessor, the last = audit.lastSeq / lastHash;
 *   4. each checkpoint: signature under the signing CA's key (src/audit/checkpoint.ts) over
 *      the hash the evidence has at its seq; the last one closes the evidence.
 */
import { createHash } from 'node:crypto';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { pemOrDer } from '../asn1/pem.js';
import { jwsVerify } from '../actions/jws.js';
import { checkpointSignatureValid } from '../audit/checkpoint.js';
import { entryHash } from '../audit/entry-hash.js';
import { publicKeyFromSpki } from '../signer/public-key.js';
import { verifySignature } from '../signer/verify.js';
import type { KeyUri, SignatureAlgorithm } from '../types.js';
import { PACKAGE_FILES, parseManifestJws, type ReportManifest } from './manifest.js';
import type { PackageFiles } from './package.js';

export interface VerifyCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface ReportVerification {
  ok: boolean;
  checks: VerifyCheck[];
  manifest?: ReportManifest;
  rootSha256?: string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Verifies a package read with readPackage(); `trustedRoot` (PEM or DER) pins the root. */
export async function verifyReportPackage(
  files: PackageFiles,
  trustedRoot?: Uint8Array | string,
): Promise<ReportVerification> {
  const checks: VerifyCheck[] = [];
  const add = (check: string, ok: boolean, detail: string): boolean => {
    checks.push({ check, ok, detail });
    return ok;
  };
  const done = (extra: Partial<ReportVerification> = {}): ReportVerification => ({
    ok: checks.every((c) => c.ok),
    checks,
    ...extra,
  });

  const jwsText = files.get(PACKAGE_FILES.jws);
  const manifestBytes = files.get(PACKAGE_FILES.manifest);
  if (!add(PACKAGE_FILES.jws, jwsText !== undefined, jwsText ? 'present' : 'missing')) return done();
  if (!add(PACKAGE_FILES.manifest, manifestBytes !== undefined, manifestBytes ? 'present' : 'missing')) return done();

  // 1. Signature and chain.
  let jws;
  try {
    jws = parseManifestJws(jwsText!.toString('utf8'));
  } catch (e) {
    add(`${PACKAGE_FILES.jws} format`, false, (e as Error).message);
    return done();
  }
  let signerCert, rootCert;
  try {
    signerCert = parseCertificate(jws.x5c[0]!);
    rootCert = parseCertificate(jws.x5c[1]!);
  } catch (e) {
    add(`${PACKAGE_FILES.jws} x5c`, false, `a certificate in x5c does not parse: ${(e as Error).message}`);
    return done();
  }
  const rootSha256 = sha256(rootCert.der);
  const sig = await jwsVerify(jws.jws, jws.alg, publicKeyFromSpki(signerCert.publicKeyInfo));
  add(
    `${PACKAGE_FILES.jws} signature`,
    sig.ok,
    sig.ok
      ? `${jws.alg} by the CA certificate ${signerCert.serial} (SHA-256 ${sha256(signerCert.der)})`
      : `does not verify: ${sig.detail}`,
  );
  const chained =
    verifySignature(signerCert.signatureAlgorithmOid, signerCert.tbs, rootCert.publicKeyInfo, signerCert.signature) &&
    Buffer.compare(signerCert.issuer, rootCert.subject) === 0;
  add(
    'signing CA chains to the root',
    chained,
    chained ? `root SHA-256 ${rootSha256}` : 'x5c[0] is not issued and signed by x5c[1]',
  );
  if (trustedRoot !== undefined) {
    const pinned = sha256(pemOrDer(trustedRoot, ['CERTIFICATE']));
    add(
      'root is the trusted one',
      pinned === rootSha256,
      pinned === rootSha256 ? `matches --ca (${pinned})` : `x5c root ${rootSha256} is not the trusted root ${pinned}`,
    );
  }
  const samePayload = Buffer.compare(jws.payload, manifestBytes!) === 0;
  add(
    `${PACKAGE_FILES.manifest} is what was signed`,
    samePayload,
    samePayload ? 'byte for byte' : 'manifest.json differs from the signed payload of manifest.jws',
  );

  let manifest: ReportManifest;
  try {
    manifest = JSON.parse(jws.payload.toString('utf8')) as ReportManifest;
  } catch {
    add(`${PACKAGE_FILES.manifest} format`, false, 'the signed manifest is not JSON');
    return done({ rootSha256 });
  }
  for (const [name, der] of [
    [PACKAGE_FILES.intermediate, signerCert.der],
    [PACKAGE_FILES.root, rootCert.der],
  ] as const) {
    const f = files.get(name);
    const same =
      f !== undefined &&
      (() => {
        try {
          return Buffer.compare(pemOrDer(f, ['CERTIFICATE']), der) === 0;
        } catch {
          return false;
        }
      })();
    add(
      `${name} is the x5c certificate`,
      same,
      same ? 'yes' : f ? 'differs from the certificate that signed the manifest' : 'missing',
    );
  }

  // 2. File digests.
  for (const [name, want] of Object.entries(manifest.files ?? {})) {
    const f = files.get(name);
    if (!f) {
      add(name, false, 'listed in the manifest but missing');
      continue;
    }
    const got = sha256(f);
    add(
      `${name} SHA-256`,
      got === want.sha256 && f.length === want.bytes,
      got === want.sha256
        ? `${got}`
        : `is ${got} (${f.length} bytes), the manifest says ${want.sha256} (${want.bytes} bytes)`,
    );
  }

  // 3 + 4. Evidence chain and checkpoints.
  const evidence = files.get(PACKAGE_FILES.evidence);
  if (evidence) checkEvidence(evidence, manifest, signerCert.publicKeyInfo, add);
  return done({ manifest, rootSha256 });
}

function checkEvidence(
  evidence: Buffer,
  m: ReportManifest,
  spki: Buffer,
  add: (check: string, ok: boolean, detail: string) => boolean,
): void {
  const name = PACKAGE_FILES.evidence;
  const a = m.audit;
  const text = evidence.toString('utf8');
  const lines = text.length === 0 ? [] : text.replace(/\n$/, '').split('\n');
  if (!a) {
    add(
      `${name} chain`,
      lines.length === 0,
      lines.length === 0 ? 'no entries in range (manifest says none)' : `${lines.length} lines, the manifest says none`,
    );
    return;
  }
  const hashAt = new Map<number, string>();
  let prev = a.firstPrevHash;
  let expected = a.firstSeq;
  let inScope = 0;
  for (let i = 0; i < lines.length; i++) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(lines[i]!) as Record<string, unknown>;
    } catch {
      add(`${name} chain`, false, `line ${i + 1} is not JSON`);
      return;
    }
    const seq = e.seq;
    if (seq !== expected)
      return void add(
        `${name} chain`,
        false,
        `line ${i + 1}: expected entry ${expected}, found ${String(seq)} (entries missing, added or reordered)`,
      );
    if (e.prevHash !== prev)
      return void add(
        `${name} chain`,
        false,
        `entry ${expected} does not link to entry ${expected - 1} (prevHash mismatch)`,
      );
    if (e.redacted !== true) {
      inScope++;
      const time = typeof e.time === 'string' ? new Date(e.time) : new Date(NaN);
      const ok =
        !Number.isNaN(time.getTime()) &&
        entryHash({
          seq: expected,
          time,
          actor: e.actor as string,
          action: e.action as string,
          subject: e.subject as string,
          details: e.details as Record<string, unknown>,
          prevHash: prev,
        }) === e.hash;
      if (!ok) return void add(`${name} chain`, false, `entry ${expected} does not match its hash (altered)`);
    }
    if (typeof e.hash !== 'string') return void add(`${name} chain`, false, `entry ${expected} has no hash`);
    hashAt.set(expected, e.hash);
    prev = e.hash;
    expected++;
  }
  const last = expected - 1;
  const closes = last === a.lastSeq && prev === a.lastHash && lines.length === a.entries && inScope === a.inScope;
  add(
    `${name} chain`,
    closes,
    closes
      ? `entries ${a.firstSeq}..${a.lastSeq} link (${inScope} in full, ${lines.length - inScope} redacted)`
      : `the evidence ends at ${last} (${lines.length} lines), the manifest says ${a.lastSeq} with hash ${a.lastHash} (${a.entries} lines)`,
  );

  if (m.checkpoints.length === 0) return void add('checkpoints', false, 'no signed checkpoint closes the evidence');
  for (const cp of m.checkpoints) {
    const valid = checkpointSignatureValid(
      {
        seq: cp.seq,
        hash: cp.hash,
        time: new Date(cp.time),
        signature: Buffer.from(cp.signature, 'base64'),
        algorithm: cp.algorithm as SignatureAlgorithm,
        keyUri: cp.keyUri as KeyUri,
      },
      spki,
    );
    const matches = hashAt.get(cp.seq) === cp.hash;
    add(
      `checkpoint ${cp.seq}`,
      valid && matches,
      !valid
        ? 'signature does not verify under the signing CA key'
        : matches
          ? `signed ${cp.time} over ${cp.hash}`
          : `signs ${cp.hash}, the evidence has ${hashAt.get(cp.seq) ?? 'no entry'} at seq ${cp.seq}`,
    );
  }
  const closing = m.checkpoints[m.checkpoints.length - 1]!;
  add(
    'closing checkpoint',
    closing.seq === a.lastSeq,
    closing.seq === a.lastSeq
      ? `seq ${closing.seq} is the last evidence entry`
      : `the last checkpoint is at ${closing.seq}, the evidence ends at ${a.lastSeq}`,
  );
}
