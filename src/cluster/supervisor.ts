/**
 * The `serve --workers N` primary's side of node:cluster: forks N workers (each told its
 * index, role and upstream through the environment), restarts a worker that dies, and runs
 * the invalidation barrier of protocol.ts: `invalidate()` resolves once every listening
 * worker has acknowledged, or has been killed for not doing so within `ackTimeoutMs` (its
 * cache dies with it, so the guarantee holds either way).
 */
import cluster, { type Worker } from 'node:cluster';
import { systemClock, type Clock } from '../clock.js';
import { isClusterMessage, type ClusterMessage, type InvalidateMessage, type ListeningMessage } from './protocol.js';

export interface SupervisorOptions {
  count: number;
  /** Environment of worker `index` (merged over this process's). */
  env(index: number): Record<string, string>;
  log(line: string): void;
  /** Called each time a worker (first start or restart) reports its listener. */
  onListening?(index: number, msg: ListeningMessage): void;
  ackTimeoutMs?: number;
  /** Source of time for the restart back-off (default: the system clock). */
  clock?: Clock;
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  listening: boolean;
  startedAt: number;
  acked: number;
  waiters: { gen: number; resolve: () => void }[];
  restarts: number;
}

export class WorkerSupervisor {
  private readonly slots: Slot[];
  private gen = 0;
  private stopping = false;
  private readonly firstListen: Promise<ListeningMessage>[] = [];
  private readonly firstListenResolvers: ((m: ListeningMessage) => void)[] = [];

  constructor(private readonly opts: SupervisorOptions) {
    this.slots = Array.from({ length: opts.count }, (_, index) => ({
      index,
      worker: undefined,
      listening: false,
      startedAt: 0,
      acked: 0,
      waiters: [],
      restarts: 0,
    }));
    for (let i = 0; i < opts.count; i++)
      this.firstListen.push(new Promise((resolve) => this.firstListenResolvers.push(resolve)));
  }

  /** Forks every worker; resolves with their listening messages (or rejects on `timeoutMs`). */
  async start(timeoutMs = 120_000): Promise<ListeningMessage[]> {
    for (const s of this.slots) this.fork(s);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`workers did not start within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([Promise.all(this.firstListen), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** pids of the workers now running, by index (tests, operators). */
  pids(): (number | undefined)[] {
    return this.slots.map((s) => s.worker?.process.pid);
  }

  send(index: number, msg: ClusterMessage): void {
    const w = this.slots[index]?.worker;
    if (!w || !w.isConnected()) return;
    try {
      w.send(msg);
    } catch {
      // a worker whose channel closed is restarting: it starts with empty state
    }
  }

  broadcast(msg: ClusterMessage): void {
    for (const s of this.slots) this.send(s.index, msg);
  }

  /** Sends the invalidation to every worker; resolves once each listening one acknowledged it. */
  async invalidate(inv: Omit<InvalidateMessage, 't' | 'gen'>): Promise<void> {
    const gen = ++this.gen;
    const msg: InvalidateMessage = { t: 'invalidate', gen, ...inv };
    const waits: Promise<void>[] = [];
    for (const s of this.slots) {
      if (!s.worker || !s.worker.isConnected()) continue;
      this.send(s.index, msg);
      // A worker not yet listening holds no answers; its handler is installed before it listens.
      if (s.listening) waits.push(this.waitAck(s, gen));
    }
    await Promise.all(waits);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        if (!w || w.isDead()) return;
        const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        w.process.kill('SIGTERM');
        const timer = setTimeout(() => w.process.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private waitAck(s: Slot, gen: number): Promise<void> {
    if (s.acked >= gen) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const w = s.worker;
      const timer = setTimeout(() => {
        this.opts.log(`worker ${s.index} did not acknowledge an invalidation in time: killing it (it restarts empty)`);
        w?.process.kill('SIGKILL');
        resolve();
      }, this.opts.ackTimeoutMs ?? 5_000);
      s.waiters.push({
        gen,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private release(s: Slot, upTo: number): void {
    const keep: Slot['waiters'] = [];
    for (const w of s.waiters) {
      if (w.gen <= upTo) w.resolve();
      else keep.push(w);
    }
    s.waiters = keep;
  }

  private fork(s: Slot): void {
    const w = cluster.fork({ ...this.opts.env(s.index), AGENT_CA_WORKER_INDEX: String(s.index) });
    s.worker = w;
    s.listening = false;
    s.startedAt = (this.opts.clock ?? systemClock).now().getTime();
    s.acked = this.gen; // it starts empty: nothing sent before it existed concerns it
    w.on('message', (m: unknown) => {
      if (!isClusterMessage(m)) return;
      if (m.t === 'ack') {
        s.acked = Math.max(s.acked, m.gen);
        this.release(s, s.acked);
      } else if (m.t === 'listening') {
        s.listening = true;
        this.firstListenResolvers[s.index]?.(m);
        this.opts.onListening?.(s.index, m);
      }
    });
    w.on('exit', (code, signal) => {
      if (s.worker !== w) return;
      s.worker = undefined;
      s.listening = false;
      // Its cache died with it: nothing to wait for.
      this.release(s, Number.POSITIVE_INFINITY);
      if (this.stopping) return;
      s.restarts++;
      const quick = (this.opts.clock ?? systemClock).now().getTime() - s.startedAt < 5_000;
      this.opts.log(
        `worker ${s.index} (pid ${w.process.pid}) exited (${signal ?? `code ${code}`}); restarting${quick ? ' in 1 s' : ''}`,
      );
      const again = () => {
        if (!this.stopping) this.fork(s);
      };
      if (quick) setTimeout(again, 1_000).unref();
      else again();
    });
  }
}
