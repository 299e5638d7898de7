/** The CLI's option helpers (docs/cli-and-package.md): --validity durations, base URL from --host/--port, progress. */
import { describe, expect, it } from 'vitest';
import { UsageError, validityFromFlags, type Io } from '../../../src/cli/args.js';
import { baseUrlFor, caInitFromFlags, parsePort } from '../../../src/cli/commands/ca-options.js';
import { withProgress } from '../../../src/cli/progress.js';
import { runnableBlocks } from '../../helpers/readme-blocks.js';

const io = (progress?: (t: string) => void): Io => ({ out: () => {}, err: () => {}, env: {}, progress });

describe('--validity', () => {
  it.each([
    ['90m', { validitySeconds: 5400 }],
    ['24h', { validityDays: 1 }],
    ['36h', { validitySeconds: 129_600 }],
    ['30d', { validityDays: 30 }],
    ['2w', { validityDays: 14 }],
  ])('%s', (v, want) => expect(validityFromFlags(v, undefined)).toEqual(want));
  it('--days stays whole days; neither gives the profile default', () => {
    expect(validityFromFlags(undefined, '7')).toEqual({ validityDays: 7 });
    expect(validityFromFlags(undefined, undefined)).toEqual({});
  });
  it.each(['0d', '24', '1y', '1.5d', '-1h', 'h'])('refuses %s', (v) =>
    expect(() => validityFromFlags(v, undefined)).toThrow(UsageError),
  );
  it('refuses both', () => expect(() => validityFromFlags('1d', '1')).toThrow(/not both/));
});

describe('init/start base URL', () => {
  it('follows --host/--port without --base-url', () => {
    expect(baseUrlFor(undefined, undefined)).toBe('http://127.0.0.1:8080');
    expect(baseUrlFor('127.0.0.1', 18184)).toBe('http://127.0.0.1:18184');
    expect(baseUrlFor('ca.internal', 9000)).toBe('http://ca.internal:9000');
    expect(baseUrlFor('::1', 9000)).toBe('http://[::1]:9000');
    expect(baseUrlFor('0.0.0.0', 9000)).toBe('http://127.0.0.1:9000');
    expect(baseUrlFor('127.0.0.1', 0)).toBe('http://127.0.0.1:8080');
  });
  it('--base-url wins; flags map onto init options', () => {
    const { init } = caInitFromFlags(
      { org: 'Example Operator', 'base-url': 'https://ca.example/', port: '9000' },
      io(),
    );
    expect(init.config).toMatchObject({ organization: 'Example Operator', baseUrl: 'https://ca.example' });
    expect(caInitFromFlags({ port: '18184' }, io()).init.config.baseUrl).toBe('http://127.0.0.1:18184');
  });
  it('refuses a bad port or URL', () => {
    expect(() => parsePort('70000')).toThrow(UsageError);
    expect(() => caInitFromFlags({ 'base-url': 'ftp://x' }, io())).toThrow(UsageError);
  });
});

describe('progress', () => {
  it('writes nothing without a terminal', async () => {
    expect(await withProgress(io(), 'x', async () => 42)).toBe(42);
  });
  it('shows the label and ends with done on a terminal', async () => {
    const seen: string[] = [];
    await withProgress(
      io((t) => seen.push(t)),
      'publishing the full CRL',
      async (p) => {
        p.detail('1 of 2');
        await new Promise((r) => setTimeout(r, 300));
      },
    );
    const text = seen.join('');
    expect(text).toMatch(/^\rpublishing the full CRL… /);
    expect(text).toMatch(/1 of 2/);
    expect(text).toMatch(/publishing the full CRL: done in \d+\.\ds\s*\n$/);
  });
});

describe('README block extraction', () => {
  it('keeps sh and ts blocks, drops illustrative ones and other languages', () => {
    const md = [
      '```sh',
      'echo a',
      '```',
      '```sh illustrative',
      'echo b',
      '```',
      '```nginx',
      'x',
      '```',
      '```ts',
      'let c = 1;',
      '```',
    ].join('\n');
    expect(runnableBlocks(md)).toEqual([
      { lang: 'sh', line: 1, code: 'echo a' },
      { lang: 'ts', line: 10, code: 'let c = 1;' },
    ]);
  });
});
