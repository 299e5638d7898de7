import { readFileSync } from 'node:fs';
import { describeCertificate } from '../../asn1/certificate-describe.js';
import { pemOrDer } from '../../asn1/pem.js';
import { parse, UsageError, type Io } from '../args.js';

export const inspectUsage = 'agent-ca inspect FILE.pem [--oid-arc ARC]';

/** Works on any certificate file, ours or foreign; needs no data directory. */
export async function inspectCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(argv, { 'oid-arc': { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError(`usage: ${inspectUsage}`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(positionals[0]!);
  } catch (e) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const der = pemOrDer(bytes, ['CERTIFICATE']);
  io.out(JSON.stringify(describeCertificate(der, v['oid-arc']), null, 2));
  return 0;
}
