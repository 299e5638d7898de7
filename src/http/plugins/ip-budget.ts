/**
 * Per-IP token bucket for live OCSP signing (nonce requests cost a signature each). An IP over
 * its budget is still answered, from pre-signed responses only (without its nonce).
 */
import { systemClock, type Clock } from '../../clock.js';

export class IpBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** True if `ip` may spend one token now (does not spend it). */
  has(ip: string): boolean {
    return this.refill(ip).tokens >= 1;
  }

  spend(ip: string): void {
    this.refill(ip).tokens -= 1;
  }

  private refill(ip: string): { tokens: number; at: number } {
    const t = this.clock.now().getTime();
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory under address churn
      b = { tokens: this.burst, at: t };
      this.buckets.set(ip, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    return b;
  }
}
