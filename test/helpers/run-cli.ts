/** runCli in process with captured stdout/stderr lines and a data directory (CLI tests). */
import { runCli } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

export async function runCliCaptured(
  argv: string[],
  data: string,
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { AGENT_CA_DATA: data, ...env },
  });
  return { code, out, err };
}
