/**
 * manifest.json (what the package holds: the SHA-256 of every file, the range, the audit seq
 * range and the signed checkpoints) and manifest.jws: a compact JWS (RFC 7515 §7.1) whose
 * payload is exactly the bytes of manifest.json, signed by the key that signs the audit log's
 * checkpoints (the issuing CA's), with that CA's certificate and the root in `x5c`
 * (RFC 7515 §4.1.6). The signing input starts with "eyJ" (base64url of '{"'), so it can never
 * be taken for a checkpoint message (fixed ASCII label) or a DER TBS (0x30).
 */
import { pemOrDer } from '../asn1/pem.js';
import { compactOf, fromB64u, isJwsAlgorithm, signJws } from '../actions/jws.js';
import type { ActionEnvelope } from '../actions/types.js';
import { AgentCaError } from '../errors.js';
import type { Signer } from '../signer/signer.js';
import type { JwsAlgorithm } from '../actions/types.js';
import type { CheckpointJson, EvidenceRange, ReportData } from './types.js';

export const MANIFEST_FORMAT = 'agent-ca compliance report v1';
export const MANIFEST_JWS_TYPE = 'agent-ca-report-manifest+jws';
export const PACKAGE_FILES = Object.freeze({
  pdf: 'report.pdf',
  evidence: 'evidence.jsonl',
  manifest: 'manifest.json',
  jws: 'manifest.jws',
  root: 'ca/root.pem',
  intermediate: 'ca/intermediate.pem',
});

export interface FileDigest {
  sha256: string;
  bytes: number;
}

export interface ReportManifest {
  format: typeof MANIFEST_FORMAT;
  reportId: string;
  generatedAt: string;
  generatedBy: string;
  software: { name: string; version: string };
  subject: { agentId: string } | { tenant: string };
  range: { from: string; to: string; requestedTo?: string; endExcluded: true };
  include: string[];
  /** report.pdf, evidence.jsonl, ca/root.pem, ca/intermediate.pem */
  files: Record<string, FileDigest>;
  audit: EvidenceRange | null;
  checkpoints: CheckpointJson[];
  signer: { subject: string; certificateSha256: string; rootSha256: string };
}

export function buildManifest(r: ReportData, files: Record<string, FileDigest>): ReportManifest {
  const req = r.request;
  const inter = r.chain.find((c) => c.name === 'intermediate')!;
  const root = r.chain.find((c) => c.name === 'root')!;
  return {
    format: MANIFEST_FORMAT,
    reportId: r.reportId,
    generatedAt: r.generatedAt,
    generatedBy: r.generatedBy,
    software: r.software,
    subject: req.agentId !== undefined ? { agentId: req.agentId } : { tenant: req.tenant! },
    range: {
      from: req.from.toISOString(),
      to: req.to.toISOString(),
      ...(req.requestedTo ? { requestedTo: req.requestedTo.toISOString() } : {}),
      endExcluded: true,
    },
    include: [...req.include],
    files,
    audit: r.evidence,
    checkpoints: r.checkpoints,
    signer: { subject: inter.subject, certificateSha256: inter.fingerprintSha256, rootSha256: root.fingerprintSha256 },
  };
}

/** Compact JWS over the manifest bytes, x5c = [issuing CA, root]. */
export async function signManifest(
  manifestBytes: Buffer,
  signer: Signer,
  chainPem: { intermediate: string; root: string },
): Promise<string> {
  const x5c = [
    pemOrDer(chainPem.intermediate, ['CERTIFICATE']).toString('base64'),
    pemOrDer(chainPem.root, ['CERTIFICATE']).toString('base64'),
  ];
  return compactOf(await signJws(signer, { typ: MANIFEST_JWS_TYPE, x5c }, manifestBytes));
}

export interface ParsedManifestJws {
  alg: JwsAlgorithm;
  x5c: Buffer[];
  payload: Buffer;
  /** The three members as they were signed, for jwsVerify. */
  jws: ActionEnvelope;
}

/** Splits and decodes manifest.jws; INPUT_INVALID naming what is wrong. */
export function parseManifestJws(text: string): ParsedManifestJws {
  const parts = text.trim().split('.');
  if (parts.length !== 3)
    throw new AgentCaError('INPUT_INVALID', 'manifest.jws is not a compact JWS (three base64url parts)');
  const [h, p, s] = parts.map(fromB64u);
  if (!h || !p || !s) throw new AgentCaError('INPUT_INVALID', 'manifest.jws has a part that is not base64url');
  let header: { alg?: unknown; typ?: unknown; x5c?: unknown; crit?: unknown };
  try {
    header = JSON.parse(h.toString('utf8')) as typeof header;
  } catch {
    throw new AgentCaError('INPUT_INVALID', 'manifest.jws header is not JSON');
  }
  // RFC 7515 §4.1.11: an extension we do not understand must make the JWS invalid.
  if (header.crit !== undefined)
    throw new AgentCaError('INPUT_INVALID', 'manifest.jws names critical header extensions we do not support');
  if (header.typ !== MANIFEST_JWS_TYPE)
    throw new AgentCaError('INPUT_INVALID', `manifest.jws typ must be ${MANIFEST_JWS_TYPE}`);
  if (!isJwsAlgorithm(header.alg))
    throw new AgentCaError('INPUT_INVALID', `manifest.jws alg ${JSON.stringify(header.alg)} is not supported`);
  if (!Array.isArray(header.x5c) || header.x5c.length !== 2 || header.x5c.some((c) => typeof c !== 'string')) {
    throw new AgentCaError('INPUT_INVALID', 'manifest.jws x5c must hold the signing CA certificate and the root');
  }
  return {
    alg: header.alg,
    x5c: (header.x5c as string[]).map((c) => Buffer.from(c, 'base64')),
    payload: p,
    jws: { protected: parts[0]!, payload: parts[1]!, signature: parts[2]! },
  };
}
