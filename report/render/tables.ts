// The report's tables as rows of text, shared by the Markdown and HTML writers (same columns, same rounding).
import { monthlyFigures, type FigureUnit } from '../../alerts/src/capacity-monthly.js';
import type { AlertsConfig } from '../../alerts/src/config.js';
import { change, count, hours, percent } from '../format.js';
import type { LinkReport } from '../model.js';

export interface Table {
  headers: string[];
  rows: string[][];
}

const DIRECTIONS = ['in', 'out'];

function formatted(unit: FigureUnit, value: number | undefined): string {
  switch (unit) {
    case 'ratio':
      return percent(value);
    case 'change':
      return change(value);
    case 'hours':
      return hours(value);
    case 'windows':
    case 'count':
      return count(value);
  }
}

/** Per month: the figures of the link (max(in, out), busy hours, hours above, windows). */
export function monthlyTable(link: LinkReport, config: AlertsConfig): Table {
  const figures = monthlyFigures(config).filter((f) => f.by === 'link' && f.unit !== 'count');
  return {
    headers: ['Month', ...figures.map((f) => f.title)],
    rows: link.months.map((m) => [m.month, ...figures.map((f) => formatted(f.unit, m.figures[f.key]))]),
  };
}

/** Per month and direction: mean, p95, p99, max. */
export function directionTable(link: LinkReport, config: AlertsConfig): Table {
  const figures = monthlyFigures(config).filter((f) => f.by === 'direction');
  return {
    headers: ['Month', ...DIRECTIONS.flatMap((d) => figures.map((f) => `${d}: ${f.title.replace(/ per direction$/, '')}`))],
    rows: link.months.map((m) => [m.month, ...DIRECTIONS.flatMap((d) => figures.map((f) => formatted(f.unit, m.directions[d]?.[f.key])))]),
  };
}

/** Per month: each site's share of demand; empty when no site polls its own uplink. */
export function siteShareTable(link: LinkReport): Table | undefined {
  const sites = [...new Set(link.months.flatMap((m) => Object.entries(m.sites).filter(([, f]) => f.site_share !== undefined).map(([s]) => s)))].sort();
  if (sites.length === 0) return undefined;
  return {
    headers: ['Month', ...sites],
    rows: link.months.map((m) => [m.month, ...sites.map((s) => percent(m.sites[s]?.site_share))]),
  };
}
