/** The name and version printed on every report's cover and manifest (from package.json). */
import { readFileSync } from 'node:fs';

let cached: { name: string; version: string } | undefined;

export function softwareVersion(): { name: string; version: string } {
  if (cached) return cached;
  try {
    // src/reports/ and dist/reports/ are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      name?: string;
      version?: string;
    };
    cached = { name: pkg.name ?? 'agent-ca', version: pkg.version ?? 'unknown' };
  } catch {
    cached = { name: 'agent-ca', version: 'unknown' };
  }
  return cached;
}
