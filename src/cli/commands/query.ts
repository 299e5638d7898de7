/** list / show: read-only views of what the CA issued. */
import { viewJson } from '../../authority/view-json.js';
import type { CertificateState } from '../../revocation/status.js';
import { parse, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';

export const listUsage = 'agent-ca list [--agent-id ID] [--tenant T] [--status good|revoked|held|expired] [--json]';
export const showUsage = 'agent-ca show SERIAL [--json]';

const STATES: CertificateState[] = ['good', 'revoked', 'held', 'expired'];

export async function listCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, {
    'agent-id': { type: 'string' },
    tenant: { type: 'string' },
    status: { type: 'string' },
    json: { type: 'boolean' },
    data: { type: 'string' },
  });
  if (v.status !== undefined && !STATES.includes(v.status as CertificateState))
    throw new UsageError(`--status must be one of ${STATES.join(', ')}`);
  return withAuthority(io, v.data, async (a) => {
    const views = await a.list({
      ...(v['agent-id'] ? { agentId: v['agent-id'] } : {}),
      ...(v.tenant ? { tenant: v.tenant } : {}),
      ...(v.status ? { status: v.status as CertificateState } : {}),
    });
    if (v.json) {
      io.out(
        JSON.stringify(
          views.map((x) => ({ ...viewJson(x), certificate: undefined })),
          null,
          2,
        ),
      );
      return 0;
    }
    io.out(['SERIAL'.padEnd(34), 'STATUS'.padEnd(8), 'AGENT'.padEnd(24), 'NOT AFTER'].join(' '));
    for (const x of views) {
      io.out(
        [
          x.record.serial.padEnd(34),
          x.status.state.padEnd(8),
          (x.record.agentId ?? '-').padEnd(24),
          x.record.notAfter.toISOString(),
        ].join(' '),
      );
    }
    return 0;
  });
}

export async function showCommand(argv: string[], io: Io): Promise<number> {
  // show always prints JSON; --json is accepted so scripts can pass it to every result command.
  const { values: v, positionals } = parse(argv, { json: { type: 'boolean' }, data: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError(`expected one SERIAL; usage: ${showUsage}`);
  return withAuthority(io, v.data, async (a) => {
    io.out(JSON.stringify(viewJson(await a.show(positionals[0]!), a.config.oidArc), null, v.json ? undefined : 2));
    return 0;
  });
}
