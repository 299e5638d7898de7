import type { Logger } from '../../src/logger.js';

/** A Logger that keeps each line (`<level> <message> <fields as JSON>`) for a test to assert on. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (m, f) => void lines.push(`warn ${m}${f ? ` ${JSON.stringify(f)}` : ''}`),
    error: (m, f) => void lines.push(`error ${m}${f ? ` ${JSON.stringify(f)}` : ''}`),
  };
}
