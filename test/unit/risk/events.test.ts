import { describe, expect, it } from 'vitest';
import { canonicalAmount, compareDecimal } from '../../../src/risk/decimal.js';
import {
  DEFAULT_EVENT_LIMITS,
  MAX_LISTED_ERRORS,
  RiskEventsRejected,
  validateEvents,
  type EventFieldError,
} from '../../../src/risk/events.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const LIMITS = { ...DEFAULT_EVENT_LIMITS, maxBatch: 5 };
const good = {
  serial: '7F:01:AB',
  type: 'api_call',
  action: 'read:accounts',
  outcome: 'success',
  time: '2026-03-01T11:59:00Z',
};

function errorsOf(raw: unknown): EventFieldError[] {
  const r = validateEvents(raw, LIMITS, NOW);
  if (!('errors' in r)) throw new Error('expected errors');
  return r.errors;
}

describe('validateEvents', () => {
  it('normalises a good batch: canonical serial, epoch ms, canonical amount', () => {
    const r = validateEvents(
      [
        good,
        {
          agentId: 'trader-1',
          type: 'transaction',
          outcome: 'success',
          time: new Date('2026-03-01T11:00:00Z'),
          amount: '1250.50',
          currency: 'USD',
          market: 'XNAS',
          tenant: 'acme',
        },
        {
          serial: '0x00ff',
          type: 'custom.kind',
          outcome: 'failed',
          time: '2026-03-01T13:00:00+02:00',
          amount: 12.5,
          currency: 'EUR',
        },
      ],
      LIMITS,
      NOW,
    );
    expect('events' in r).toBe(true);
    if (!('events' in r)) return;
    expect(r.events[0]).toEqual({
      serial: '7f01ab',
      type: 'api_call',
      action: 'read:accounts',
      outcome: 'success',
      timeMs: Date.parse('2026-03-01T11:59:00Z'),
    });
    expect(r.events[1]).toMatchObject({
      agentId: 'trader-1',
      amount: '1250.5',
      currency: 'USD',
      market: 'XNAS',
      tenant: 'acme',
      timeMs: Date.parse('2026-03-01T11:00:00Z'),
    });
    expect(r.events[2]).toMatchObject({
      serial: 'ff',
      type: 'custom.kind',
      amount: '12.5',
      timeMs: Date.parse('2026-03-01T11:00:00Z'),
    });
  });

  it('reports every bad field of every event, with its index', () => {
    const errors = errorsOf([
      good,
      {
        serial: 'xyz',
        type: 'Bad Type',
        action: '',
        outcome: 'maybe',
        time: '2026-02-30T00:00:00Z',
        amount: '-5',
        currency: 'usd',
        market: 'a b',
        tenant: 't/x',
        extra: 1,
      },
      { type: 'api_call', outcome: 'success' },
      'not an object',
    ]);
    const fields = errors.map((e) => `${e.index}.${e.field}`).sort();
    expect(fields).toEqual(
      [
        '1.serial',
        '1.type',
        '1.action',
        '1.outcome',
        '1.time',
        '1.amount',
        '1.currency',
        '1.market',
        '1.tenant',
        '1.extra',
        '2.serial', // serial or agentId is required
        '2.time',
        '3.',
      ].sort(),
    );
    expect(errors.find((e) => e.index === 2 && e.field === 'serial')!.message).toMatch(/serial or agentId/);
    expect(errors.find((e) => e.index === 1 && e.field === 'time')!.message).toMatch(/calendar/);
    expect(errors.find((e) => e.index === 1 && e.field === 'extra')!.message).toBe('unknown field');
  });

  it.each([
    ['10 minutes in the future', { time: '2026-03-01T12:10:00Z' }, 'time', /future/],
    ['within the 5-minute skew', { time: '2026-03-01T12:04:00Z' }, undefined, undefined],
    ['older than the window', { time: '2026-01-30T11:59:59Z' }, 'time', /older/],
    ['no time zone', { time: '2026-03-01T11:00:00' }, 'time', /time zone/],
    ['24:00', { time: '2026-03-01T24:00:00Z' }, 'time', /calendar/],
    ['amount without currency', { amount: '10' }, 'currency', /required with amount/],
    ['currency without amount', { currency: 'USD' }, 'amount', /required with currency/],
    ['amount with leading zero', { amount: '010', currency: 'USD' }, 'amount', /decimal/],
    ['amount with 7 fraction digits', { amount: '1.0000001', currency: 'USD' }, 'amount', /decimal/],
    ['amount NaN', { amount: Number.NaN, currency: 'USD' }, 'amount', /finite/],
    ['amount 1e18', { amount: 1e18, currency: 'USD' }, 'amount', /10\^18/],
    ['action with a newline', { action: 'read:a\nb' }, 'action', /control/],
    ['action too long', { action: `read:${'a'.repeat(300)}` }, 'action', /1\.\.256/],
    ['agentId not matching', { agentId: '-bad' }, 'agentId', /A-Z/],
    ['serial too long', { serial: 'a'.repeat(41) }, 'serial', /serial/],
  ])('%s', (_name, patch, field, message) => {
    const r = validateEvents([{ ...good, ...patch }], LIMITS, NOW);
    if (field === undefined) {
      expect('events' in r).toBe(true);
      return;
    }
    expect('errors' in r && r.errors).toEqual([{ index: 0, field, message: expect.stringMatching(message) }]);
  });

  it('refuses a batch that is not an array or is over the configured size, without looking inside', () => {
    expect(errorsOf({ events: [] })).toEqual([{ index: -1, field: 'events', message: expect.stringMatching(/array/) }]);
    expect(errorsOf(Array.from({ length: 6 }, () => ({})))).toEqual([
      { index: -1, field: 'events', message: '6 events; at most 5 per batch' },
    ]);
  });

  it('bounds the work on objects with many keys', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    expect(errorsOf([many])).toEqual([{ index: 0, field: '', message: expect.stringMatching(/5000 fields/) }]);
  });

  it('RiskEventsRejected carries the list as a 400 with a stable code', () => {
    const e = new RiskEventsRejected([{ index: 3, field: 'time', message: 'is required' }]);
    expect(e.code).toBe('ACA_ERR_INPUT_INVALID');
    expect(e.httpStatus).toBe(400);
    expect(e.details.errors).toEqual([{ index: 3, field: 'time', message: 'is required' }]);
    expect(e.message).toMatch(/events\[3\]\.time/);
  });

  it('lists at most MAX_LISTED_ERRORS in the details and counts the rest (a bad batch never answers a megabyte)', () => {
    const errors = Array.from({ length: 5000 }, (_, i) => ({ index: i, field: 'time', message: 'is required' }));
    const e = new RiskEventsRejected(errors);
    expect(e.details.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(e.details.moreErrors).toBe(5000 - MAX_LISTED_ERRORS);
    expect(e.errors).toHaveLength(5000);
    expect(JSON.stringify(e.details).length).toBeLessThan(16 * 1024);
  });
});

describe('decimal amounts', () => {
  it.each([
    ['50000', '50000', 0],
    ['50000.0', '50000', 0],
    ['50000.000001', '50000', 1],
    ['49999.999999', '50000', -1],
    ['9', '10', -1],
    ['100000000000000000', '99999999999999999.999999', 1],
    ['0', '0.000001', -1],
  ])('compare %s vs %s', (a, b, want) => {
    expect(compareDecimal(a, b)).toBe(want);
    expect(compareDecimal(b, a)).toBe(-want || 0);
  });

  it.each([
    ['1250.50', '1250.5'],
    ['100.000', '100'],
    [0.1 + 0.2, '0.3'],
    [42, '42'],
    [0, '0'],
  ])('canonical form of %s is %s', (input, want) => {
    expect(canonicalAmount(input)).toEqual({ amount: want });
  });
});
