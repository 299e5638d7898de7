/**
 * agent-ca command line. Other tools script against this contract: output on stdout, errors as
 * one line on stderr (`agent-ca: ACA_ERR_<CODE>: message`), exit 0 on success, 2 on usage
 * errors, 1 on any other failure.
 */
import { isAgentCaError } from '../errors.js';
import { createRequire } from 'node:module';
import { UsageError, type Io } from './args.js';
import { formatHelp, HELP } from './help.js';
import { chainCommand, chainUsage } from './commands/chain.js';
import { initCommand, initUsage } from './commands/init.js';
import { inspectCommand, inspectUsage } from './commands/inspect.js';
import { issueCommand, issueUsage } from './commands/issue.js';
import { startCommand, startUsage } from './commands/start.js';
import {
  holdCommand,
  holdUsage,
  releaseCommand,
  releaseUsage,
  renewCommand,
  renewUsage,
  revokeCommand,
  revokeUsage,
} from './commands/lifecycle.js';
import { listCommand, listUsage, showCommand, showUsage } from './commands/query.js';
import { auditCommand, auditUsage } from './commands/audit.js';
import { caCommand, caUsage } from './commands/ca.js';
import { serveCommand, serveUsage } from './commands/serve.js';
import { storeCommand, storeUsage } from './commands/store.js';
import { tenantCommand, tenantUsage, tokenCommand, tokenUsage } from './commands/token.js';
import { agentCommand, agentUsage } from './commands/agent.js';
import { crlCommand, crlUsage } from './commands/crl.js';
import { gatewayCommand, gatewayUsage } from './commands/gateway.js';
import { reportCommand, reportUsage } from './commands/report.js';
import { signActionCommand, signActionUsage, verifyActionCommand, verifyActionUsage } from './commands/actions.js';
import { runningServer } from './server-file.js';

/** The server named in <data>/server.json, for the STORE_LOCKED hint (src/cli/server-file.ts). */
function lockHolder(dataDir: unknown): { pid: number; url: string } | undefined {
  return typeof dataDir === 'string' ? runningServer(dataDir) : undefined;
}

type Command = { run: (argv: string[], io: Io) => Promise<number>; usage: string };

export const COMMANDS: Record<string, Command> = {
  init: { run: initCommand, usage: initUsage },
  issue: { run: issueCommand, usage: issueUsage },
  chain: { run: chainCommand, usage: chainUsage },
  inspect: { run: inspectCommand, usage: inspectUsage },
  revoke: { run: revokeCommand, usage: revokeUsage },
  hold: { run: holdCommand, usage: holdUsage },
  release: { run: releaseCommand, usage: releaseUsage },
  renew: { run: renewCommand, usage: renewUsage },
  ca: { run: caCommand, usage: caUsage },
  list: { run: listCommand, usage: listUsage },
  show: { run: showCommand, usage: showUsage },
  crl: { run: crlCommand, usage: crlUsage },
  gateway: { run: gatewayCommand, usage: gatewayUsage },
  'sign-action': { run: signActionCommand, usage: signActionUsage },
  'verify-action': { run: verifyActionCommand, usage: verifyActionUsage },
  audit: { run: auditCommand, usage: auditUsage },
  report: { run: reportCommand, usage: reportUsage },
  serve: { run: serveCommand, usage: serveUsage },
  token: { run: tokenCommand, usage: tokenUsage },
  store: { run: storeCommand, usage: storeUsage },
  tenant: { run: tenantCommand, usage: tenantUsage },
  agent: { run: agentCommand, usage: agentUsage },
  start: { run: startCommand, usage: startUsage },
};

export function usage(): string {
  return [
    'usage:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage}`),
    '',
    'details: agent-ca help COMMAND (or COMMAND --help); agent-ca --version',
    'data directory: --data DIR, or AGENT_CA_DATA, or ./agent-ca-data',
    'store (every command): --store postgres://user@host:5432/db, or AGENT_CA_STORE; default LevelDB in the data directory',
  ].join('\n');
}

/**
 * `--store URL` (or `--store=URL`) is accepted by every command that opens the CA, so it is
 * taken here and handed on as AGENT_CA_STORE. `store migrate` has its own --from/--to.
 */
function takeStoreFlag(argv: string[], command: string): { argv: string[]; store?: string } {
  if (command === 'store') return { argv };
  const out: string[] = [];
  let store: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--store') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--'))
        throw new UsageError('--store needs a URL (postgres://user@host:5432/db) or level');
      store = v;
    } else if (a.startsWith('--store=')) store = a.slice('--store='.length);
    else out.push(a);
  }
  return store === undefined ? { argv: out } : { argv: out, store };
}

/** The installed package's version: dist/cli/main.js and src/cli/main.ts both sit two levels below package.json. */
export function version(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** `agent-ca help CMD` and `agent-ca CMD --help`: every flag, its default, an example. */
function commandHelp(name: string, cmd: Command): string {
  const help = HELP[name];
  return help ? formatHelp(cmd.usage, help) : `usage: ${cmd.usage}`;
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(
      rest.includes('--json')
        ? JSON.stringify({ version: version(), node: process.versions.node })
        : `agent-ca ${version()}`,
    );
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined) {
    const asked = COMMANDS[rest[0]];
    if (!asked) {
      io.err(`agent-ca: unknown command ${JSON.stringify(rest[0])}\n${usage()}`);
      return 2;
    }
    io.out(commandHelp(rest[0], asked));
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`agent-ca: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(name, cmd));
    return 0;
  }
  try {
    const { argv: args, store } = takeStoreFlag(rest, name);
    return await cmd.run(args, store === undefined ? io : { ...io, env: { ...io.env, AGENT_CA_STORE: store } });
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`agent-ca ${name}: ${e.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    if (isAgentCaError(e)) {
      const served = e.is('STORE_LOCKED') ? lockHolder(e.details.dataDir) : undefined;
      const hint =
        !e.is('STORE_LOCKED') || name === 'init'
          ? ''
          : served
            ? ` (\`agent-ca serve\` pid ${served.pid} holds it: pass --server ${served.url} with AGENT_CA_TOKEN, or stop the server)`
            : ' (if `agent-ca serve` is running on it, pass --server URL with AGENT_CA_TOKEN, or stop the server)';
      io.err(`agent-ca ${name}: ${e.code}: ${e.message}${hint}`);
      return 1;
    }
    io.err(`agent-ca ${name}: unexpected error: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}
