/** audit verify | audit reconcile | audit export: the evidence a regulator asks for. */
import { readFileSync } from 'node:fs';
import { checkpointFromJson } from '../../audit/checkpoint.js';
import { reconcileAuditWithStore, type ReconcileResult } from '../../audit/reconcile.js';
import { AgentCaError } from '../../errors.js';
import { parseIsoTime } from '../../iso-time.js';
import { CA_NAMES, type IssuerId } from '../../types.js';
import { parse, result, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { withProgress } from '../progress.js';
import { adminCall, adminRequest, serverOf } from '../remote.js';
import type { AuditCheckpoint } from '../../store/ports.js';
import type { VerifyResult } from '../../audit/verify.js';

export const auditUsage =
  'agent-ca audit verify [--against CHECKPOINT.json] [--json] | agent-ca audit reconcile | agent-ca audit export [--from ISO] [--to ISO] [--agent-id ID]   [--server URL: verify, reconcile, export]';

function date(v: string | undefined, flag: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = parseIsoTime(v);
  if (!d) throw new UsageError(`${flag} must be an ISO 8601 time like 2026-01-31T12:00:00Z`);
  return d;
}

function keptCheckpoint(path: string): { checkpoint: AuditCheckpoint; json: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--against: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    const json: unknown = JSON.parse(text);
    return { checkpoint: checkpointFromJson(json), json };
  } catch (e) {
    throw new AgentCaError('INPUT_INVALID', `--against ${path}: ${e instanceof AgentCaError ? e.message : 'not JSON'}`);
  }
}

export async function auditCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'verify') {
    const { values: v } = parse(rest, {
      data: { type: 'string' },
      against: { type: 'string' },
      json: { type: 'boolean' },
      server: { type: 'string' },
    });
    const kept = v.against !== undefined ? keptCheckpoint(v.against) : undefined;
    const against = kept?.checkpoint;
    const server = serverOf(v, io);
    const verify = server
      ? () =>
          withProgress(io, 'verifying the audit log on the server', () =>
            adminCall<VerifyResult>(server, io, 'POST', 'api/v1/audit/verify', kept ? { against: kept.json } : {}),
          )
      : undefined;
    const report = (r: VerifyResult): number => {
      if (v.json) {
        // the verdict is the output; the exit code still says ok (0) or broken (1)
        result(io, true, { ...r, ...(against ? { against: against.seq } : {}) }, []);
        return r.ok ? 0 : 1;
      }
      if (r.ok) {
        io.out(
          `audit log OK: ${r.entries} entries, ${r.checkpoints} signed checkpoints${against ? `; matches the kept checkpoint at ${against.seq}` : ''}`,
        );
        return 0;
      }
      io.err(`agent-ca audit verify: ACA_ERR_AUDIT_CHAIN_BROKEN: first bad entry is seq ${r.firstBadSeq}: ${r.reason}`);
      return 1;
    };
    if (verify) return report(await verify());
    return withAuthority(io, v.data, async (a) => {
      const entries = (await a.audit.head())?.seq ?? 0;
      return report(
        await withProgress(io, `verifying ${entries.toLocaleString('en')} audit entries`, () =>
          a.audit.verify(against ? { against } : {}),
        ),
      );
    });
  }
  if (sub === 'reconcile') {
    const { values: v } = parse(rest, { data: { type: 'string' }, server: { type: 'string' } });
    const report = (r: ReconcileResult): number => {
      if (r.ok) {
        io.out(
          `audit reconcile OK: ${r.entries} entries; ${r.issued} issued certificates present; ${r.statusChanges} status changes agree with the store`,
        );
        return 0;
      }
      for (const m of r.mismatches) io.out(`${m.serial}: audit log says ${m.audit}; store says ${m.store}`);
      io.err(
        `agent-ca audit reconcile: ACA_ERR_AUDIT_STORE_MISMATCH: ${r.mismatches.length} certificate statuses disagree with the audit log`,
      );
      return 1;
    };
    const server = serverOf(v, io);
    if (server)
      return report(
        await withProgress(io, 'reconciling the audit log with the store on the server', () =>
          adminCall<ReconcileResult>(server, io, 'POST', 'api/v1/audit/reconcile'),
        ),
      );
    return withAuthority(io, v.data, async (a) =>
      report(await reconcileAuditWithStore(a.store, CA_NAMES as readonly string[] as readonly IssuerId[])),
    );
  }
  if (sub === 'export') {
    const { values: v } = parse(rest, {
      from: { type: 'string' },
      to: { type: 'string' },
      'agent-id': { type: 'string' },
      data: { type: 'string' },
      server: { type: 'string' },
    });
    const from = date(v.from, '--from');
    const to = date(v.to, '--to');
    const server = serverOf(v, io);
    if (server) {
      const q = new URLSearchParams({
        ...(from ? { from: from.toISOString() } : {}),
        ...(to ? { to: to.toISOString() } : {}),
        ...(v['agent-id'] ? { agentId: v['agent-id'] } : {}),
      });
      const body = await adminRequest(server, io, 'GET', `api/v1/audit/export?${q.toString()}`);
      for (const line of body.toString('utf8').split('\n')) if (line) io.out(line);
      return 0;
    }
    return withAuthority(io, v.data, async (a) => {
      for await (const line of a.audit.exportJsonLines({
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(v['agent-id'] ? { agentId: v['agent-id'] } : {}),
      }))
        io.out(line.replace(/\n$/, ''));
      return 0;
    });
  }
  throw new UsageError(`usage: ${auditUsage}`);
}
