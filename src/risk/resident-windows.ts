/**
 * The engine's windows under a memory budget (docs/risk-engine.md "Evicting windows"). Windows
 * are kept in least-recently-used order; when their bytes pass the budget, the least recently
 * used ones that no batch is working on are packed (window-codec.ts), written to the store's
 * meta under `<prefix><serial>` and dropped. The next batch, catch-up or score that needs one
 * loads it back first (`acquire`), so what the features read is exactly what they would have
 * read had it never left: restoring is invisible in the scores.
 *
 * Which serials are evicted is known only to this object (serial -> last bucket, ~100 bytes
 * each): a snapshot left in the store by an earlier run is never read (after a restart the
 * engine rebuilds its windows from the audit log, which stays the record) and is overwritten
 * when that window is evicted again.
 */
import { AgentCaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { errorMessage } from '../logger.js';
import type { Store, WriteOp } from '../store/ports.js';
import { CompactWindow } from './compact-window.js';
import { bucketOf, validateWindowShape, type BucketIncrement, type WindowShape } from './window.js';
import { decodeWindow, encodeWindow } from './window-codec.js';

/**
 * What a window costs beyond its typed arrays' contents: the object and its memo, the typed
 * arrays' headers and backing stores, the Map entry and the 32-character serial key. Measured
 * with scripts/bench/risk-memory.ts (heap bytes per agent minus typed-array bytes): ~660 with
 * one array (no amounts, no flags), ~840 with rows and sums.
 */
export const WINDOW_OVERHEAD_BYTES = 800;
/**
 * Evicting goes this far under the budget (at most 10% of it), so that one batch does not
 * evict every time, yet one trim writes a bounded amount (8 MiB of windows: ~550 always-on).
 */
const MARGIN_BYTES = 8 * 1024 ** 2;
/** Snapshots written per store commit. */
const WRITE_CHUNK = 256;

export interface ResidentWindowsOptions {
  shape: WindowShape;
  store: Store;
  /** Budget for the resident windows' bytes (typed arrays + WINDOW_OVERHEAD_BYTES each). */
  maxBytes: number;
  /** Meta key prefix of this engine's snapshots. */
  prefix: string;
  logger: Logger;
}

export interface ResidentWindowStats {
  resident: number;
  residentBytes: number;
  evicted: number;
  maxBytes: number;
  /** Windows written to the store / read back since start. */
  evictions: number;
  restores: number;
}

export class ResidentWindows {
  readonly shape: WindowShape;
  private readonly store: Store;
  private readonly maxBytes: number;
  private readonly prefix: string;
  private readonly logger: Logger;
  /** Map order is recency order: `touch` moves a window to the end. */
  private readonly resident = new Map<string, CompactWindow>();
  private bytes = 0;
  /** serial -> its last bucket, so a sweep knows an evicted window has expired without loading it */
  private readonly evicted = new Map<string, number>();
  /** packed, not yet committed: read from here until the write lands */
  private readonly unwritten = new Map<string, Uint8Array>();
  private readonly loading = new Map<string, Promise<void>>();
  /** windows a batch, catch-up or score is working on: never evicted */
  private readonly pins = new Map<string, number>();
  private evictions = 0;
  private restores = 0;
  /** after dropSnapshots: the evicted windows are gone, so no window may be used */
  private closed = false;

  constructor(opts: ResidentWindowsOptions) {
    validateWindowShape(opts.shape);
    if (!(opts.maxBytes >= 0))
      throw new AgentCaError('CONFIG_INVALID', `risk window budget must be >= 0 bytes (got ${opts.maxBytes})`);
    this.shape = opts.shape;
    this.store = opts.store;
    this.maxBytes = opts.maxBytes;
    this.prefix = opts.prefix;
    this.logger = opts.logger;
  }

  /**
   * Makes the windows of `serials` resident (loading evicted ones) and keeps them so until
   * `release`. Every read or write of a window happens between the two.
   */
  async acquire(serials: Iterable<string>): Promise<void> {
    if (this.closed) throw new AgentCaError('STORE_UNAVAILABLE', 'the risk engine discarded its evicted windows');
    const waits: Promise<void>[] = [];
    for (const serial of serials) {
      this.pins.set(serial, (this.pins.get(serial) ?? 0) + 1);
      const w = this.resident.get(serial);
      if (w) {
        this.resident.delete(serial);
        this.resident.set(serial, w);
      } else if (this.evicted.has(serial)) {
        waits.push(this.load(serial));
      }
    }
    if (waits.length === 0) return;
    const results = await Promise.allSettled(waits);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.release(serials);
      throw failed.reason;
    }
  }

  release(serials: Iterable<string>): void {
    for (const serial of serials) {
      const n = (this.pins.get(serial) ?? 0) - 1;
      if (n > 0) this.pins.set(serial, n);
      else this.pins.delete(serial);
    }
  }

  private load(serial: string): Promise<void> {
    let p = this.loading.get(serial);
    if (!p) {
      p = this.read(serial).finally(() => this.loading.delete(serial));
      this.loading.set(serial, p);
    }
    return p;
  }

  private async read(serial: string): Promise<void> {
    let bytes = this.unwritten.get(serial);
    if (!bytes) {
      const stored = await this.store.meta.get<string>(this.prefix + serial);
      if (this.resident.has(serial) || !this.evicted.has(serial)) return;
      bytes = this.unwritten.get(serial);
      if (!bytes) {
        if (typeof stored !== 'string')
          throw new AgentCaError('STORE_UNAVAILABLE', `the evicted risk window of ${serial} is missing from the store`);
        bytes = Buffer.from(stored, 'base64');
      }
    }
    this.put(serial, decodeWindow(this.shape, bytes));
    this.restores++;
  }

  private put(serial: string, w: CompactWindow): void {
    this.evicted.delete(serial);
    this.resident.set(serial, w);
    this.bytes += w.bytes + WINDOW_OVERHEAD_BYTES;
  }

  /** The resident window (acquired), or undefined when the certificate has none. */
  get(serial: string): CompactWindow | undefined {
    const w = this.resident.get(serial);
    if (!w && this.evicted.has(serial)) throw notAcquired(serial);
    return w;
  }

  /** Whether the certificate's window is in memory now. */
  isResident(serial: string): boolean {
    return this.resident.has(serial);
  }

  /** Whether the certificate has a window, resident or evicted. */
  has(serial: string): boolean {
    return this.resident.has(serial) || this.evicted.has(serial);
  }

  /** Counts one event into the certificate's window (created when it has none); see CompactWindow.add. */
  add(serial: string, timeMs: number, inc: BucketIncrement): boolean {
    let w = this.resident.get(serial);
    if (!w) {
      if (this.evicted.has(serial)) throw notAcquired(serial);
      this.put(serial, (w = new CompactWindow(this.shape)));
    }
    const before = w.bytes;
    const counted = w.add(timeMs, inc);
    this.bytes += w.bytes - before;
    return counted;
  }

  /**
   * Evicts least recently used, unpinned windows while the resident bytes are over the budget
   * (down to 8 MiB or 10% under it); resolves once their snapshots are written. A failed write is logged
   * and the windows it held are made resident again, so nothing is lost.
   */
  async trim(): Promise<number> {
    if (this.bytes <= this.maxBytes) return 0;
    const target = this.maxBytes - Math.min(this.maxBytes * 0.1, MARGIN_BYTES);
    const victims: [string, Uint8Array][] = [];
    for (const [serial, w] of this.resident) {
      if (this.bytes <= target) break;
      if (this.pins.has(serial)) continue;
      const bytes = encodeWindow(w);
      this.resident.delete(serial);
      this.bytes -= w.bytes + WINDOW_OVERHEAD_BYTES;
      this.evicted.set(serial, w.lastBucket);
      this.unwritten.set(serial, bytes);
      victims.push([serial, bytes]);
    }
    for (let i = 0; i < victims.length; i += WRITE_CHUNK) await this.write(victims.slice(i, i + WRITE_CHUNK));
    this.evictions += victims.length;
    return victims.length;
  }

  private async write(chunk: [string, Uint8Array][]): Promise<void> {
    const ops: WriteOp[] = chunk.map(([serial, bytes]) => ({
      op: 'putMeta',
      key: this.prefix + serial,
      value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    }));
    try {
      await this.store.commit(ops, { sync: false });
    } catch (e) {
      this.logger.error('risk engine: writing evicted windows failed; they stay in memory', {
        windows: chunk.length,
        error: errorMessage(e),
      });
      for (const [serial, bytes] of chunk) {
        if (this.unwritten.get(serial) !== bytes) continue;
        this.unwritten.delete(serial);
        if (this.evicted.has(serial)) this.put(serial, decodeWindow(this.shape, bytes));
      }
      return;
    }
    for (const [serial, bytes] of chunk) if (this.unwritten.get(serial) === bytes) this.unwritten.delete(serial);
  }

  /**
   * Drops every window, resident or evicted, with nothing live at `nowMs` (and deletes the
   * snapshots of the evicted ones); returns how many.
   */
  async sweep(nowMs: number): Promise<number> {
    let n = 0;
    for (const [serial, w] of this.resident) {
      if (!this.pins.has(serial) && w.idle(nowMs)) {
        this.resident.delete(serial);
        this.bytes -= w.bytes + WINDOW_OVERHEAD_BYTES;
        n++;
      }
    }
    const nowBucket = bucketOf(nowMs, this.shape.bucketMs);
    const gone: WriteOp[] = [];
    for (const [serial, last] of this.evicted) {
      if (last > nowBucket - this.shape.bucketCount || this.loading.has(serial)) continue;
      this.evicted.delete(serial);
      this.unwritten.delete(serial);
      gone.push({ op: 'deleteMeta', key: this.prefix + serial });
    }
    for (let i = 0; i < gone.length; i += WRITE_CHUNK) await this.store.commit(gone.slice(i, i + WRITE_CHUNK));
    return n + gone.length;
  }

  /** Deletes every snapshot this object wrote (a clean shutdown); the evicted windows are gone after it. */
  async dropSnapshots(): Promise<void> {
    this.closed = true;
    const gone: WriteOp[] = [...this.evicted.keys()].map((serial) => ({ op: 'deleteMeta', key: this.prefix + serial }));
    this.evicted.clear();
    this.unwritten.clear();
    for (let i = 0; i < gone.length; i += WRITE_CHUNK) await this.store.commit(gone.slice(i, i + WRITE_CHUNK));
  }

  /** Resident and evicted windows. */
  get size(): number {
    return this.resident.size + this.evicted.size;
  }

  /** Typed-array bytes of the resident windows (walks them). */
  get typedArrayBytes(): number {
    let n = 0;
    for (const w of this.resident.values()) n += w.bytes;
    return n;
  }

  stats(): ResidentWindowStats {
    return {
      resident: this.resident.size,
      residentBytes: this.bytes,
      evicted: this.evicted.size,
      maxBytes: this.maxBytes,
      evictions: this.evictions,
      restores: this.restores,
    };
  }
}

function notAcquired(serial: string): AgentCaError {
  // A programming error in the engine: reading or counting into a window that was not loaded
  // would score (or start) it from nothing.
  return new AgentCaError('STORE_UNAVAILABLE', `risk window of ${serial} used without being acquired`);
}
