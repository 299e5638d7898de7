import { parse, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { describeCa } from './init.js';

export const startUsage = 'agent-ca start [--data DIR]   (npm start: init if missing, then show the CA)';

/** `npm start`: a CA on the embedded default (LevelDB + softkey), created on first run. */
export async function startCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, { data: { type: 'string' } });
  return withAuthority(io, v.data, async (a) => {
    if (!a.initialised) {
      await a.init({});
      io.out(`created a new CA in ${a.dataDir} (softkey keys, LevelDB store; production keys belong in a KMS or HSM)`);
    }
    for (const l of describeCa(a)) io.out(l);
    const d = v.data ? ` --data ${v.data}` : '';
    io.out('');
    io.out('try:');
    io.out(`  npx agent-ca issue${d} --agent-id trading-bot-v2 --org "Example Operator" --scope read:accounts,write:payments --generate-key bot.key --out bot.pem`);
    io.out(`  openssl verify -x509_strict -purpose sslclient -CAfile ${a.dataDir}/ca/root.pem -untrusted ${a.dataDir}/ca/intermediate.pem bot.pem`);
    io.out(`  npx agent-ca inspect bot.pem`);
    return 0;
  }, true);
}
