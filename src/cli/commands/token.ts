/**
 * `agent-ca token create|list|revoke` and `agent-ca tenant create|list` (docs/tenancy.md), on
 * the data directory, or through a running server's admin API with --server URL and
 * AGENT_CA_TOKEN (the server holds the data directory while it runs; changes take effect there
 * at once).
 */
import { AgentCaError } from '../../errors.js';
import { parse, required, result, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { adminCall, serverOf } from '../remote.js';
import { Tenancy } from '../../tenancy/tenancy.js';
import type { TokenView } from '../../tenancy/tokens.js';
import type { TenantRecord } from '../../tenancy/tenants.js';

export const tokenUsage =
  'agent-ca token create --name N [--role admin|operator|auditor|agent] [--tenant T] [--agent ID] [--expires 90d] [--json] | token list [--json] | token revoke ID [--json]   [--server URL]';
export const tenantUsage =
  'agent-ca tenant create NAME [--warning 0.75] [--revoke 0.85] [--events-per-second 1000] | tenant list   [--server URL]';

/** Runs `local` on a Tenancy over the data directory, or `remote` against --server. */
export async function onTenancy<T>(
  io: Io,
  v: { data?: string | undefined; server?: string | undefined },
  remote: (server: string) => Promise<T>,
  local: (t: Tenancy) => Promise<T>,
): Promise<T> {
  const server = serverOf(v, io);
  if (server) return remote(server);
  return withAuthority(io, v.data, async (a) => {
    if (!a.initialised)
      throw new AgentCaError('CA_NOT_INITIALISED', `no CA in ${a.dataDir}: run \`agent-ca init\` first`);
    const t = new Tenancy(a);
    await t.tokens.reload();
    return local(t);
  });
}

function tokenLine(t: TokenView): string {
  return [t.id, t.state, t.role, t.name, t.tenant ?? '*', t.agentId ?? '-', t.expiresAt ?? 'never'].join('\t');
}

export async function tokenCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const common = { data: { type: 'string' }, server: { type: 'string' } } as const;
  if (sub === 'create') {
    const { values: v } = parse(rest, {
      ...common,
      name: { type: 'string' },
      role: { type: 'string' },
      tenant: { type: 'string' },
      agent: { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
    });
    const name = required(v.name, '--name');
    // The first releases' `token create --name N` made an admin token: still the default.
    const input = {
      name,
      role: v.role ?? 'admin',
      ...(v.tenant ? { tenant: v.tenant } : {}),
      ...(v.agent ? { agentId: v.agent } : {}),
      ...(v.expires ? { expires: v.expires } : {}),
    };
    const made = await onTenancy(
      io,
      v,
      (s) => adminCall<TokenView & { token: string }>(s, io, 'POST', 'api/v1/tokens', input),
      async (t) => {
        const r = await t.tokens.create(input, 'cli', t.checkTokenSubject);
        return { ...r.view, token: r.token };
      },
    );
    if (v.json) {
      result(io, true, made, []);
      return 0;
    }
    io.out(made.token);
    io.err(
      `${made.role} token "${made.name}" (${made.id}${made.tenant ? `, tenant ${made.tenant}` : ''}${made.agentId ? `, agent ${made.agentId}` : ''}${made.expiresAt ? `, expires ${made.expiresAt}` : ''}) created; it is shown only now. Use it as: Authorization: Bearer <token> (or AGENT_CA_TOKEN for the CLI's --server)`,
    );
    return 0;
  }
  if (sub === 'list') {
    const { values: v } = parse(rest, { ...common, json: { type: 'boolean' } });
    const list = await onTenancy(
      io,
      v,
      async (s) => (await adminCall<{ tokens: TokenView[] }>(s, io, 'GET', 'api/v1/tokens')).tokens,
      (t) => t.tokens.list(),
    );
    if (v.json) {
      result(io, true, { tokens: list }, []);
      return 0;
    }
    io.out(['id', 'state', 'role', 'name', 'tenant', 'agent', 'expires'].join('\t'));
    for (const t of list) io.out(tokenLine(t));
    return 0;
  }
  if (sub === 'revoke') {
    const { values: v, positionals } = parse(rest, { ...common, json: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UsageError(`expected one token ID; usage: ${tokenUsage}`);
    const id = positionals[0]!;
    const r = await onTenancy(
      io,
      v,
      (s) => adminCall<TokenView>(s, io, 'DELETE', `api/v1/tokens/${encodeURIComponent(id)}`),
      (t) => t.tokens.revoke(id, 'cli'),
    );
    result(io, v.json, r, [`revoked token ${r.id} (${r.name}) at ${r.revokedAt}`]);
    return 0;
  }
  throw new UsageError(`usage: ${tokenUsage}`);
}

function ratio(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0(\.[0-9]+)?|1(\.0+)?)$/.test(v))
    throw new UsageError(`${flag} must be a number in (0, 1], got ${JSON.stringify(v)}`);
  return Number(v);
}

export async function tenantCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const common = { data: { type: 'string' }, server: { type: 'string' } } as const;
  if (sub === 'create') {
    const { values: v, positionals } = parse(
      rest,
      { ...common, warning: { type: 'string' }, revoke: { type: 'string' }, 'events-per-second': { type: 'string' } },
      true,
    );
    if (positionals.length !== 1) throw new UsageError(`expected one tenant NAME; usage: ${tenantUsage}`);
    const eps = v['events-per-second'];
    if (eps !== undefined && !/^[1-9][0-9]*$/.test(eps))
      throw new UsageError(`--events-per-second must be a positive integer, got ${JSON.stringify(eps)}`);
    const warning = ratio(v.warning, '--warning');
    const revoke = ratio(v.revoke, '--revoke');
    const input = {
      name: positionals[0]!,
      ...(warning !== undefined ? { warning } : {}),
      ...(revoke !== undefined ? { revoke } : {}),
      ...(eps !== undefined ? { eventsPerSecond: Number(eps) } : {}),
    };
    const t = await onTenancy(
      io,
      v,
      (s) => adminCall<TenantRecord>(s, io, 'POST', 'api/v1/tenants', input),
      (x) => x.tenants.create(input, 'cli'),
    );
    io.out(
      `tenant ${t.name} created: warning ${t.thresholds.warning ?? 'default'}, revoke ${t.thresholds.revoke ?? 'default'}, ${t.eventsPerSecond} events/s`,
    );
    return 0;
  }
  if (sub === 'list') {
    const { values: v } = parse(rest, common);
    const list = await onTenancy(
      io,
      v,
      async (s) => (await adminCall<{ tenants: TenantRecord[] }>(s, io, 'GET', 'api/v1/tenants')).tenants,
      (x) => x.tenants.list(),
    );
    io.out(['tenant', 'warning', 'revoke', 'events/s', 'created'].join('\t'));
    for (const t of list)
      io.out(
        [
          t.name,
          t.thresholds.warning ?? 'default',
          t.thresholds.revoke ?? 'default',
          t.eventsPerSecond,
          t.createdAt,
        ].join('\t'),
      );
    return 0;
  }
  throw new UsageError(`usage: ${tenantUsage}`);
}
