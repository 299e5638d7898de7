/**
 * One verifier process for the FileReplayCache race test: prints `ready`, waits (bounded) for
 * GO_FILE to appear so that all claimants start together, claims KEY once, prints won|lost.
 */
import { existsSync } from 'node:fs';
import { FileReplayCache } from '../../src/actions/file-replay-cache.js';

const [file, key, goFile] = process.argv.slice(2) as [string, string, string];
const now = new Date('2030-01-01T00:00:00Z');
const cache = new FileReplayCache(file);
process.stdout.write('ready\n');
const deadline = performance.now() + 20_000;
while (!existsSync(goFile) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
process.stdout.write(`${cache.claim(key, new Date(now.getTime() + 360_000), now) ? 'won' : 'lost'}\n`);
