// Charts: an SVG sparkline for the queue, uPlot (served by the server) for an agent's risk.
import uPlot from '/console/assets/uPlot.esm.js';

const SVG = 'http://www.w3.org/2000/svg';
const DAY = 86_400_000;

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** The score over `days` days as a small line with the warning and revoke levels. */
export function sparkline(history, days = 30) {
  const w = 160;
  const h = 36;
  const to = Date.parse(history.to);
  const from = to - days * DAY;
  const x = (t) => 3 + ((t - from) / (to - from)) * (w - 6);
  const y = (s) => h - 2 - s * (h - 4);
  const svg = svgEl('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, class: 'spark', role: 'img' });
  const pts = history.points.filter((p) => p.t >= from);
  const last = pts.length ? pts[pts.length - 1].score : 0;
  const title = svgEl('title', {});
  title.textContent = `Risk score over ${days} days: ${pts.length} points, latest ${last.toFixed(2)}, highest ${Math.max(0, ...pts.map((p) => p.score)).toFixed(2)}`;
  svg.append(title);
  svg.append(svgEl('rect', { x: 0, y: 0, width: w, height: y(history.thresholds.revoke), class: 'band-revoke' }));
  svg.append(
    svgEl('rect', {
      x: 0,
      y: y(history.thresholds.revoke),
      width: w,
      height: y(history.thresholds.warning) - y(history.thresholds.revoke),
      class: 'band-warning',
    }),
  );
  if (pts.length) {
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.score).toFixed(1)}`).join(' ');
    svg.append(svgEl('path', { d: pts.length === 1 ? `${d} l2,0` : d, class: 'spark-line' }));
    const lp = pts[pts.length - 1];
    svg.append(svgEl('circle', { cx: x(lp.t), cy: y(lp.score), r: 2.5, class: 'spark-dot' }));
  }
  return svg;
}

/** The agent's score over time with its tenant's bands (warning, revoke) shaded behind it. */
export function riskChart(container, history) {
  const xs = history.points.map((p) => p.t / 1000);
  const ys = history.points.map((p) => p.score);
  const { warning, revoke } = history.thresholds;
  const bands = (u) => {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const yPos = (v) => u.valToPos(v, 'y', true);
    ctx.save();
    ctx.fillStyle = 'rgba(200, 120, 0, 0.15)';
    ctx.fillRect(left, yPos(revoke), width, yPos(warning) - yPos(revoke));
    ctx.fillStyle = 'rgba(190, 20, 20, 0.15)';
    ctx.fillRect(left, top, width, yPos(revoke) - top);
    ctx.restore();
    void height;
  };
  const width = Math.max(320, Math.min(900, container.clientWidth || 720));
  return new uPlot(
    {
      width,
      height: 220,
      title: 'Risk score (30 days)',
      scales: {
        x: { time: true, range: [Date.parse(history.from) / 1000, Date.parse(history.to) / 1000] },
        y: { range: [0, 1] },
      },
      series: [{}, { label: 'score', stroke: '#1a4f8b', width: 2, points: { show: true, size: 5 } }],
      axes: [{}, { values: (_u, v) => v.map((s) => s.toFixed(2)) }],
      hooks: { drawClear: [bands] },
    },
    [xs, ys],
    container,
  );
}
