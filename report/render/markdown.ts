// Markdown: the same sections and numbers as the HTML report, without the chart.
import type { AlertsConfig } from '../../alerts/src/config.js';
import { bitRate, date, percent, pounds, span } from '../format.js';
import type { LinkReport, Report } from '../model.js';
import { directionTable, monthlyTable, siteShareTable, type Table } from './tables.js';

function table(t: Table): string {
  const escape = (text: string) => text.replaceAll('|', '\\|');
  return [`| ${t.headers.map(escape).join(' | ')} |`, `|${t.headers.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.map(escape).join(' | ')} |`)].join('\n');
}

export function termsLine(link: LinkReport): string {
  const { terms } = link;
  return (
    `Provisioned ${bitRate(terms.capacityBytes)}; steps of ${bitRate(terms.stepBytes)} at ${pounds(terms.oneOffCostGbp)} one-off and ` +
    `${pounds(terms.annualCostGbp)} a year, lead time ${span(terms.leadTimeSeconds)}; thresholds: recommend ${percent(terms.thresholds.recommend, 0)}, ` +
    `forecast ${percent(terms.thresholds.forecast, 0)}, unused ${percent(terms.thresholds.unused, 0)}.`
  );
}

export function forecastLine(link: LinkReport): string {
  const f = link.forecast;
  if (!f) return 'Forecast: too few daily busy-hour p95 values for a fit.';
  const crossing = f.crossing !== undefined ? `crosses ${percent(link.terms.thresholds.forecast, 0)} on ${date(f.crossing)}` : 'is not rising';
  return (
    `Forecast (least squares through the daily busy-hour p95 of the fit window, as of ${date(f.asOf)}): ` +
    `slope ${(f.slopePerDay * 100).toFixed(3)} percentage points a day, ${percent(f.valueAtFit)} now, ${percent(f.forecast)} at the end of the lead time and margin; the line ${crossing}.`
  );
}

function linkSection(link: LinkReport, config: AlertsConfig): string {
  const sites = siteShareTable(link);
  return [
    `## Link ${link.link}`,
    '',
    `**Decision.** ${link.decision.sentence}`,
    '',
    termsLine(link),
    '',
    forecastLine(link),
    '',
    `### Monthly utilisation (window value max(in, out))`,
    '',
    table(monthlyTable(link, config)),
    '',
    '### Per direction',
    '',
    table(directionTable(link, config)),
    '',
    ...(sites ? ["### Sites' share of demand", '', table(sites), ''] : []),
    '### Data quality',
    '',
    ...(link.flags.length > 0 ? link.flags.map((f) => `- ${f}`) : ['- No gaps, counter resets, failed polls or missing agents.']),
    '',
  ].join('\n');
}

export function renderMarkdown(report: Report, config: AlertsConfig): string {
  return [
    `# linkmon capacity report, ${report.month}`,
    '',
    `${report.months.length} months (${report.months[0]} to ${report.months.at(-1)}) from ${report.source}, generated ${report.generatedAt}. ` +
      'Definitions: docs/capacity.md (aligned 5-minute windows, max(in, out), test traffic excluded, busy hours Monday–Friday 08:00–18:00 UK time).',
    '',
    ...report.links.map((l) => linkSection(l, config)),
  ].join('\n');
}
