// HTML: one self-contained file (inline CSS and SVG, nothing fetched) to forward to finance.
import type { AlertsConfig } from '../../alerts/src/config.js';
import type { LinkReport, Report } from '../model.js';
import { renderChart } from './chart.js';
import { forecastLine, termsLine } from './markdown.js';
import { directionTable, monthlyTable, siteShareTable, type Table } from './tables.js';

const escapeHtml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #222; max-width: 1200px; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05rem; }
.decision { font-size: 1.1rem; background: #f3f6fb; border-left: 4px solid #1f77b4; padding: 0.6rem 1rem; }
.decision.order { border-color: #d62728; } .decision.release { border-color: #2ca02c; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; } th:first-child, td:first-child { text-align: left; white-space: nowrap; }
th { background: #f4f4f4; } .flags li { color: #8a4b00; } .meta { color: #555; font-size: 0.9rem; }
`;

function table(t: Table, name: string): string {
  const head = `<tr>${t.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${name}">\n${head}\n${body}\n</table>`;
}

function linkSection(link: LinkReport, config: AlertsConfig): string {
  const sites = siteShareTable(link);
  return [
    `<section class="link" data-link="${escapeHtml(link.link)}">`,
    `<h2>Link ${escapeHtml(link.link)}</h2>`,
    `<p class="decision ${link.decision.action}"><strong>Decision.</strong> ${escapeHtml(link.decision.sentence)}</p>`,
    `<p>${escapeHtml(termsLine(link))}</p>`,
    renderChart(link, config),
    `<p>${escapeHtml(forecastLine(link))}</p>`,
    '<h3>Monthly utilisation (window value max(in, out))</h3>',
    table(monthlyTable(link, config), 'monthly'),
    '<h3>Per direction</h3>',
    table(directionTable(link, config), 'directions'),
    ...(sites ? ["<h3>Sites' share of demand</h3>", table(sites, 'sites')] : []),
    '<h3>Data quality</h3>',
    `<ul class="flags">${(link.flags.length > 0 ? link.flags : ['No gaps, counter resets, failed polls or missing agents.']).map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`,
    '</section>',
  ].join('\n');
}

export function renderHtml(report: Report, config: AlertsConfig): string {
  return `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>linkmon capacity report ${escapeHtml(report.month)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>linkmon capacity report, ${escapeHtml(report.month)}</h1>
<p class="meta">${report.months.length} months (${escapeHtml(report.months[0] ?? '')} to ${escapeHtml(report.months.at(-1) ?? '')}) from ${escapeHtml(report.source)}, generated ${escapeHtml(report.generatedAt)}.
Definitions: docs/capacity.md: aligned 5-minute windows, a window's value is max(in, out), throughput-test traffic excluded, busy hours Monday–Friday 08:00–18:00 UK time.</p>
${report.links.map((l) => linkSection(l, config)).join('\n')}
</body>
</html>
`;
}
