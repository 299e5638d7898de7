/**
 * A CA for the lifecycle tests: memory store, soft keys in a temp data dir, a FixedClock, and
 * agents issued with fresh P-256 keys. Helpers read the audit entries written since a mark so a
 * test can check the exact intent/outcome sequence one operation produced.
 */
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import type { Authority, IssuedAgentCertificate } from '../../../src/authority/authority.js';
import type { AgentIssueRequest } from '../../../src/authority/agent-request.js';
import { createAuthority } from '../../../src/authority/create-authority.js';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError } from '../../../src/errors.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import type { AuditEntry } from '../../../src/store/ports.js';
import { makeTmpDir, type TmpDir } from '../../helpers/tmp-dir.js';

export const START = '2031-01-15T09:00:00.000Z';

export interface LifecycleFixture {
  authority: Authority;
  clock: FixedClock;
  tmp: TmpDir;
  /** Issue an agent certificate for a fresh P-256 key; `agentId` defaults to agent-<n>. */
  issue(req?: Partial<Omit<AgentIssueRequest, 'publicKey' | 'csr'>>): Promise<IssuedAgentCertificate>;
  /** Current audit head seq (0 for an empty log). */
  headSeq(): Promise<number>;
  /** Audit entries with seq > afterSeq, in seq order. */
  entriesAfter(afterSeq: number): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

export async function makeLifecycleFixture(): Promise<LifecycleFixture> {
  const tmp = await makeTmpDir('agent-ca-lifecycle-');
  const clock = new FixedClock(START);
  const authority = await createAuthority({ dataDir: tmp.dir, store: await createMemoryStore(), clock, env: {} });
  await authority.init({ keyType: 'p256' });
  let n = 0;
  return {
    authority,
    clock,
    tmp,
    async issue(req = {}) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return authority.issue({
        agentId: `agent-${++n}`,
        ...req,
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
      });
    },
    async headSeq() {
      return (await authority.audit.head())?.seq ?? 0;
    },
    async entriesAfter(afterSeq) {
      const out: AuditEntry[] = [];
      for await (const e of authority.store.audit.iterate({ fromSeq: afterSeq + 1 })) out.push(e);
      return out;
    },
    async close() {
      await authority.hooks.settle();
      await authority.close();
      await tmp.cleanup();
    },
  };
}

/** Runs `fn`, expects it to reject with an AgentCaError of `code`; returns the error. */
export async function expectAgentCaError(fn: () => Promise<unknown>, code: string): Promise<AgentCaError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof AgentCaError))
    throw new Error(`expected an AgentCaError ${code}, got ${caught === undefined ? 'no error' : inspect(caught)}`);
  if (caught.code !== code) throw new Error(`expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}
