/** The report's pure parts: request parsing, trade totals, the chart series, the in-scope test. */
import { describe, expect, it } from 'vitest';
import { isAgentCaError } from '../../../src/errors.js';
import { entryConcerns, redactedLine } from '../../../src/reports/evidence.js';
import { reduceSeries } from '../../../src/reports/pdf/charts.js';
import { winAnsi } from '../../../src/reports/pdf/layout.js';
import { parseReportRequest, parseReportTime } from '../../../src/reports/request.js';
import { TradeTally } from '../../../src/reports/trades.js';
import { EVENT_FIELDS } from '../../../src/risk/audit-record.js';
import type { AuditEntry } from '../../../src/store/ports.js';

const NOW = new Date('2026-06-15T12:00:00Z');
const entry = (seq: number, subject: string, details: Record<string, unknown>): AuditEntry => ({
  seq,
  time: NOW,
  actor: 'x',
  action: 'events.ingested',
  subject,
  details,
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
});

describe('parseReportRequest', () => {
  it('reads days as midnight UTC, keeps the end exclusive, and cuts an end after now to now', () => {
    const r = parseReportRequest({ agent_id: 'bot-1', start_date: '2026-01-01', end_date: '2026-12-01' }, NOW);
    expect(r.from.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(r.to.toISOString()).toBe(NOW.toISOString());
    expect(r.requestedTo?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(r.include).toEqual(['trades', 'risk_events', 'revocations']);
    const inside = parseReportRequest(
      { tenant: 'acme', from: '2026-02-01T10:00:00+02:00', to: '2026-03-01', include: 'revocations,trades' },
      NOW,
    );
    expect(inside.from.toISOString()).toBe('2026-02-01T08:00:00.000Z');
    expect(inside.requestedTo).toBeUndefined();
    expect(inside.include).toEqual(['trades', 'revocations']);
  });

  it('refuses times without a zone, impossible dates and names outside the grammar', () => {
    expect(parseReportTime('2026-02-01T10:00:00')).toBeUndefined();
    expect(parseReportTime('2026-02-30')).toBeUndefined();
    expect(parseReportTime('2026-02-28T23:00:00-05:00')?.toISOString()).toBe('2026-03-01T04:00:00.000Z');
    expect(parseReportTime('tomorrow')).toBeUndefined();
    const fields = (body: unknown): Record<string, string> => {
      try {
        parseReportRequest(body, NOW);
        return {};
      } catch (e) {
        return isAgentCaError(e) ? (e.details.fields as Record<string, string>) : {};
      }
    };
    expect(Object.keys(fields({ agent_id: 'bad agent', start_date: 'x', end_date: '2026-01-01' })).sort()).toEqual([
      'agent_id',
      'start_date',
    ]);
    expect(Object.keys(fields({ start_date: '2026-01-01', end_date: '2026-02-01' }))).toEqual(['agent_id']);
  });
});

describe('TradeTally', () => {
  const tuple = (serial: string, amount: string | null, currency: string | null, market: string | null, flags = '') => [
    serial,
    '2026-06-01T10:00:00.000Z',
    'transaction',
    'success',
    'trade',
    amount,
    currency,
    market,
    flags,
  ];
  it('sums decimals exactly per market and currency, lists breaches, and ignores other serials', () => {
    const t = new TradeTally();
    const serials = new Set(['aa']);
    t.add(
      entry(1, 'aa', {
        fields: EVENT_FIELDS,
        events: [
          tuple('aa', '0.1', 'USD', 'XNAS'),
          tuple('aa', '0.2', 'USD', 'XNAS'),
          tuple('bb', '5', 'USD', 'XNAS'),
          tuple('aa', '75000', 'USD', 'XLON', 'amount,market'),
        ],
      }),
      serials,
    );
    t.add(
      entry(2, 'aa', {
        fields: EVENT_FIELDS,
        events: [tuple('aa', null, null, null), tuple('aa', '999999999999999999.999999', 'EUR', null)],
      }),
      serials,
    );
    const r = t.result();
    expect(r.events).toBe(4);
    expect(r.groups).toEqual([
      { market: '-', currency: 'EUR', count: 1, total: '999999999999999999.999999', breaches: 0 },
      { market: 'XLON', currency: 'USD', count: 1, total: '75000', breaches: 1 },
      { market: 'XNAS', currency: 'USD', count: 2, total: '0.3', breaches: 0 },
    ]);
    expect(r.breaches).toEqual([
      {
        seq: 1,
        time: '2026-06-01T10:00:00.000Z',
        serial: 'aa',
        amount: '75000',
        currency: 'USD',
        market: 'XLON',
        what: ['amount over maxTransactionSize', 'market not in allowedMarkets'],
      },
    ]);
    expect(r.days).toEqual([{ day: '2026-06-01', count: 4, breaches: 1 }]);
  });
});

describe('the in-scope test and redaction', () => {
  const subject = { serials: new Set(['aa']), agentIds: new Set(['bot-1']) };
  it('matches the subject by serial, agent id, details.serial, details.agentId or a batch naming it', () => {
    expect(entryConcerns(entry(1, 'aa', {}), subject)).toBe(true);
    expect(entryConcerns(entry(1, 'bot-1', {}), subject)).toBe(true);
    expect(entryConcerns(entry(1, 'events', { serials: ['cc', 'aa'] }), subject)).toBe(true);
    expect(entryConcerns(entry(1, 'ca', { serial: 'aa' }), subject)).toBe(true);
    expect(entryConcerns(entry(1, 'cc', { agentId: 'bot-1' }), subject)).toBe(true);
    expect(entryConcerns(entry(1, 'cc', { agentId: 'bot-2', serials: ['cc'] }), subject)).toBe(false);
  });
  it('a redacted line keeps seq and the chain hashes, nothing else', () => {
    expect(JSON.parse(redactedLine(entry(7, 'cc', { secret: 1 })))).toEqual({
      seq: 7,
      prevHash: '0'.repeat(64),
      hash: '1'.repeat(64),
      redacted: true,
    });
  });
});

describe('chart series and text', () => {
  it('reduces a long series to the maximum per step, so a spike survives', () => {
    const pts = Array.from({ length: 10_000 }, (_, i) => ({ t: i, score: i === 5_001 ? 0.97 : 0.1 }));
    const out = reduceSeries(pts, 0, 10_000, 100);
    expect(out).toHaveLength(100);
    expect(Math.max(...out.map((p) => p.score))).toBe(0.97);
    expect(reduceSeries(pts.slice(0, 5), 0, 10_000, 100)).toHaveLength(5);
  });
  it('replaces what the standard fonts cannot encode', () => {
    expect(winAnsi('a\u2014b \u00e9 \u4e2d\t')).toBe('a-b \u00e9 ? ');
  });
});
