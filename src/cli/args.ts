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
}

/**
 * A command's result: one JSON object on stdout with --json (for scripts: `jq .serial`), else
 * the prose lines. Dates become ISO 8601 strings (docs/cli-and-package.md).
 */
export function result(io: Io, json: boolean | undefined, value: Record<string, unknown>, prose: string[]): void {
  if (json) io.out(JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
  else for (const l of prose) io.out(l);
}
