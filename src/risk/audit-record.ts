/**
 * How an ingested batch is written to the audit log: ONE hash-chained entry per batch (action
 * `events.ingested`), the events as compact tuples under a `fields` header, so the chain costs
 * one SHA-256 and one commit per batch rather than per event (the 10,000 events/s target) and
 * the log stays readable: each tuple names its certificate, and the flags say how the engine
 * counted it (evidence for "why was this agent revoked"). `readBatch` is the inverse, used to
 * rebuild the windows after a restart.
 */
import type { NormalisedEvent } from './events.js';
import type { EventFlags } from './features.js';
import type { BucketIncrement } from './window.js';

export const INGEST_ACTION = 'events.ingested';
export const EVENT_FIELDS = Object.freeze([
  'serial',
  'time',
  'type',
  'outcome',
  'action',
  'amount',
  'currency',
  'market',
  'flags',
] as const);
export type EventTuple = [
  string,
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  string,
];

const FLAG_NAMES = ['scope', 'amount', 'market', 'auth', 'anomaly'] as const;

export function flagsText(f: EventFlags): string {
  const out: string[] = [];
  if (f.scopeViolation) out.push('scope');
  if (f.amountOverLimit) out.push('amount');
  if (f.marketNotAllowed) out.push('market');
  if (f.authFailure) out.push('auth');
  if (f.anomalous) out.push('anomaly');
  return out.join(',');
}

export function eventTuple(serial: string, e: NormalisedEvent, f: EventFlags): EventTuple {
  return [
    serial,
    new Date(e.timeMs).toISOString(),
    e.type,
    e.outcome,
    e.action ?? null,
    e.amount ?? null,
    e.currency ?? null,
    e.market ?? null,
    flagsText(f),
  ];
}

export interface BatchSummary {
  tuples: EventTuple[];
  serials: string[];
  agentIds: string[];
}

/** The audit entry's subject and details for a batch. */
export function batchEntry(b: BatchSummary): { subject: string; details: Record<string, unknown> } {
  const only = b.serials.length === 1 ? b.serials[0]! : undefined;
  return {
    // The certificate when the batch is one agent's (the usual case), so exports by serial find it.
    subject: only ?? 'events',
    details: {
      count: b.tuples.length,
      serials: b.serials,
      ...(b.agentIds.length === 1 ? { agentId: b.agentIds[0] } : {}),
      fields: EVENT_FIELDS,
      events: b.tuples,
    },
  };
}

export interface ReplayedEvent {
  serial: string;
  timeMs: number;
  amount?: string;
  currency?: string;
  increment: BucketIncrement;
}

/** The events of an `events.ingested` entry's details (skips anything malformed). */
export function readBatch(details: Record<string, unknown>): ReplayedEvent[] {
  const fields = details.fields;
  const events = details.events;
  if (!Array.isArray(fields) || !Array.isArray(events) || fields.join() !== EVENT_FIELDS.join()) return [];
  const out: ReplayedEvent[] = [];
  for (const t of events) {
    if (!Array.isArray(t) || t.length !== EVENT_FIELDS.length) continue;
    const [serial, time, type, outcome, , amount, currency, , flags] = t as unknown[];
    const timeMs = typeof time === 'string' ? Date.parse(time) : NaN;
    if (typeof serial !== 'string' || !Number.isFinite(timeMs) || typeof type !== 'string' || typeof flags !== 'string')
      continue;
    if (outcome !== 'success' && outcome !== 'denied' && outcome !== 'failed') continue;
    const set = new Set(flags.split(',').filter((x) => (FLAG_NAMES as readonly string[]).includes(x)));
    out.push({
      serial,
      timeMs,
      ...(typeof amount === 'string' ? { amount } : {}),
      ...(typeof currency === 'string' ? { currency } : {}),
      increment: {
        type,
        outcome,
        scopeViolation: set.has('scope'),
        policyBreach: set.has('amount') || set.has('market'),
        authFailure: set.has('auth'),
        anomalous: set.has('anomaly'),
      },
    });
  }
  return out;
}
