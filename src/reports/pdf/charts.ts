/**
 * Charts drawn as PDF vector paths (no raster, no browser): the risk score over time with its
 * bands, and trades per day as bars. Series longer than the plot is wide are reduced to the
 * maximum per horizontal step, so a spike to the revoke band is never averaged away.
 */
import { rgb } from 'pdf-lib';
import type { RiskThresholds } from '../../risk/config.js';
import type { RiskPoint, TradeDay } from '../types.js';
import { GREY, INK, MARGIN, RULE, type PdfLayout } from './layout.js';

const BAND_COLOURS = {
  medium: rgb(0.95, 0.75, 0.2),
  warning: rgb(0.93, 0.5, 0.1),
  revoke: rgb(0.8, 0.1, 0.1),
} as const;
const LINE = rgb(0.1, 0.3, 0.75);
const BREACH = rgb(0.8, 0.1, 0.1);

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** At most `steps` points: the highest score per step of the time axis. */
export function reduceSeries(points: readonly RiskPoint[], fromMs: number, toMs: number, steps: number): RiskPoint[] {
  if (points.length <= steps) return [...points];
  const span = Math.max(1, toMs - fromMs);
  const best = new Map<number, RiskPoint>();
  for (const p of points) {
    const k = Math.min(steps - 1, Math.max(0, Math.floor(((p.t - fromMs) / span) * steps)));
    const cur = best.get(k);
    if (!cur || p.score > cur.score) best.set(k, p);
  }
  return [...best.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

function axes(
  l: PdfLayout,
  x0: number,
  y0: number,
  w: number,
  h: number,
  yLabel: string,
  fromMs: number,
  toMs: number,
): void {
  const p = l.page;
  p.drawRectangle({ x: x0, y: y0, width: w, height: h, borderColor: RULE, borderWidth: 0.6 });
  p.drawText(yLabel, { x: x0, y: y0 + h + 4, size: 7, font: l.font(), color: GREY });
  p.drawText(day(fromMs), { x: x0, y: y0 - 10, size: 7, font: l.font(), color: GREY });
  const end = day(toMs - 1);
  p.drawText(end, { x: x0 + w - l.font().widthOfTextAtSize(end, 7), y: y0 - 10, size: 7, font: l.font(), color: GREY });
}

/** Score in [0,1] over [from, to) with the medium / warning / revoke bands drawn in. */
export function drawRiskChart(
  l: PdfLayout,
  points: readonly RiskPoint[],
  t: RiskThresholds,
  fromMs: number,
  toMs: number,
): void {
  const h = 190;
  l.ensure(h + 40);
  const x0 = MARGIN + 24;
  const w = l.width - 24;
  const y0 = l.y - h - 14;
  axes(l, x0, y0, w, h, 'risk score (0..1)', fromMs, toMs);
  for (const v of [0, 0.5, 1])
    l.page.drawText(v.toFixed(1), { x: MARGIN, y: y0 + v * h - 3, size: 7, font: l.font(), color: GREY });
  for (const band of ['medium', 'warning', 'revoke'] as const) {
    const y = y0 + t[band] * h;
    l.page.drawLine({
      start: { x: x0, y },
      end: { x: x0 + w, y },
      thickness: 0.8,
      color: BAND_COLOURS[band],
      dashArray: [4, 3],
    });
    l.page.drawText(`${band} ${t[band]}`, {
      x: x0 + w - 70,
      y: y + 2,
      size: 7,
      font: l.font(),
      color: BAND_COLOURS[band],
    });
  }
  const series = reduceSeries(points, fromMs, toMs, Math.floor(w));
  const xOf = (ms: number): number =>
    ((Math.min(toMs, Math.max(fromMs, ms)) - fromMs) / Math.max(1, toMs - fromMs)) * w;
  if (series.length === 1) {
    const p = series[0]!;
    l.page.drawCircle({ x: x0 + xOf(p.t), y: y0 + p.score * h, size: 2, color: LINE });
  } else if (series.length > 1) {
    // One path, SVG coordinates: origin at the plot's top-left, y pointing down.
    const d = series
      .map((p, i) => `${i === 0 ? 'M' : 'L'} ${xOf(p.t).toFixed(2)} ${((1 - p.score) * h).toFixed(2)}`)
      .join(' ');
    l.page.drawSvgPath(d, { x: x0, y: y0 + h, borderColor: LINE, borderWidth: 1.1 });
  }
  l.y = y0 - 18;
}

/** Trades per day (bars), breaches in red on top of each bar. */
export function drawTradeBars(l: PdfLayout, days: readonly TradeDay[], fromMs: number, toMs: number): void {
  const h = 150;
  l.ensure(h + 40);
  const x0 = MARGIN + 24;
  const w = l.width - 24;
  const y0 = l.y - h - 14;
  const max = days.reduce((m, d) => Math.max(m, d.count), 0);
  axes(l, x0, y0, w, h, `trades per day (max ${max}; red: breaches)`, fromMs, toMs);
  l.page.drawText(String(max), { x: MARGIN, y: y0 + h - 3, size: 7, font: l.font(), color: GREY });
  const dayMs = 86_400_000;
  const firstDay = Math.floor(fromMs / dayMs);
  const nDays = Math.max(1, Math.ceil(toMs / dayMs) - firstDay);
  const bw = Math.max(0.4, (w / nDays) * 0.8);
  for (const d of days) {
    if (max === 0) break;
    const i = Math.floor(Date.parse(`${d.day}T00:00:00Z`) / dayMs) - firstDay;
    const x = x0 + (i / nDays) * w + (w / nDays - bw) / 2;
    const okH = ((d.count - d.breaches) / max) * h;
    const badH = (d.breaches / max) * h;
    if (okH > 0) l.page.drawRectangle({ x, y: y0, width: bw, height: okH, color: LINE });
    if (badH > 0) l.page.drawRectangle({ x, y: y0 + okH, width: bw, height: badH, color: BREACH });
  }
  l.page.drawLine({ start: { x: x0, y: y0 }, end: { x: x0 + w, y: y0 }, thickness: 0.6, color: INK });
  l.y = y0 - 18;
}
