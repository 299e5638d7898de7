/**
 * Builds one compliance report package: collect (collect.ts) -> PDF (pdf/render-report.ts) ->
 * evidence.jsonl -> manifest.json with the SHA-256 of every file -> manifest.jws signed by the
 * audit checkpoint key -> zip. The act is itself audited (`report.generated`, after the
 * closing checkpoint), naming who asked for which subject and range and the manifest's hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AgentCaError } from '../errors.js';
import { collectReport, type CollectOptions, type ReportProgress } from './collect.js';
import { buildManifest, PACKAGE_FILES, signManifest, type FileDigest, type ReportManifest } from './manifest.js';
import { zipPackage, type PackageFiles } from './package.js';
import { renderReportPdf } from './pdf/render-report.js';
import type { ReportRequest } from './request.js';
import { softwareVersion } from './software.js';
import type { ReportHost } from './types.js';

export interface BuildReportOptions {
  /** Who asked: `admin:<token name>`, `cli:<user>`... (cover page, manifest, audit actor). */
  generatedBy: string;
  reportId?: string;
  riskConfig?: CollectOptions['riskConfig'];
  onProgress?: (p: ReportProgress) => void;
}

export interface BuiltReport {
  id: string;
  manifest: ReportManifest;
  files: PackageFiles;
  zip: Buffer;
}

const digest = (b: Buffer): FileDigest => ({ sha256: createHash('sha256').update(b).digest('hex'), bytes: b.length });

export function newReportId(): string {
  return `rpt_${randomUUID().replace(/-/g, '')}`;
}

export async function buildComplianceReport(
  host: ReportHost,
  req: ReportRequest,
  opts: BuildReportOptions,
): Promise<BuiltReport> {
  const signer = host.audit.checkpointSigner;
  if (!signer)
    throw new AgentCaError(
      'CA_NOT_INITIALISED',
      'reports are signed with the audit checkpoint key: initialise the CA first',
    );
  const id = opts.reportId ?? newReportId();
  const { data, evidence } = await collectReport(host, req, {
    reportId: id,
    generatedBy: opts.generatedBy,
    software: softwareVersion(),
    ...(opts.riskConfig ? { riskConfig: opts.riskConfig } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  opts.onProgress?.({ phase: 'render', done: 0, total: 1 });
  const pdf = Buffer.from(await renderReportPdf(data));
  const chain = host.chain();
  const files: PackageFiles = new Map([
    [PACKAGE_FILES.pdf, pdf],
    [PACKAGE_FILES.evidence, evidence.data],
    [PACKAGE_FILES.root, Buffer.from(chain.root, 'utf8')],
    [PACKAGE_FILES.intermediate, Buffer.from(chain.intermediate, 'utf8')],
  ]);
  const digests: Record<string, FileDigest> = {};
  for (const [name, bytes] of files)
    digests[name] = name === PACKAGE_FILES.evidence ? { sha256: evidence.sha256, bytes: bytes.length } : digest(bytes);
  const manifest = buildManifest(data, digests);
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const jws = await signManifest(manifestBytes, signer, chain);
  files.set(PACKAGE_FILES.manifest, manifestBytes);
  files.set(PACKAGE_FILES.jws, Buffer.from(`${jws}\n`, 'utf8'));
  opts.onProgress?.({ phase: 'package', done: 0, total: 1 });
  const zip = zipPackage(files, new Date(data.generatedAt));
  await host.audit.append({
    actor: opts.generatedBy,
    action: 'report.generated',
    subject: id,
    details: {
      ...manifest.subject,
      from: manifest.range.from,
      to: manifest.range.to,
      include: manifest.include,
      manifestSha256: digest(manifestBytes).sha256,
      auditRange: manifest.audit ? [manifest.audit.firstSeq, manifest.audit.lastSeq] : null,
    },
  });
  return { id, manifest, files, zip };
}
