/** revoke / hold / release / renew: state-changing commands on one certificate. */
import { writeFileSync } from 'node:fs';
import { parseRevokeReason } from '../../revocation/reasons.js';
import { AgentCaError } from '../../errors.js';
import { parse, required, result, UsageError, validityFromFlags, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { OcspService } from '../../ocsp/service.js';
import type { Authority } from '../../authority/authority.js';
import { adminCall, serverOf } from '../remote.js';

/**
 * A status change made by the CLI re-signs the serial's OCSP responses in its own commit, as
 * the server would: servers sharing the store (PostgreSQL peers) then serve the new status as
 * soon as the change notice drops their cached answer, and a LevelDB CA started later does
 * not serve a stale pre-signed "good" (RFC 6960 §2.2: the response must reflect the status).
 */
function withStatusAuthority<T>(io: Io, dataDir: string | undefined, fn: (a: Authority) => Promise<T>): Promise<T> {
  return withAuthority(io, dataDir, async (a) => {
    new OcspService(a);
    return fn(a);
  });
}

export const revokeUsage =
  'agent-ca revoke SERIAL --reason R [--invalidity-date ISO] [--json] [--server URL]   (R: RFC 5280 reason, e.g. keyCompromise, superseded, cessationOfOperation)';
export const holdUsage = 'agent-ca hold SERIAL [--json] [--server URL]';
export const releaseUsage = 'agent-ca release SERIAL [--json] [--server URL]';
export const renewUsage =
  'agent-ca renew SERIAL [--days N | --validity 24h|30d|90m] --out FILE [--json] [--server URL]';

function oneSerial(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one SERIAL; usage: ${usage}`);
  return positionals[0]!;
}

function parseIsoDate(v: string | undefined, flag: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
    throw new UsageError(`${flag} must be an ISO 8601 date, got ${JSON.stringify(v)}`);
  return d;
}

export async function revokeCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    argv,
    {
      reason: { type: 'string' },
      'invalidity-date': { type: 'string' },
      json: { type: 'boolean' },
      data: { type: 'string' },
      server: { type: 'string' },
    },
    true,
  );
  const serial = oneSerial(positionals, revokeUsage);
  const reason = parseRevokeReason(required(v.reason, '--reason'));
  const invalidityDate = parseIsoDate(v['invalidity-date'], '--invalidity-date');
  const server = serverOf(v, io);
  if (server) {
    const r = await adminCall<{ serial: string; reason: string; revokedAt: string }>(
      server,
      io,
      'POST',
      `api/v1/certificates/${encodeURIComponent(serial)}/revoke`,
      {
        reason,
        ...(invalidityDate ? { invalidityDate: invalidityDate.toISOString() } : {}),
      },
    );
    result(io, v.json, { serial: r.serial, status: 'revoked', reason: r.reason, revokedAt: r.revokedAt }, [
      `revoked ${r.serial}: ${r.reason} at ${r.revokedAt}`,
    ]);
    return 0;
  }
  return withStatusAuthority(io, v.data, async (a) => {
    const r = await a.revoke(serial, { reason, ...(invalidityDate ? { invalidityDate } : {}), actor: 'cli' });
    result(
      io,
      v.json,
      { serial: r.serial, status: 'revoked', reason: r.reason, revokedAt: r.revokedAt.toISOString() },
      [`revoked ${r.serial}: ${r.reason} at ${r.revokedAt.toISOString()}`],
    );
    return 0;
  });
}

export async function holdCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    argv,
    { json: { type: 'boolean' }, data: { type: 'string' }, server: { type: 'string' } },
    true,
  );
  const serial = oneSerial(positionals, holdUsage);
  const server = serverOf(v, io);
  if (server) {
    const r = await adminCall<{ serial: string; revokedAt: string }>(
      server,
      io,
      'POST',
      `api/v1/certificates/${encodeURIComponent(serial)}/hold`,
      {},
    );
    result(io, v.json, { serial: r.serial, status: 'held', reason: 'certificateHold', revokedAt: r.revokedAt }, [
      `held ${r.serial} (certificateHold) at ${r.revokedAt}`,
    ]);
    return 0;
  }
  return withStatusAuthority(io, v.data, async (a) => {
    const r = await a.hold(serial, { actor: 'cli' });
    result(
      io,
      v.json,
      { serial: r.serial, status: 'held', reason: 'certificateHold', revokedAt: r.revokedAt.toISOString() },
      [`held ${r.serial} (certificateHold) at ${r.revokedAt.toISOString()}`],
    );
    return 0;
  });
}

export async function releaseCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    argv,
    { json: { type: 'boolean' }, data: { type: 'string' }, server: { type: 'string' } },
    true,
  );
  const serial = oneSerial(positionals, releaseUsage);
  const server = serverOf(v, io);
  if (server) {
    await adminCall(server, io, 'POST', `api/v1/certificates/${encodeURIComponent(serial)}/release`, {});
    result(io, v.json, { serial, status: 'good' }, [`released ${serial}: certificateHold lifted`]);
    return 0;
  }
  return withStatusAuthority(io, v.data, async (a) => {
    await a.release(serial, { actor: 'cli' });
    result(io, v.json, { serial, status: 'good' }, [`released ${serial}: certificateHold lifted`]);
    return 0;
  });
}

export async function renewCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    argv,
    {
      days: { type: 'string' },
      validity: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      data: { type: 'string' },
      server: { type: 'string' },
    },
    true,
  );
  const serial = oneSerial(positionals, renewUsage);
  const out = required(v.out, '--out');
  const validity = validityFromFlags(v.validity, v.days);
  const server = serverOf(v, io);
  const r = server
    ? await adminCall<{ serial: string; certificate: string; notBefore: string; notAfter: string }>(
        server,
        io,
        'POST',
        `api/v1/certificates/${encodeURIComponent(serial)}/renew`,
        validity,
      )
    : await withAuthority(io, v.data, async (a) => {
        const x = await a.renew(serial, { ...validity, actor: 'cli' });
        return {
          serial: x.serial,
          certificate: x.pem,
          notBefore: x.notBefore.toISOString(),
          notAfter: x.notAfter.toISOString(),
        };
      });
  try {
    writeFileSync(out, r.certificate);
  } catch (e) {
    throw new AgentCaError('INPUT_INVALID', `renewed as ${r.serial} but cannot write ${out}: ${(e as Error).message}`);
  }
  result(
    io,
    v.json,
    { renewed: serial, serial: r.serial, notBefore: r.notBefore, notAfter: r.notAfter, certificate: out },
    [`renewed ${serial} as ${r.serial}, valid ${r.notBefore} .. ${r.notAfter}; written to ${out}`],
  );
  return 0;
}
