import { parse, type Io } from '../args.js';
import { openAuthority } from '../open.js';
import { serveAuthority, serveOptions } from './serve.js';

export const startUsage =
  'agent-ca start [--port P] [--host H] [--data DIR]   (npm start: init on first run, then serve)';

/** `npm start`: the CA on the embedded default (LevelDB + softkey), created on first run, then served. */
export async function startCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, serveOptions);
  const a = await openAuthority(io, v.data, true);
  try {
    if (!a.initialised) {
      await a.init({ actor: 'cli' });
      io.out(`created a new CA in ${a.dataDir} (softkey keys, LevelDB store; production keys belong in a KMS or HSM)`);
    }
    return await serveAuthority(a, v, io);
  } finally {
    await a.close();
  }
}
