import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, required, type Io } from '../args.js';
import { withAuthority } from '../open.js';

export const chainUsage = 'agent-ca chain --out DIR';

export async function chainCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { out: { type: 'string' }, data: { type: 'string' } });
  const dir = required(v.out, '--out');
  return withAuthority(io, v.data, async (a) => {
    const chain = a.chain();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'root.pem'), chain.root);
    writeFileSync(join(dir, 'intermediate.pem'), chain.intermediate);
    io.out(`wrote ${join(dir, 'root.pem')} and ${join(dir, 'intermediate.pem')}`);
    return 0;
  });
}
