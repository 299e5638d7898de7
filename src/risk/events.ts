/**
 * Behavioural events as agents (or the services they call) report them, and their
 * validation. A batch is all-or-nothing: one malformed event rejects the whole batch, and the
 * rejection lists EVERY bad field of every event, so a client fixes its batch in one round
 * trip. Every size is bounded (batch length, string lengths, field count) so validating a
 * hostile batch costs at most O(maxBatch) work.
 */
import { parseIsoTimeMs } from '../iso-time.js';
import { AgentCaError } from '../errors.js';
import { parseSerial } from '../profile/serial.js';
import { MAX_ACTION_LENGTH } from '../asn1/scope-match.js';
import type { Serial } from '../types.js';
import { canonicalAmount } from './decimal.js';

export const CORE_EVENT_TYPES = ['api_call', 'data_access', 'transaction', 'auth_attempt', 'scope_check'] as const;
export type CoreEventType = (typeof CORE_EVENT_TYPES)[number];
/** Other types are accepted (counted as "other") when they match EVENT_TYPE. */
export type EventType = CoreEventType | (string & {});
export const EVENT_OUTCOMES = ['success', 'denied', 'failed'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

/** An event as submitted. Exactly the fields below; anything else is refused (typos would silently drop signal). */
export interface AgentEvent {
  /** Certificate serial (hex); wins over agentId when both are given (they must agree). */
  serial?: string;
  /** Attributed to the agent's newest good certificate when no serial is given. */
  agentId?: string;
  type: EventType;
  /** The action attempted, `verb:resource` (src/asn1/scope-match.ts); checked against agentScope. */
  action?: string;
  outcome: EventOutcome;
  /** ISO 8601 with a time zone ("2026-01-01T12:00:00Z") or a Date. */
  time: string | Date;
  /** Non-negative decimal string or number; needs `currency`. */
  amount?: string | number;
  /** ISO 4217 alphabetic code. */
  currency?: string;
  market?: string;
  /** Must match the certificate's tenant when given. */
  tenant?: string;
}

/** A validated event: canonical serial, epoch milliseconds, canonical decimal amount. */
export interface NormalisedEvent {
  serial?: Serial;
  agentId?: string;
  type: string;
  action?: string;
  outcome: EventOutcome;
  timeMs: number;
  amount?: string;
  currency?: string;
  market?: string;
  tenant?: string;
}

export interface EventLimits {
  /** Most events per batch. */
  maxBatch: number;
  /** How far in the future an event's time may be (clock skew between agent and CA). */
  maxSkewMs: number;
  /** How old an event may be: the score window (30 days); older events could not count. */
  maxAgeMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = Object.freeze({
  maxBatch: 1000,
  maxSkewMs: 5 * 60_000,
  maxAgeMs: 30 * 86_400_000,
});

/** One bad field; index -1 with field "events" for problems with the batch itself. */
export interface EventFieldError {
  index: number;
  field: string;
  message: string;
}

export type EventValidation = { events: NormalisedEvent[] } | { errors: EventFieldError[] };

/** Errors listed in a refused batch's details (the rest are counted in `moreErrors`). */
export const MAX_LISTED_ERRORS = 100;

/** A batch refused (400): `errors` names every bad field; nothing of the batch was stored. */
export class RiskEventsRejected extends AgentCaError {
  readonly errors: readonly EventFieldError[];
  constructor(errors: readonly EventFieldError[]) {
    const first = errors[0];
    // The problem+json body lists at most MAX_LISTED_ERRORS and says how many more: a batch of
    // 10,000 bad events must not answer with a megabyte of errors (docs/hardening.md).
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    super(
      'INPUT_INVALID',
      `event batch refused: ${errors.length} bad field(s)${first ? `, first: events[${first.index}].${first.field}: ${first.message}` : ''}`,
      {
        errors: listed,
        ...(errors.length > listed.length ? { moreErrors: errors.length - listed.length } : {}),
      },
    );
    this.name = 'RiskEventsRejected';
    this.errors = Object.freeze([...errors]);
  }
}

const FIELDS = new Set([
  'serial',
  'agentId',
  'type',
  'action',
  'outcome',
  'time',
  'amount',
  'currency',
  'market',
  'tenant',
]);
const MAX_FIELDS = FIELDS.size;
/** Same grammar as the issuing side (src/authority/agent-request.ts AGENT_ID). */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const EVENT_TYPE = /^[a-z][a-z0-9_.-]{0,31}$/;
const CURRENCY = /^[A-Z]{3}$/;
/** asn1 Market: 1..64 of A-Z a-z 0-9 - . _ : / (so it can be compared with allowedMarkets). */
const MARKET = /^[A-Za-z0-9._:/-]{1,64}$/;
/** asn1 Identifier (tenantId): 1..128 of A-Z a-z 0-9 - . _ : */
const TENANT = /^[A-Za-z0-9._:-]{1,128}$/;
const CONTROL = /\p{Cc}|\p{Cs}/u; // Cc: U+0000-001F and U+007F-009F
/** Epoch ms of a strict ISO 8601 date-time with zone (RFC 3339 §5.6), or why not. */
export const parseEventTime = parseIsoTimeMs;

/** Validates one event; pushes its errors (all of them) and returns it normalised when clean. */
function validateOne(
  raw: unknown,
  index: number,
  limits: EventLimits,
  nowMs: number,
  errors: EventFieldError[],
): NormalisedEvent | undefined {
  const before = errors.length;
  const bad = (field: string, message: string): void => void errors.push({ index, field, message });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    bad('', 'must be an object');
    return undefined;
  }
  const o = raw as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > MAX_FIELDS * 2) {
    bad('', `${keys.length} fields; an event has at most ${MAX_FIELDS}`);
    return undefined;
  }
  for (const k of keys) if (!FIELDS.has(k)) bad(k.slice(0, 64), 'unknown field');
  const str = (field: string, re: RegExp, what: string, required: boolean): string | undefined => {
    const v = o[field];
    if (v === undefined) {
      if (required) bad(field, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || !re.test(v)) {
      bad(field, `must be ${what}`);
      return undefined;
    }
    return v;
  };

  let serial: Serial | undefined;
  if (o.serial !== undefined) {
    if (typeof o.serial !== 'string' || o.serial.length > 64) bad('serial', 'must be a hex certificate serial');
    else {
      try {
        serial = parseSerial(o.serial);
      } catch (e) {
        bad('serial', (e as Error).message);
      }
    }
  }
  const agentId = str(
    'agentId',
    AGENT_ID,
    '1..64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit',
    false,
  );
  if (o.serial === undefined && o.agentId === undefined) bad('serial', 'serial or agentId is required');
  const type = str(
    'type',
    EVENT_TYPE,
    `an event type (${CORE_EVENT_TYPES.join(', ')}, or [a-z][a-z0-9_.-]{0,31})`,
    true,
  );
  let action: string | undefined;
  if (o.action !== undefined) {
    if (
      typeof o.action !== 'string' ||
      o.action.length < 1 ||
      o.action.length > MAX_ACTION_LENGTH ||
      CONTROL.test(o.action)
    ) {
      bad('action', `must be a string of 1..${MAX_ACTION_LENGTH} characters without control characters`);
    } else action = o.action;
  }
  let outcome: EventOutcome | undefined;
  if (o.outcome === undefined) bad('outcome', 'is required');
  else if (!(EVENT_OUTCOMES as readonly unknown[]).includes(o.outcome))
    bad('outcome', `must be one of ${EVENT_OUTCOMES.join(', ')}`);
  else outcome = o.outcome as EventOutcome;

  let timeMs: number | undefined;
  if (o.time === undefined) bad('time', 'is required');
  else {
    const t = parseEventTime(o.time);
    if (typeof t === 'string') bad('time', t);
    else if (t > nowMs + limits.maxSkewMs)
      bad(
        'time',
        `is ${Math.round((t - nowMs) / 1000)} s in the future (allowed skew ${Math.round(limits.maxSkewMs / 1000)} s)`,
      );
    else if (t < nowMs - limits.maxAgeMs)
      bad('time', `is older than the ${Math.round(limits.maxAgeMs / 86_400_000)}-day score window`);
    else timeMs = t;
  }

  let amount: string | undefined;
  if (o.amount !== undefined) {
    const a = canonicalAmount(o.amount);
    if ('error' in a) bad('amount', a.error);
    else amount = a.amount;
  }
  const currency = str('currency', CURRENCY, 'an ISO 4217 code of three upper-case letters', false);
  if (o.amount !== undefined && o.currency === undefined) bad('currency', 'is required with amount');
  if (o.currency !== undefined && o.amount === undefined) bad('amount', 'is required with currency');
  const market = str('market', MARKET, '1..64 characters of A-Z a-z 0-9 - . _ : /', false);
  const tenant = str('tenant', TENANT, '1..128 characters of A-Z a-z 0-9 - . _ :', false);

  if (errors.length > before) return undefined;
  return {
    ...(serial !== undefined ? { serial } : {}),
    ...(agentId !== undefined ? { agentId } : {}),
    type: type!,
    ...(action !== undefined ? { action } : {}),
    outcome: outcome!,
    timeMs: timeMs!,
    ...(amount !== undefined ? { amount, currency: currency! } : {}),
    ...(market !== undefined ? { market } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
  };
}

/**
 * Validates a batch against `limits` at `now`. Either every event normalised, or every bad
 * field of every event (and nothing else is done with the batch).
 */
export function validateEvents(raw: unknown, limits: EventLimits, now: Date): EventValidation {
  if (!Array.isArray(raw)) return { errors: [{ index: -1, field: 'events', message: 'must be an array of events' }] };
  if (raw.length > limits.maxBatch)
    return {
      errors: [{ index: -1, field: 'events', message: `${raw.length} events; at most ${limits.maxBatch} per batch` }],
    };
  const nowMs = now.getTime();
  const errors: EventFieldError[] = [];
  const events: NormalisedEvent[] = [];
  for (let i = 0; i < raw.length; i++) {
    const e = validateOne(raw[i], i, limits, nowMs, errors);
    if (e) events.push(e);
  }
  return errors.length > 0 ? { errors } : { events };
}
