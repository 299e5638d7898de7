/**
 * FileReplayCache: a jti claimed in one verifier is refused in the next (separate instances
 * share only the file, as separate `verify-action` processes do), live lines only, torn lines
 * skipped, and claimants on one key, in one process or several at once: exactly one wins.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileReplayCache } from '../../../src/actions/file-replay-cache.js';
import { AgentCaError } from '../../../src/errors.js';
import { spawnTsHelper } from '../../helpers/spawn-ts-helper.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';

let tmp: TmpDir;
beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-replay-');
});
afterAll(() => tmp.cleanup());

const now = new Date('2030-01-01T00:00:00Z');
const until = new Date(now.getTime() + 360_000);

describe('FileReplayCache', () => {
  it('a key claimed by one instance is refused by another on the same file, until it expires', () => {
    const file = join(tmp.dir, 'a.jsonl');
    expect(new FileReplayCache(file).claim('01:jti-1', until, now)).toBe(true);
    expect(new FileReplayCache(file).claim('01:jti-1', until, now)).toBe(false);
    expect(new FileReplayCache(file).claim('01:jti-2', until, now)).toBe(true);
    // past its expiry the line no longer counts (the envelope would fail the age check anyway)
    expect(
      new FileReplayCache(file).claim('01:jti-1', new Date(until.getTime() + 360_000), new Date(until.getTime() + 1)),
    ).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('skips a line torn by a crash and keys that need JSON escaping', () => {
    const file = join(tmp.dir, 'b.jsonl');
    appendFileSync(file, '[1893456360000,"abc","01:torn"');
    const c = new FileReplayCache(file);
    expect(c.claim('01:torn', until, now)).toBe(true);
    expect(new FileReplayCache(file).claim('01:torn', until, now)).toBe(false);
    const odd = '01:"quoted"\n\tkey';
    expect(c.claim(odd, until, now)).toBe(true);
    expect(c.claim(odd, until, now)).toBe(false);
  });

  it('many claimants at once on one key: exactly one wins', async () => {
    const file = join(tmp.dir, 'c.jsonl');
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        Promise.resolve().then(() => new FileReplayCache(file).claim('01:race', until, now)),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('separate processes racing on one key: exactly one wins', async () => {
    const file = join(tmp.dir, 'd.jsonl');
    const go = join(tmp.dir, 'go');
    const kids = Array.from({ length: 4 }, () => spawnTsHelper('./replay-claimant.ts', [file, '01:race', go]));
    try {
      await Promise.all(kids.map((k) => k.waitForLine(/^ready$/, 30_000)));
      writeFileSync(go, '');
      const said = await Promise.all(kids.map((k) => k.waitForLine(/^(won|lost)$/, 30_000)));
      expect(said.filter((l) => l === 'won')).toHaveLength(1);
      expect(said.filter((l) => l === 'lost')).toHaveLength(3);
    } finally {
      for (const k of kids) if (k.child.exitCode === null) k.child.kill('SIGKILL');
      await Promise.all(kids.map((k) => k.exited));
    }
  });

  it('an unusable path is a typed error', () => {
    expect(() => new FileReplayCache(join(tmp.dir, 'no/such/dir/x.jsonl'))).toThrow(AgentCaError);
  });
});
