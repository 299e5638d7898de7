/** Argument helpers shared by the commands: typed errors for bad flags, one line each. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AgentCaError } from '../errors.js';

export class UsageError extends AgentCaError {
  constructor(message: string) {
    super('INPUT_INVALID', message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>
>;

export function parse<O extends Options>(argv: string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
}

export function required<T>(v: T | undefined, flag: string): T {
  if (v === undefined || v === '') throw new UsageError(`${flag} is required`);
  return v;
}

export function list(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

export function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Raw progress output (no newline added); set only when stderr is a terminal (src/cli/progress.ts). */
  progress?: ((text: string) => void) | undefined;
}

/**
 * A command's result: one JSON object on stdout with --json (for scripts: `jq .serial`), else
 * the prose lines. Dates become ISO 8601 strings (docs/cli-and-package.md).
 */
export function result(io: Io, json: boolean | undefined, value: Record<string, unknown>, prose: string[]): void {
  if (json) io.out(JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
  else for (const l of prose) io.out(l);
}

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `--validity 90m|24h|30d|2w` beside `--days N` (one of them): whole days stay validityDays
 * (what every server version accepts), anything else becomes validitySeconds.
 */
export function validityFromFlags(
  validity: string | undefined,
  days: string | undefined,
): { validityDays: number } | { validitySeconds: number } | Record<string, never> {
  if (validity !== undefined && days !== undefined) throw new UsageError('give --validity or --days, not both');
  const d = positiveInt(days, '--days');
  if (d !== undefined) return { validityDays: d };
  if (validity === undefined) return {};
  const m = validity.match(/^([1-9][0-9]{0,6})(m|h|d|w)$/);
  if (!m) throw new UsageError(`--validity must look like 90m, 24h, 30d or 2w, got ${JSON.stringify(validity)}`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return seconds % 86_400 === 0 ? { validityDays: seconds / 86_400 } : { validitySeconds: seconds };
}
