#!/usr/bin/env node
/** The `agent-ca` executable: stdout/stderr wiring around runCli(). */
import { runCli } from './main.js';

runCli(process.argv.slice(2), {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`agent-ca: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
