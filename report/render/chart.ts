// The report's chart as inline SVG: monthly p95 and busy-hour p95 (max(in, out)) against capacity and
// thresholds, with the forecast line. Each point carries its series, month and value as data
// attributes, and the plot area its scale, so a reader (or a test) can check a point against the numbers.
import { durationSeconds } from '../../lib/units.js';
import type { AlertsConfig } from '../../alerts/src/config.js';
import { percent } from '../format.js';
import type { LinkReport } from '../model.js';
import { parseMonth } from '../months.js';

const WIDTH = 900;
const HEIGHT = 360;
const MARGIN = { left: 56, right: 150, top: 16, bottom: 40 };
const SERIES = [
  { key: 'p95', label: 'p95, all hours', colour: '#1f77b4' },
  { key: 'busy_p95', label: 'busy-hour p95', colour: '#d62728' },
] as const;

const escapeXml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const round = (n: number) => Number(n.toFixed(2));

export function renderChart(link: LinkReport, config: AlertsConfig): string {
  const months = link.months.map((m) => ({ ...m, span: parseMonth(m.month)! }));
  const { forecast, terms } = link;
  const horizon = durationSeconds(config.capacity.forecast.margin) + (Number.isFinite(terms.leadTimeSeconds) ? terms.leadTimeSeconds : 0);
  const fitStart = forecast ? forecast.asOf - durationSeconds(config.capacity.forecast.window) : undefined;
  const xMin = months[0]!.span.start;
  const xMax = Math.max(months.at(-1)!.span.end, forecast ? forecast.asOf + horizon : 0);
  const values = months.flatMap((m) => SERIES.map((s) => m.figures[s.key]).filter((v): v is number => v !== undefined));
  const yMax = Math.max(1, ...values, forecast?.forecast ?? 0) * 1.05;
  const plot = { x: MARGIN.left, y: MARGIN.top, width: WIDTH - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom };
  const x = (t: number) => round(plot.x + ((t - xMin) / (xMax - xMin)) * plot.width);
  const y = (v: number) => round(plot.y + plot.height - (v / yMax) * plot.height);
  const parts: string[] = [];

  parts.push(`<rect class="plot-area" x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="#fafafa" stroke="#ccc"/>`);
  for (let tick = 0; tick <= yMax; tick += 0.2) {
    parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${plot.x - 6}" y="${y(tick) + 4}" text-anchor="end" font-size="11">${Math.round(tick * 100)}%</text>`);
  }
  for (const m of months) {
    parts.push(`<text x="${x((m.span.start + m.span.end) / 2)}" y="${plot.y + plot.height + 16}" text-anchor="middle" font-size="10">${m.month.slice(2)}</text>`);
  }
  const level = (value: number | undefined, label: string, colour: string, dash: string) => {
    if (value === undefined || !Number.isFinite(value)) return;
    parts.push(`<line class="level" data-level="${escapeXml(label)}" data-value="${value}" x1="${plot.x}" x2="${plot.x + plot.width}" y1="${y(value)}" y2="${y(value)}" stroke="${colour}" stroke-dasharray="${dash}"/>`);
    parts.push(`<text x="${plot.x + plot.width + 6}" y="${y(value) + 4}" font-size="11" fill="${colour}">${escapeXml(label)} ${percent(value, 0)}</text>`);
  };
  level(1, 'capacity', '#b00', '6 3');
  level(terms.thresholds.recommend, 'recommend', '#e67e00', '4 4');
  level(terms.thresholds.forecast, 'forecast', '#8e44ad', '2 3');
  if (forecast && fitStart !== undefined) {
    const end = forecast.asOf + horizon;
    const at = (t: number) => forecast.valueAtFit + (forecast.slopePerDay * (t - forecast.asOf)) / 86400;
    parts.push(
      `<line class="forecast" data-from="${fitStart}" data-to="${end}" data-value-from="${at(fitStart)}" data-value-to="${at(end)}" ` +
        `x1="${x(Math.max(fitStart, xMin))}" y1="${y(at(Math.max(fitStart, xMin)))}" x2="${x(end)}" y2="${y(at(end))}" stroke="#555" stroke-width="2" stroke-dasharray="8 4"/>`,
    );
  }
  for (const series of SERIES) {
    const points = months.filter((m) => m.figures[series.key] !== undefined).map((m) => ({ m, t: (m.span.start + m.span.end) / 2, v: m.figures[series.key]! }));
    if (points.length > 1) parts.push(`<polyline fill="none" stroke="${series.colour}" stroke-width="1.5" points="${points.map((p) => `${x(p.t)},${y(p.v)}`).join(' ')}"/>`);
    for (const p of points) {
      parts.push(
        `<circle class="point" data-series="${series.key}" data-month="${p.m.month}" data-value="${p.v}" cx="${x(p.t)}" cy="${y(p.v)}" r="4" fill="${series.colour}">` +
          `<title>${p.m.month} ${escapeXml(series.label)}: ${percent(p.v)}</title></circle>`,
      );
    }
  }
  SERIES.forEach((s, i) => {
    const ly = HEIGHT - MARGIN.bottom - 60 + i * 18;
    parts.push(`<circle cx="${plot.x + plot.width + 12}" cy="${ly}" r="4" fill="${s.colour}"/>`);
    parts.push(`<text x="${plot.x + plot.width + 22}" y="${ly + 4}" font-size="11">${escapeXml(s.label)}</text>`);
  });
  if (forecast) parts.push(`<text x="${plot.x + plot.width + 6}" y="${HEIGHT - MARGIN.bottom - 20}" font-size="11" fill="#555">- - forecast line</text>`);

  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" ` +
    `aria-label="Monthly p95 and busy-hour p95 of link ${escapeXml(link.link)} against capacity" ` +
    `data-x-min="${xMin}" data-x-max="${xMax}" data-y-min="0" data-y-max="${yMax}">${parts.join('')}</svg>`
  );
}
