// Part of `npm run build`: the console's static files (src/console/assets) next to the compiled
// server (dist/console/assets), where src/http/routes/console.ts looks for them.
import { cpSync } from 'node:fs';

cpSync('src/console/assets', 'dist/console/assets', { recursive: true });
