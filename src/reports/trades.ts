/**
 * Trades and transactions of the subject over the range, read from the `events.ingested`
 * entries (src/risk/audit-record.ts): every event carrying an amount or a market counts, per
 * (market, currency), with exact decimal totals; the breaches are the events the risk engine
 * flagged at ingest time against the certificate's own agentPolicy (`amount`: over
 * maxTransactionSize, `market`: not in allowedMarkets), so the report says what the engine saw.
 */
import { decimalUnits, formatDecimalUnits } from '../asn1/decimal-amount.js';
import { EVENT_FIELDS } from '../risk/audit-record.js';
import type { AuditEntry } from '../store/ports.js';
import type { TradeBreach, TradeDay, TradeGroup } from './types.js';

const NONE = '-';

export class TradeTally {
  events = 0;
  private readonly groups = new Map<
    string,
    { market: string; currency: string; count: number; units: bigint; breaches: number }
  >();
  private readonly days = new Map<string, TradeDay>();
  readonly breaches: TradeBreach[] = [];

  /** Counts the subject's events of one `events.ingested` entry. */
  add(entry: AuditEntry, serials: ReadonlySet<string>): void {
    const d = entry.details;
    if (!Array.isArray(d.events) || !Array.isArray(d.fields) || d.fields.join() !== EVENT_FIELDS.join()) return;
    for (const t of d.events as unknown[]) {
      if (!Array.isArray(t) || t.length !== EVENT_FIELDS.length) continue;
      const [serial, time, , , , amount, currency, market, flags] = t as (string | null)[];
      if (typeof serial !== 'string' || !serials.has(serial) || typeof time !== 'string') continue;
      if (amount === null && market === null) continue;
      this.events++;
      const f = typeof flags === 'string' ? flags.split(',') : [];
      const what = [
        ...(f.includes('amount') ? ['amount over maxTransactionSize'] : []),
        ...(f.includes('market') ? ['market not in allowedMarkets'] : []),
      ];
      const key = `${market ?? NONE}\u0000${currency ?? NONE}`;
      let g = this.groups.get(key);
      if (!g)
        this.groups.set(
          key,
          (g = { market: market ?? NONE, currency: currency ?? NONE, count: 0, units: 0n, breaches: 0 }),
        );
      g.count++;
      if (typeof amount === 'string') {
        try {
          g.units += decimalUnits(amount);
        } catch {
          // validated at ingest (risk/events.ts); an entry that is not is left out of the total
        }
      }
      const day = time.slice(0, 10);
      let dd = this.days.get(day);
      if (!dd) this.days.set(day, (dd = { day, count: 0, breaches: 0 }));
      dd.count++;
      if (what.length > 0) {
        g.breaches++;
        dd.breaches++;
        this.breaches.push({
          seq: entry.seq,
          time,
          serial,
          ...(amount !== null ? { amount } : {}),
          ...(currency !== null ? { currency } : {}),
          ...(market !== null ? { market } : {}),
          what,
        });
      }
    }
  }

  result(): { groups: TradeGroup[]; breaches: TradeBreach[]; days: TradeDay[]; events: number } {
    const groups = [...this.groups.values()]
      .map((g) => ({
        market: g.market,
        currency: g.currency,
        count: g.count,
        total: formatDecimalUnits(g.units),
        breaches: g.breaches,
      }))
      .sort((a, b) => a.market.localeCompare(b.market) || a.currency.localeCompare(b.currency));
    const days = [...this.days.values()].sort((a, b) => a.day.localeCompare(b.day));
    return { groups, breaches: this.breaches, days, events: this.events };
  }
}
