/** list / show: read-only views of what the CA issued (from the data directory, or --server). */
import { viewJson } from '../../authority/view-json.js';
import type { CertificateState } from '../../revocation/status.js';
import { parse, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { adminCall, serverOf } from '../remote.js';

export const listUsage =
  'agent-ca list [--agent-id ID] [--tenant T] [--status good|revoked|held|expired] [--json] [--server URL]';
export const showUsage = 'agent-ca show SERIAL [--json] [--server URL]';

const STATES: CertificateState[] = ['good', 'revoked', 'held', 'expired'];

type Row = Omit<ReturnType<typeof viewJson>, 'certificate'> & { certificate?: undefined };

export async function listCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, {
    'agent-id': { type: 'string' },
    tenant: { type: 'string' },
    status: { type: 'string' },
    json: { type: 'boolean' },
    data: { type: 'string' },
    server: { type: 'string' },
  });
  if (v.status !== undefined && !STATES.includes(v.status as CertificateState))
    throw new UsageError(`--status must be one of ${STATES.join(', ')}`);
  const filter = {
    ...(v['agent-id'] ? { agentId: v['agent-id'] } : {}),
    ...(v.tenant ? { tenant: v.tenant } : {}),
    ...(v.status ? { status: v.status as CertificateState } : {}),
  };
  const server = serverOf(v, io);
  const rows: Row[] = server
    ? (
        await adminCall<{ certificates: Row[] }>(
          server,
          io,
          'GET',
          `api/v1/certificates?${new URLSearchParams(filter).toString()}`,
        )
      ).certificates
    : await withAuthority(io, v.data, async (a) =>
        (await a.list(filter)).map((x) => ({ ...viewJson(x), certificate: undefined })),
      );
  if (v.json) {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  io.out(['SERIAL'.padEnd(34), 'STATUS'.padEnd(8), 'AGENT'.padEnd(24), 'NOT AFTER'].join(' '));
  for (const x of rows)
    io.out([x.serial.padEnd(34), x.status.padEnd(8), (x.agentId ?? '-').padEnd(24), x.notAfter].join(' '));
  return 0;
}

export async function showCommand(argv: string[], io: Io): Promise<number> {
  // show always prints JSON; --json is accepted so scripts can pass it to every result command.
  const { values: v, positionals } = parse(
    argv,
    { json: { type: 'boolean' }, data: { type: 'string' }, server: { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError(`expected one SERIAL; usage: ${showUsage}`);
  const serial = positionals[0]!;
  const server = serverOf(v, io);
  const view = server
    ? await adminCall<unknown>(server, io, 'GET', `api/v1/certificates/${encodeURIComponent(serial)}`)
    : await withAuthority(io, v.data, async (a) => viewJson(await a.show(serial), a.config.oidArc));
  io.out(JSON.stringify(view, null, v.json ? undefined : 2));
  return 0;
}
