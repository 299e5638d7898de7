/**
 * agent-ca ca revoke|hold|release intermediate: status changes of the CA's own certificate,
 * apart from the agent commands because they cascade to every certificate under it
 * (RFC 5280 §6.1.3). The root is refused (src/authority/ca-revocation.ts).
 */
import { parseRevokeReason } from '../../revocation/reasons.js';
import { parse, required, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { adminCall, serverOf } from '../remote.js';

export const caUsage =
  'agent-ca ca revoke intermediate --reason R | ca hold intermediate | ca release intermediate  [--server URL]   (R: e.g. cACompromise, superseded, cessationOfOperation)';

export async function caCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'revoke' && sub !== 'hold' && sub !== 'release')
    throw new UsageError(`expected revoke, hold or release; usage: ${caUsage}`);
  const { values: v, positionals } = parse(
    rest,
    { reason: { type: 'string' }, data: { type: 'string' }, server: { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError(`expected one CA name (intermediate); usage: ${caUsage}`);
  const name = positionals[0]!;
  const reason = sub === 'revoke' ? parseRevokeReason(required(v.reason, '--reason')) : undefined;
  if (sub !== 'revoke' && v.reason !== undefined) throw new UsageError('--reason is for ca revoke only');
  const server = serverOf(v, io);
  if (server) {
    const r = await adminCall<{ serial?: string; reason?: string; revokedAt?: string }>(
      server,
      io,
      'POST',
      `api/v1/ca/${encodeURIComponent(name)}/${sub}`,
      reason ? { reason } : {},
    );
    io.out(describe(sub, name, r.serial, r.reason, r.revokedAt));
    return 0;
  }
  return withAuthority(io, v.data, async (a) => {
    if (sub === 'revoke') {
      const r = await a.revokeCa(name, { reason: reason!, actor: 'cli' });
      io.out(describe(sub, name, r.serial, r.reason, r.revokedAt.toISOString()));
    } else if (sub === 'hold') {
      const r = await a.holdCa(name, { actor: 'cli' });
      io.out(describe(sub, name, r.serial, undefined, r.revokedAt.toISOString()));
    } else {
      await a.releaseCa(name, { actor: 'cli' });
      io.out(describe(sub, name));
    }
    return 0;
  });
}

function describe(sub: string, name: string, serial?: string, reason?: string, at?: string): string {
  if (sub === 'release') return `released the ${name} CA: certificateHold lifted; what it issued reads as before`;
  if (sub === 'hold')
    return `held the ${name} CA ${serial ?? ''} at ${at ?? ''}: issuance and everything under it suspended`;
  return `revoked the ${name} CA ${serial ?? ''}: ${reason ?? ''} at ${at ?? ''}; every certificate under it now reads as revoked`;
}
