/**
 * The append-only, hash-chained audit log over a Store (DESIGN.md "audit the intent before the
 * act and the outcome after"). Appends are serialised in-process by a mutex that also covers
 * the store commit, so seq and prevHash are assigned from a head that cannot move underneath.
 *
 * Audit + act in one atomic commit: `appendWith(ops, inputs)` (or, for callers that need the
 * entries before they build their ops, `entriesFor(inputs)` -> PreparedAppend -> `commit(ops)`)
 * writes the caller's ops and the audit entries in ONE store.commit, so a revocation and its
 * audit outcome land together or not at all. The store re-checks the link (AUDIT_CHAIN_BROKEN),
 * so a second writer on the same store cannot fork the chain; the log then re-reads the head
 * and retries once.
 */
import { AgentCaError, isAgentCaError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Signer } from '../signer/signer.js';
import { Mutex } from '../store/mutex.js';
import { batchChangesStatus, type AuditCheckpoint, type AuditEntry, type AuditHead, type CommitOptions, type CommitResult, type Store, type WriteOp } from '../store/ports.js';
import { jsonNormalise } from './canonical-json.js';
import { signCheckpoint } from './checkpoint.js';
import { GENESIS_HASH, hashEntry } from './entry-hash.js';
import { exportJsonLines, type ExportOptions } from './export.js';
import { verifyAuditChain, type VerifyOptions, type VerifyResult } from './verify.js';

export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

export interface AuditLogOptions {
  store: Store;
  clock: Clock;
  /** Signs checkpoints. Without one, checkpoint() refuses and none are written automatically. */
  signer?: Signer;
  /** Sign a checkpoint whenever an entry's seq is a multiple of this (0 = on demand only). Default 1000. */
  checkpointEvery?: number;
}

/** Entries with seq/prevHash/hash assigned, holding the log's lock until commit or release. */
export interface PreparedAppend {
  readonly entries: readonly AuditEntry[];
  /** appendAudit (+ putAuditCheckpoint) ops; commit them through commit(), not store.commit. */
  readonly ops: readonly WriteOp[];
  /** Commits `other` ops and the audit ops in one atomic batch, then releases the lock. */
  commit(other?: readonly WriteOp[], opts?: CommitOptions): Promise<CommitResult>;
  /** Gives the lock back without writing anything. Idempotent. */
  release(): void;
}

interface QueuedAppend {
  ops: readonly WriteOp[];
  inputs: readonly AuditInput[];
  opts: CommitOptions | undefined;
  resolve(v: { entries: AuditEntry[]; result: CommitResult }): void;
  reject(e: unknown): void;
}

/** Most appends one group commit carries (bounds batch size and latency). */
const MAX_GROUP = 256;
/**
 * Appends refused because another writer moved the head (another process on a shared
 * PostgreSQL store) are rebuilt on the fresh head and retried this many times.
 */
const HEAD_RETRIES = 8;

export class AuditLog {
  readonly checkpointEvery: number;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly signer: Signer | undefined;
  private readonly mutex = new Mutex();
  private readonly queue: QueuedAppend[] = [];
  private flushing = false;
  /** undefined = not known (load from the store); null = empty log. */
  private cachedHead: AuditHead | null | undefined;

  constructor(opts: AuditLogOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.signer = opts.signer;
    this.checkpointEvery = opts.signer ? Math.max(0, Math.floor(opts.checkpointEvery ?? 1000)) : 0;
  }

  async head(): Promise<AuditHead | null> {
    return this.store.audit.head();
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    const { entries } = await this.appendWith([], input);
    return entries[0]!;
  }

