import { createAdminToken } from '../../http/plugins/admin-auth.js';
import { parse, required, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';

export const tokenUsage = 'agent-ca token create --name N   (prints a new admin token once; only its hash is stored)';

export async function tokenCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'create') throw new UsageError(`usage: ${tokenUsage}`);
  const { values: v } = parse(rest, { name: { type: 'string' }, data: { type: 'string' } });
  const name = required(v.name, '--name');
  return withAuthority(io, v.data, async (a) => {
    const token = await createAdminToken(a.store, name, a.clock.now());
    io.out(token);
    io.err(`admin token "${name}" created; it is shown only now. Use it as: Authorization: Bearer <token> (or AGENT_CA_TOKEN for the CLI's --server)`);
    return 0;
  });
}
