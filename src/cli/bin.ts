#!/usr/bin/env node
/** The `agent-ca` executable: stdout/stderr wiring around runCli(). */
import { runCli } from './main.js';

// `agent-ca audit export | head`: a closed pipe is the reader saying it has enough.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

runCli(process.argv.slice(2), {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  env: process.env,
  progress: process.stderr.isTTY ? (t) => void process.stderr.write(t) : undefined,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`agent-ca: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
