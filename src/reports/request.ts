/**
 * What a compliance report is asked for: one agent or one tenant, a half-open time range
 * [from, to), and the optional sections. The same parser serves the library, the CLI and
 * `POST /api/v1/reports/compliance` (whose body uses the SDK's snake_case names), so every
 * surface refuses the same inputs with the same typed errors (docs/compliance-reports.md).
 */
import { AgentCaError } from '../errors.js';

export const REPORT_SECTIONS = Object.freeze(['trades', 'risk_events', 'revocations'] as const);
export type ReportSection = (typeof REPORT_SECTIONS)[number];

export interface ReportRequest {
  /** Exactly one of agentId and tenant. */
  agentId?: string;
  tenant?: string;
  /** inclusive */
  from: Date;
  /** exclusive; clamped to the time the report is built (see `requestedTo`) */
  to: Date;
  /** `to` as asked, when it was later than the build time */
  requestedTo?: Date;
  include: readonly ReportSection[];
}

const KNOWN_FIELDS = new Set(['agent_id', 'agentId', 'tenant', 'start_date', 'end_date', 'from', 'to', 'include']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** ISO 8601 with an explicit zone: a range a regulator reads must not depend on the server's zone. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A day (`2026-01-01`, midnight UTC) or an ISO 8601 instant with zone; undefined when neither. */
export function parseReportTime(v: unknown): Date | undefined {
  if (typeof v !== 'string' || !(DAY.test(v) || INSTANT.test(v))) return undefined;
  const d = new Date(DAY.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) return undefined;
  // Date.parse rolls 2026-02-30 over to March 2: a day that does not exist is refused instead.
  const day = v.slice(0, 10);
  return new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day ? d : undefined;
}

/**
 * Validates a request body or CLI flags against `now` (the injected clock). Field problems are
 * INPUT_INVALID with every bad field in details.fields; a range that is empty, reversed or in
 * the future is REPORT_RANGE_INVALID.
 */
export function parseReportRequest(raw: unknown, now: Date): ReportRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AgentCaError('INPUT_INVALID', 'a report request must be a JSON object');
  const r = raw as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const k of Object.keys(r)) if (!KNOWN_FIELDS.has(k)) fields[k] = 'unknown field';
  const pick = (a: string, b: string): unknown => (r[a] !== undefined ? r[a] : r[b]);
  const agentId = pick('agent_id', 'agentId');
  const tenant = r.tenant;
  if (agentId !== undefined && (typeof agentId !== 'string' || !NAME.test(agentId)))
    fields.agent_id = 'must be an agent id (1..128 of A-Z a-z 0-9 . _ : @ / -)';
  if (tenant !== undefined && (typeof tenant !== 'string' || !NAME.test(tenant)))
    fields.tenant = 'must be a tenant name (1..128 of A-Z a-z 0-9 . _ : @ / -)';
  if ((agentId === undefined) === (tenant === undefined)) fields.agent_id = 'give exactly one of agent_id and tenant';
  const fromRaw = pick('start_date', 'from');
  const toRaw = pick('end_date', 'to');
  const from = parseReportTime(fromRaw);
  const to = parseReportTime(toRaw);
  if (!from) fields.start_date = 'must be a day (2026-01-01) or an ISO 8601 time with zone';
  if (!to) fields.end_date = 'must be a day (2026-06-01) or an ISO 8601 time with zone';
  let include: ReportSection[] = [...REPORT_SECTIONS];
  if (r.include !== undefined) {
    const list = typeof r.include === 'string' ? r.include.split(',').map((s) => s.trim()) : r.include;
    if (!Array.isArray(list) || list.some((x) => !(REPORT_SECTIONS as readonly unknown[]).includes(x))) {
      fields.include = `must be a list of ${REPORT_SECTIONS.join(', ')}`;
    } else include = REPORT_SECTIONS.filter((s) => list.includes(s));
  }
  if (Object.keys(fields).length > 0) {
    throw new AgentCaError(
      'INPUT_INVALID',
      `invalid report request: ${Object.entries(fields)
        .map(([k, m]) => `${k} ${m}`)
        .join('; ')}`,
      { fields },
    );
  }
  if (from!.getTime() >= to!.getTime()) {
    throw new AgentCaError(
      'REPORT_RANGE_INVALID',
      `the range is empty: start ${from!.toISOString()} is not before end ${to!.toISOString()}`,
      { from: from!.toISOString(), to: to!.toISOString() },
    );
  }
  if (from!.getTime() > now.getTime()) {
    throw new AgentCaError(
      'REPORT_RANGE_INVALID',
      `the range starts in the future (${from!.toISOString()}); nothing can have been recorded yet`,
      { from: from!.toISOString() },
    );
  }
  const clamped = to!.getTime() > now.getTime();
  return {
    ...(agentId !== undefined ? { agentId: agentId as string } : { tenant: tenant as string }),
    from: from!,
    to: clamped ? new Date(now.getTime()) : to!,
    ...(clamped ? { requestedTo: to! } : {}),
    include,
  };
}

export function subjectText(r: Pick<ReportRequest, 'agentId' | 'tenant'>): string {
  return r.agentId !== undefined ? `agent ${r.agentId}` : `tenant ${r.tenant}`;
}
