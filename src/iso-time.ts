/**
 * ISO 8601 date-times as clients send them, in the RFC 3339 §5.6 profile
 * ("2026-11-22T12:00:00Z", "2026-11-22T12:00:00.123+02:00"). `new Date(s)` alone also accepts
 * expanded years ("-000001-01-01T00:00:00Z"), bare dates, rolled-over days (2025-02-30) and
 * engine-specific forms; a time that reaches the core has four year digits, a real calendar
 * date, a time of day and an explicit offset.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** Epoch ms of a strict RFC 3339 date-time (or a valid Date), or why not. */
export function parseIsoTimeMs(v: unknown): number | string {
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.getTime() : 'invalid Date';
  if (typeof v !== 'string') return 'must be an ISO 8601 string or a Date';
  const m = ISO_TIME.exec(v);
  if (!m) return 'must be an ISO 8601 date-time with a time zone, e.g. 2026-01-01T12:00:00Z';
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.parse rolls 2025-02-30 over to March 2: check the calendar ourselves.
  const daysInMonth = mo >= 1 && mo <= 12 ? new Date(Date.UTC(y, mo, 0)).getUTCDate() : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) return 'not a calendar date-time';
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return 'time zone offset out of range';
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : 'not a valid date-time';
}

/** The instant `v` names, or undefined when it is not a strict RFC 3339 date-time. */
export function parseIsoTime(v: unknown): Date | undefined {
  const ms = parseIsoTimeMs(v);
  return typeof ms === 'number' ? new Date(ms) : undefined;
}
