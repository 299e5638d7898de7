/**
 * One leader among the processes sharing a schema, for work that must run exactly once (CRL
 * publication): a session-level `pg_try_advisory_lock` held on a dedicated connection. The
 * lock lives as long as that connection: when the leader exits, is killed or loses its
 * network, PostgreSQL drops the session and the lock (after TCP keepalive detects a silent
 * peer), and a follower, which retries every `retryMs`, takes over within that interval.
 */
import pg from 'pg';
import { advisoryKey, type PostgresTarget } from './connection.js';
import { logFailure } from '../../logger.js';

export interface LeaderOptions {
  /** How often a follower tries to take the lock (default 2 s). */
  retryMs?: number;
  onChange?: (leader: boolean) => void;
  onError?: (e: unknown) => void;
}

export class LeaderElection {
  private client: pg.Client | undefined;
  private leader = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private attempt: Promise<void> | undefined;
  private readonly key: string;

  constructor(
    private readonly target: PostgresTarget,
    purpose: string,
    private readonly opts: LeaderOptions = {},
  ) {
    this.key = advisoryKey(target.schema, `leader:${purpose}`);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Makes the first attempt (so a lone process is leader when this resolves), then keeps trying. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.tryOnce();
  }

  private tryOnce(): Promise<void> {
    this.attempt = (async () => {
      try {
        if (!this.client) {
          const client = new pg.Client({
            connectionString: this.target.connectionString,
            application_name: 'agent-ca-leader',
            keepAlive: true,
          });
          const lost = (e?: unknown): void => {
            if (this.client !== client) return;
            this.client = undefined;
            client.end().catch(logFailure('closing the leader election connection'));
            if (e) this.opts.onError?.(e);
            this.set(false);
            this.schedule();
          };
          client.on('error', lost);
          client.on('end', () => lost());
          await client.connect();
          this.client = client;
        }
        if (!this.leader) {
          const r = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [this.key]);
          this.set(r.rows[0]?.ok === true);
        }
      } catch (e) {
        this.opts.onError?.(e);
      } finally {
        this.schedule();
      }
    })();
    return this.attempt;
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.opts.onChange?.(leader);
  }

  private schedule(): void {
    if (this.stopped || this.leader || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tryOnce();
    }, this.opts.retryMs ?? 2000);
    this.timer.unref();
  }

  /** Gives up leadership (closing the session releases the lock) and stops trying. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.attempt;
    const c = this.client;
    this.client = undefined;
    this.set(false);
    await c?.end().catch(logFailure('closing the leader election connection'));
  }
}