  /**
   * Commits `ops` and the audit entries for `inputs` atomically; returns the entries written.
   * Concurrent calls are group-committed: everything queued while one store commit is in
   * flight goes into the next single batch (one write, one fsync), each item's entries chained
   * in queue order. If a group batch is refused (e.g. one item's serial collides), the items
   * are committed one by one so only the offending one fails.
   */
  appendWith(
    ops: readonly WriteOp[],
    inputs: AuditInput | readonly AuditInput[],
    opts?: CommitOptions,
  ): Promise<{ entries: AuditEntry[]; result: CommitResult }> {
    const list = Array.isArray(inputs) ? (inputs as readonly AuditInput[]) : [inputs as AuditInput];
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, inputs: list, opts, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        const release = await this.mutex.acquire();
        try {
          await this.commitGroup(group);
        } finally {
          release();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commitGroup(group: QueuedAppend[], attempt = 0): Promise<void> {
    let head: AuditHead | null = null;
    const all: WriteOp[] = [];
    const perItem: AuditEntry[][] = [];
    try {
      // Inside the try: a store that fails (or was closed) rejects the queued appends instead
      // of leaving their promises pending forever.
      head = await this.loadHead();
      for (const item of group) {
        const entries: AuditEntry[] = [];
        all.push(...item.ops);
        for (const input of item.inputs) {
          const built = await this.buildEntry(input, head);
          entries.push(built.entry);
          all.push(...built.ops);
          head = { seq: built.entry.seq, hash: built.entry.hash };
        }
        perItem.push(entries);
      }
    } catch (e) {
      for (const item of group) item.reject(e);
      return;
    }
    const sync = group.some((g) => g.opts?.sync ?? batchChangesStatus(g.ops));
    try {
      const result = await this.store.commit(all, { sync });
      this.cachedHead = head;
      // StatusChanges come back in op order: hand each item its own.
      let at = 0;
      group.forEach((item, i) => {
        const n = item.ops.filter((o) => o.op === 'putRevocation' || o.op === 'deleteRevocation').length;
        item.resolve({ entries: perItem[i]!, result: { changes: result.changes.slice(at, at + n) } });
        at += n;
      });
    } catch (e) {
      this.cachedHead = undefined; // re-read next time: someone else may have moved it
      if (group.length > 1) {
        for (const item of group) await this.commitGroup([item]);
      } else if (attempt < HEAD_RETRIES && isAgentCaError(e) && e.is('AUDIT_CHAIN_BROKEN')) {
        await this.commitGroup(group, attempt + 1);
      } else {
        group[0]!.reject(e);
      }
    }
  }

  private async buildEntry(input: AuditInput, head: AuditHead | null): Promise<{ entry: AuditEntry; ops: WriteOp[] }> {
    const entry = hashEntry({
      seq: (head?.seq ?? 0) + 1,
      time: this.clock.now(),
      actor: input.actor,
      action: input.action,
      subject: input.subject,
      details: normaliseDetails(input.details),
      prevHash: head?.hash ?? GENESIS_HASH,
    });
    const ops: WriteOp[] = [{ op: 'appendAudit', entry }];
    if (this.checkpointEvery > 0 && entry.seq % this.checkpointEvery === 0) {
      ops.push({ op: 'putAuditCheckpoint', checkpoint: await signCheckpoint(this.signer!, { seq: entry.seq, hash: entry.hash }, entry.time) });
    }
    return { entry, ops };
  }

  /**
   * Takes the log's lock, assigns seq/time/prevHash/hash to the entries (signing a checkpoint
   * when one falls due) and hands them back with their WriteOps. The caller MUST call
   * commit() or release(); until then other appends wait.
   */
  async entriesFor(inputs: AuditInput | readonly AuditInput[]): Promise<PreparedAppend> {
    const list = Array.isArray(inputs) ? (inputs as readonly AuditInput[]) : [inputs as AuditInput];
    const release = await this.mutex.acquire();
    let done = false;
    const finish = (): void => {
      done = true;
      release();
    };
    try {
      let head = await this.loadHead();
      const entries: AuditEntry[] = [];
      const ops: WriteOp[] = [];
      for (const input of list) {
        const built = await this.buildEntry(input, head);
        entries.push(built.entry);
        ops.push(...built.ops);
        head = { seq: built.entry.seq, hash: built.entry.hash };
      }
      const newHead = head;
      return {
        entries,
        ops,
        commit: async (other = [], opts) => {
          if (done) throw new AgentCaError('INTERNAL', 'this prepared audit append was already committed or released');
          try {
            const result = await this.store.commit([...other, ...ops], opts);
            this.cachedHead = newHead;
            return result;
          } catch (e) {
            this.cachedHead = undefined; // re-read next time: someone else may have moved it
            throw e;
          } finally {
            finish();
          }
        },
        release: () => {
          if (done) return;
          this.cachedHead = undefined; // the caller may have committed the ops itself
          finish();
        },
      };
    } catch (e) {
      finish();
      throw e;
    }
  }

  /** Signs the current head on demand (e.g. at shutdown, or before an export). */
  async checkpoint(): Promise<AuditCheckpoint | null> {
    if (!this.signer) throw new AgentCaError('CONFIG_INVALID', 'audit checkpoints need a signer');
    const signer = this.signer;
    const release = await this.mutex.acquire();
    try {
      const head = await this.loadHead();
      if (!head) return null;
      const checkpoint = await signCheckpoint(signer, head, this.clock.now());
      await this.store.commit([{ op: 'putAuditCheckpoint', checkpoint }]);
      return checkpoint;
    } finally {
      release();
    }
  }

  /** Verifies the chain; defaults to this log's signer key and checkpoint interval. */
  verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    const publicKeyInfo = opts.publicKeyInfo ?? this.signer?.publicKeyInfo;
    return verifyAuditChain(this.store.audit, {
      ...opts,
      ...(publicKeyInfo ? { publicKeyInfo } : {}),
      requireCheckpointEvery: opts.requireCheckpointEvery ?? this.checkpointEvery,
    });
  }

  exportJsonLines(opts: ExportOptions = {}): AsyncGenerator<string> {
    return exportJsonLines(this.store.audit, opts);
  }

  private async loadHead(): Promise<AuditHead | null> {
    if (this.cachedHead === undefined) this.cachedHead = await this.store.audit.head();
    return this.cachedHead;
  }
}

function normaliseDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (details === undefined) return {};
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new AgentCaError('INPUT_INVALID', 'audit details must be a JSON object');
  }
  // Store exactly what the hash covers: the JSON round-trip form (Dates become ISO strings).
  return jsonNormalise(details);
}
