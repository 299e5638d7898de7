/** Writes golden-scores.json from the current engine: `npx tsx test/unit/risk/golden/capture.ts`. */
import { writeFileSync } from 'node:fs';
import { runGoldenStream } from './stream.js';

const rec = await runGoldenStream();
writeFileSync(new URL('./golden-scores.json', import.meta.url), JSON.stringify(rec) + '\n');
process.stdout.write(`${rec.steps.length} step scores, ${rec.checkpoints.length} checkpoints\n`);
