/**
 * Per-tenant event quota (docs/tenancy.md): a token bucket per tenant refilled at the tenant's
 * events/s, holding at most one second's worth. A batch takes all its events or none: when the
 * bucket lacks them the batch is refused (429 with Retry-After, the seconds until it would
 * fit) and nothing of it is stored. A batch larger than one second's worth could never fit and
 * is refused as invalid instead, so a client does not retry it forever. The clock is injected.
 */
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';

interface Bucket {
  tokens: number;
  atMs: number;
  rate: number;
}

export class EventQuota {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    private readonly rateOf: (tenant: string) => number,
  ) {}

  /** Takes `n` events from the tenant's bucket, or throws QUOTA_EXCEEDED (details.retryAfterSeconds). */
  take(tenant: string, n: number): void {
    const rate = this.rateOf(tenant);
    if (n > rate) {
      throw new AgentCaError(
        'INPUT_INVALID',
        `a batch of ${n} events exceeds tenant ${tenant}'s quota of ${rate} events/s: send smaller batches`,
        { fields: { events: `at most ${rate} per batch for this tenant` } },
      );
    }
    const now = this.clock.now().getTime();
    let b = this.buckets.get(tenant);
    if (!b || b.rate !== rate) this.buckets.set(tenant, (b = { tokens: rate, atMs: now, rate }));
    b.tokens = Math.min(rate, b.tokens + (Math.max(0, now - b.atMs) * rate) / 1000);
    b.atMs = now;
    if (b.tokens < n) {
      const retryAfterSeconds = Math.max(1, Math.ceil((n - b.tokens) / rate));
      throw new AgentCaError(
        'QUOTA_EXCEEDED',
        `tenant ${tenant} is over its quota of ${rate} events/s; retry in ${retryAfterSeconds} s`,
        { tenant, eventsPerSecond: rate, retryAfterSeconds },
      );
    }
    b.tokens -= n;
  }

  /** Gives back events taken for a batch that was then refused for another reason. */
  refund(tenant: string, n: number): void {
    const b = this.buckets.get(tenant);
    if (b) b.tokens = Math.min(b.rate, b.tokens + n);
  }
}
