/**
 * LISTEN side of the peer notifications (notify.ts): one dedicated connection per process.
 * Notices arrive only for committed transactions, in commit order. When the connection drops,
 * notices sent meanwhile are lost, so after every reconnect the listener reports a notice
 * without serials ("drop everything cached") before delivering new ones.
 */
import pg from 'pg';
import type { PostgresTarget } from './connection.js';
import { channelFor, parseNotice, type ChangeNotice } from './notify.js';
import { logFailure } from '../../logger.js';

export interface ChangeListenerOptions {
  /** Wait before reconnecting after the connection fails (default 1 s). */
  reconnectMs?: number;
  onError?: (e: unknown) => void;
}

export class ChangeListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly target: PostgresTarget,
    private readonly onNotice: (n: ChangeNotice) => void,
    private readonly opts: ChangeListenerOptions = {},
  ) {}

  /** Resolves once LISTEN is in place (rejects if the first connection fails). */
  start(): Promise<void> {
    this.stopped = false;
    this.connecting = this.connect(false);
    return this.connecting;
  }

  private async connect(resync: boolean): Promise<void> {
    const client = new pg.Client({
      connectionString: this.target.connectionString,
      application_name: 'agent-ca-listener',
    });
    client.on('notification', (m) => {
      if (m.channel !== channelFor(this.target.schema)) return;
      const n = parseNotice(m.payload);
      if (n) this.onNotice(n);
    });
    const lost = (e?: unknown): void => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(logFailure('closing the lost LISTEN connection'));
      if (e) this.opts.onError?.(e);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`listen ${channelFor(this.target.schema)}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    if (resync) this.onNotice({ seq: -1 });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect(true).catch((e: unknown) => {
        this.opts.onError?.(e);
        this.scheduleReconnect();
      });
    }, this.opts.reconnectMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Only waits for a connection attempt to settle: its failure went to start()'s caller or onError.
    await Promise.allSettled([this.connecting]);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(logFailure('closing the LISTEN connection'));
  }
}
