/** A fresh directory under the OS temp dir, removed by cleanup() (tests that touch disk). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TmpDir {
  dir: string;
  cleanup(): Promise<void>;
}

export async function makeTmpDir(prefix = 'agent-ca-test-'): Promise<TmpDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
