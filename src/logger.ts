/**
 * The core's one way to say something went wrong in the background (a CRL that could not be
 * published, a hook that threw): a small port, so an embedder routes it into its own logging
 * (pino, a fastify logger) and tests capture it. The default writes one line to stderr.
 */
export interface Logger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function line(level: string, message: string, fields?: Record<string, unknown>): string {
  const extra =
    fields && Object.keys(fields).length
      ? ` ${JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`
      : '';
  return `agent-ca ${level}: ${message}${extra}\n`;
}

export const stderrLogger: Logger = {
  warn: (message, fields) => void process.stderr.write(line('warn', message, fields)),
  error: (message, fields) => void process.stderr.write(line('error', message, fields)),
};

/** The message of anything thrown, for a log line. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The rejection handler for a best-effort step (a cleanup, a rollback after the real error, a
 * connection close): its failure is logged, never dropped silently, and the caller goes on.
 */
export function logFailure(what: string, logger: Logger = stderrLogger): (e: unknown) => void {
  return (e) => logger.warn(`${what} failed`, { error: errorMessage(e) });
}
