/**
 * An in-process FIFO mutex. Store commits and audit appends each go through one, so that a
 * "check then write" (serial collision, next change seq, audit prevHash) is one critical
 * section. It does not coordinate processes: LevelDB's LOCK file keeps other processes out,
 * and PostgreSQL uses its own transactions.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs fn when every earlier caller has finished; a failure does not block later callers. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(() => fn());
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Takes the lock and returns its release function (for holds that span caller code). */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => held);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  }
}

/**
 * One FIFO mutex per key, dropped when idle: callers on the same key (e.g. one certificate
 * serial) run one after another, different keys run concurrently.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
