/**
 * The append-only, hash-chained audit log over a Store (docs/architecture.md "audit the intent before the
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
import { errorMessage, stderrLogger, type Logger } from '../logger.js';
import {
  batchChangesStatus,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditHead,
  type CommitOptions,
  type CommitResult,
  type Store,
  type WriteOp,
} from '../store/ports.js';
import { canonicalJson } from './canonical-json.js';
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
  /**
   * Also sign one over the head whenever the last is older than this (0 = in every group
   * commit), and at most this long after the last append: no entry waits longer for a
   * signature. Undefined: only the seq multiples above.
   */
  checkpointIntervalMs?: number;
  /** Where a failed background checkpoint is reported (default: stderr). */
  logger?: Logger;
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

/** Slack on top of the checkpoint interval before verify() calls an uncovered entry forged. */
const COVERAGE_MARGIN_MS = 5_000;

/** Most appends one group commit carries (bounds batch size and latency). */
const MAX_GROUP = 256;
/**
 * Appends refused because another writer moved the head (another process on a shared
 * PostgreSQL store) are rebuilt on the fresh head and retried this many times.
 */
const HEAD_RETRIES = 8;

export class AuditLog {
  checkpointEvery: number;
  private checkpointIntervalMs: number | undefined;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private signer: Signer | undefined;
  /** The newest checkpoint this process committed (seq and when), or undefined before the first. */
  private lastCheckpoint: { seq: number; atMs: number } | undefined;
  private checkpointTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** When this log started signing checkpoints (the interval's origin before the first one). */
  private signingSince = 0;
  private readonly mutex = new Mutex();
  private readonly queue: QueuedAppend[] = [];
  private flushing = false;
  /** undefined = not known (load from the store); null = empty log. */
  private cachedHead: AuditHead | null | undefined;

  constructor(opts: AuditLogOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.logger = opts.logger ?? stderrLogger;
    this.signer = opts.signer;
    this.checkpointEvery = opts.signer ? Math.max(0, Math.floor(opts.checkpointEvery ?? 1000)) : 0;
    this.checkpointIntervalMs = opts.signer ? opts.checkpointIntervalMs : undefined;
    this.signingSince = this.clock.now().getTime();
  }

  /**
   * Start signing checkpoints with `signer` (the issuing CA's key, once the CA is loaded): every
   * `checkpointEvery` entries and, with `checkpointIntervalMs`, at most that long after any append.
   */
  useSigner(signer: Signer, opts: { checkpointEvery?: number; checkpointIntervalMs?: number } = {}): void {
    this.signer = signer;
    this.checkpointEvery = Math.max(0, Math.floor(opts.checkpointEvery ?? 1000));
    this.checkpointIntervalMs = opts.checkpointIntervalMs;
    this.signingSince = this.clock.now().getTime();
  }

  /** The key checkpoints are signed with (SPKI DER), when there is one. */
  get checkpointKey(): Uint8Array | undefined {
    return this.signer?.publicKeyInfo;
  }

  /** The latest signed checkpoint in the store: what an outside party keeps (GET /api/v1/audit/head). */
  latestCheckpoint(): Promise<AuditCheckpoint | undefined> {
    return this.store.audit.latestCheckpoint();
  }

  /**
   * The key that signs checkpoints, for documents that vouch for a range of this log (the
   * compliance report manifest, docs/compliance-reports.md). Its checkpoint messages start with
   * a fixed label, so no other signed bytes can be mistaken for one.
   */
  get checkpointSigner(): Signer | undefined {
    return this.signer;
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
      if (this.flushing) return;
      // Start the group on the next turn of the event loop, not now: appends made by the
      // continuations of the group just committed (the next issuances in flight) then join one
      // batch instead of the first of them going alone and the rest waiting a whole write.
      this.flushing = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
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
    let head: AuditHead | null;
    const all: WriteOp[] = [];
    const perItem: AuditEntry[][] = [];
    let covered = this.lastCheckpoint?.seq ?? 0;
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
          if (built.ops.length > 1) covered = built.entry.seq;
          head = { seq: built.entry.seq, hash: built.entry.hash };
        }
        perItem.push(entries);
      }
      if (head && head.seq > covered && this.checkpointDue()) {
        all.push({ op: 'putAuditCheckpoint', checkpoint: await signCheckpoint(this.signer!, head, this.clock.now()) });
        covered = head.seq;
      }
    } catch (e) {
      for (const item of group) item.reject(e);
      return;
    }
    const sync = group.some((g) => g.opts?.sync ?? batchChangesStatus(g.ops));
    try {
      const result = await this.store.commit(all, { sync });
      this.cachedHead = head;
      this.committed(head, covered);
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
    const details = normalisedDetails(input.details);
    const entry = hashEntry(
      {
        seq: (head?.seq ?? 0) + 1,
        time: this.clock.now(),
        actor: input.actor,
        action: input.action,
        subject: input.subject,
        details: details.value,
        prevHash: head?.hash ?? GENESIS_HASH,
      },
      details.json,
    );
    const ops: WriteOp[] = [{ op: 'appendAudit', entry }];
    // A checkpoint at every multiple of checkpointEvery: verify() can then tell a deleted checkpoint.
    if (this.checkpointEvery > 0 && entry.seq % this.checkpointEvery === 0) {
      ops.push({
        op: 'putAuditCheckpoint',
        checkpoint: await signCheckpoint(this.signer!, { seq: entry.seq, hash: entry.hash }, entry.time),
      });
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
      const covered = ops
        .filter((o) => o.op === 'putAuditCheckpoint')
        .reduce(
          (m, o) => Math.max(m, (o as { checkpoint: AuditCheckpoint }).checkpoint.seq),
          this.lastCheckpoint?.seq ?? 0,
        );
      return {
        entries,
        ops,
        commit: async (other = [], opts) => {
          if (done) throw new AgentCaError('INTERNAL', 'this prepared audit append was already committed or released');
          try {
            const result = await this.store.commit([...other, ...ops], opts);
            this.cachedHead = newHead;
            this.committed(newHead, covered);
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
      // Read from the store, not the cache: other processes may share it (PostgreSQL peers),
      // and one of them may already have signed a checkpoint over this head.
      const head = await this.store.audit.head();
      if (!head) return null;
      const covered = async (): Promise<AuditCheckpoint | undefined> => {
        const latest = await this.store.audit.latestCheckpoint();
        return latest && latest.seq >= head.seq ? latest : undefined;
      };
      const already = await covered();
      if (already) {
        this.committed(head, already.seq);
        return already;
      }
      const checkpoint = await signCheckpoint(signer, head, this.clock.now());
      try {
        await this.store.commit([{ op: 'putAuditCheckpoint', checkpoint }]);
      } catch (e) {
        // A peer signed the same head in between: its checkpoint covers it just as well.
        const raced = await covered();
        if (!raced) throw e;
        this.committed(head, raced.seq);
        return raced;
      }
      this.committed(head, head.seq);
      return checkpoint;
    } finally {
      release();
    }
  }

  /** Stops the checkpoint timer and signs a last checkpoint over an uncovered head (clean shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
    if (this.checkpointIntervalMs === undefined || !this.signer) return;
    const head = this.cachedHead ?? (await this.store.audit.head());
    if (head && head.seq > (this.lastCheckpoint?.seq ?? 0)) {
      await this.checkpoint().catch((e: unknown) =>
        this.logger.error('signing the final audit checkpoint failed', { error: errorMessage(e) }),
      );
    }
  }

  private checkpointDue(): boolean {
    if (this.checkpointIntervalMs === undefined || !this.signer) return false;
    // Counted from the last checkpoint, or from when signing started: a short-lived process
    // (one CLI command) signs once, at close(), not also at its first append.
    const since = this.lastCheckpoint?.atMs ?? this.signingSince;
    return this.clock.now().getTime() - since >= this.checkpointIntervalMs;
  }

  /** After a commit: remember the newest checkpoint, and make sure an uncovered head gets one soon. */
  private committed(head: AuditHead | null, covered: number): void {
    if (covered > (this.lastCheckpoint?.seq ?? 0))
      this.lastCheckpoint = { seq: covered, atMs: this.clock.now().getTime() };
    if (
      !head ||
      head.seq <= covered ||
      this.checkpointIntervalMs === undefined ||
      !this.signer ||
      this.closed ||
      this.checkpointTimer
    )
      return;
    const since = this.clock.now().getTime() - (this.lastCheckpoint?.atMs ?? this.signingSince);
    const wait = Math.max(0, Math.min(this.checkpointIntervalMs, this.checkpointIntervalMs - since));
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (this.closed) return;
      this.checkpoint().catch((e: unknown) =>
        this.logger.error('signing a background audit checkpoint failed', { error: errorMessage(e) }),
      );
    }, wait);
    this.checkpointTimer.unref();
  }

  /** Verifies the chain; defaults to this log's signer key and checkpoint interval. */
  verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    const publicKeyInfo = opts.publicKeyInfo ?? this.signer?.publicKeyInfo;
    const now = this.clock.now().getTime();
    // This log signs a checkpoint at most checkpointIntervalMs after every append; allow that
    // plus a margin for a timer that ran late and for clock skew between writers.
    const coverage =
      this.checkpointIntervalMs === undefined
        ? {}
        : {
            requireCoveredBefore: new Date(now - this.checkpointIntervalMs - COVERAGE_MARGIN_MS),
            notAfter: new Date(now + COVERAGE_MARGIN_MS),
          };
    return verifyAuditChain(this.store.audit, {
      ...coverage,
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

/** The details in their JSON round-trip form (what the hash covers and the store keeps), with their canonical text. */
function normalisedDetails(details: Record<string, unknown> | undefined): {
  value: Record<string, unknown>;
  json: string;
} {
  if (details === undefined) return { value: {}, json: '{}' };
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    throw new AgentCaError('INPUT_INVALID', 'audit details must be a JSON object');
  }
  const json = canonicalJson(details);
  return { value: JSON.parse(json) as Record<string, unknown>, json };
}
