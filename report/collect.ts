// Runs the report's queries (alerts/src/capacity-monthly.ts) against a Prometheus API and gathers
// the answers per link and month.
import { monthEndQueries, monthlyFigures, type MonthlyFigure } from '../alerts/src/capacity-monthly.js';
import { busyWindowsPerDay, capacityNames } from '../alerts/src/capacity-promql.js';
import type { AlertsConfig } from '../alerts/src/config.js';
import { decide } from './decision.js';
import { ReportError } from './errors.js';
import { dataQualityFlags } from './flags.js';
import type { Forecast, LinkMonth, LinkReport, LinkTerms, Report, Rules } from './model.js';
import { expectedBusyWindows, monthsEndingWith, type Month } from './months.js';
import type { PrometheusClient, VectorSample } from './prometheus.js';

export interface CollectOptions {
  /** The report month (the last of `count`). */
  month: Month;
  count: number;
  /** Only this link; all links with data in the report month when absent. */
  link?: string;
  config: AlertsConfig;
  /** Where the answers come from, for messages. */
  source: string;
  /** Called after each query. */
  progress?: (done: number, total: number, month: string) => void;
  /** Queries in flight at once. */
  concurrency?: number;
}

const DEFAULT_CONCURRENCY = 4;

/** Runs `fn` over `items` with at most `limit` in flight; results in input order; the first failure wins. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const number = (sample: VectorSample) => Number(sample.value[1]);

export async function collectReport(client: PrometheusClient, options: CollectOptions): Promise<Omit<Report, 'generatedAt'>> {
  const { config, month } = options;
  const names = capacityNames(config);

  const figures = monthlyFigures(config);
  const used = figures.find((f) => f.key === 'windows_used')!;
  // The links of the month: those with windows that count (a link whose counters are too sparse for
  // any window, such as a site uplink polled hourly, has nothing to report).
  const withWindows = await client.vector(used.expr(month), month.end);
  const knownLinks = withWindows
    .filter((s) => number(s) > 0)
    .map((s) => s.metric.link ?? '')
    .filter((l) => l !== '')
    .sort();
  if (knownLinks.length === 0) {
    throw new ReportError(
      'no_data',
      `no capacity data for ${month.label} at ${options.source}: no recorded windows (${names.window}) in that month; are the capacity rules (alerts/generated/capacity.yml) loaded?`,
    );
  }
  if (options.link !== undefined && !knownLinks.includes(options.link)) {
    throw new ReportError('unknown_link', `unknown link "${options.link}": the links with data in ${month.label} are ${knownLinks.join(', ')}`);
  }
  const links = options.link !== undefined ? [options.link] : knownLinks;
  const allLinks = `link=~"${links.map(escapeRegex).join('|')}"`;

  const months = monthsEndingWith(month, options.count);
  const linkFigures = figures.filter((f) => f.by !== 'site');
  const siteFigures = figures.filter((f) => f.by === 'site');
  const ends = monthEndQueries(config);
  /** What is asked per link at the end of the report month. */
  const monthEnd = (m: string) => ({
    thresholds: ends.thresholds(month.days, m),
    scalars: {
      capacityBytes: ends.capacityBytes(month.days, m),
      stepBytes: ends.stepBytes(month.days, m),
      oneOffCostGbp: ends.oneOffCost(month.days, m),
      annualCostGbp: ends.annualCost(month.days, m),
      leadTimeSeconds: ends.leadTimeSeconds(month.days, m),
      p95BusyLong: ends.p95BusyLong(m),
      stepsRecommended: ends.stepsRecommended(m),
    },
    rules: { stepRule: ends.stepRule(m), forecastRule: ends.forecastRule(m), releaseRule: ends.releaseRule(m) },
    trend: ends.trendSamples(m),
  });
  const perLink = monthEnd('');
  const monthEndCount = 1 + Object.keys(perLink.scalars).length + Object.keys(perLink.rules).length + perLink.trend.length;
  const total = months.length * (linkFigures.length + siteFigures.length * links.length) + links.length * monthEndCount;
  let done = 0;
  const ask = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    const result = await run();
    done += 1;
    options.progress?.(done, total, label);
    return result;
  };

  const perMonth = new Map<string, Map<string, LinkMonth>>(links.map((l) => [l, new Map()]));
  const windowsPerDay = busyWindowsPerDay(config);
  for (const m of months) {
    for (const link of links) {
      perMonth.get(link)!.set(m.label, {
        month: m.label,
        figures: {},
        directions: {},
        sites: {},
        busyWindowsExpected: expectedBusyWindows(m, config.capacity.busyHours.days, windowsPerDay),
      });
    }
  }
  const jobs: Array<{ m: Month; figure: MonthlyFigure; link?: string }> = months.flatMap((m) => [
    ...linkFigures.map((figure) => ({ m, figure })),
    ...siteFigures.flatMap((figure) => links.map((link) => ({ m, figure, link }))),
  ]);
  await mapLimit(jobs, options.concurrency ?? DEFAULT_CONCURRENCY, async ({ m, figure, link }) => {
    const matcher = link === undefined ? allLinks : `link="${link}"`;
    const samples = await ask(m.label, () => client.vector(figure.expr(m, matcher), m.end));
    for (const sample of samples) {
      const value = number(sample);
      if (!Number.isFinite(value)) continue;
      if (figure.by === 'site') {
        const site = sample.metric.site;
        if (site === undefined) continue;
        const entry = perMonth.get(link!)!.get(m.label)!;
        (entry.sites[site] ??= {})[figure.key] = value;
        continue;
      }
      const entry = perMonth.get(sample.metric.link ?? '')?.get(m.label);
      if (!entry) continue;
      if (figure.by === 'direction') (entry.directions[sample.metric.direction ?? ''] ??= {})[figure.key] = value;
      else entry.figures[figure.key] = value;
    }
  });

  const reports = await mapLimit(links, 1, async (link): Promise<LinkReport> => {
    const queries = monthEnd(`link="${link}"`);
    const one = async (expr: string) => {
      const samples = await ask(month.label, () => client.vector(expr, month.end));
      const value = samples.length > 0 ? number(samples[0]!) : undefined;
      return value !== undefined && Number.isFinite(value) ? value : undefined;
    };
    const present = async (expr: string) => (await ask(month.label, () => client.vector(expr, month.end))).length > 0;
    const thresholdSamples = await ask(month.label, () => client.vector(queries.thresholds, month.end));
    const scalars: Partial<Record<keyof typeof queries.scalars, number>> = {};
    for (const [key, expr] of Object.entries(queries.scalars) as Array<[keyof typeof queries.scalars, string]>) {
      const value = await one(expr);
      if (value !== undefined) scalars[key] = value;
    }
    const terms: LinkTerms = {
      capacityBytes: scalars.capacityBytes ?? Number.NaN,
      stepBytes: scalars.stepBytes ?? Number.NaN,
      oneOffCostGbp: scalars.oneOffCostGbp ?? Number.NaN,
      annualCostGbp: scalars.annualCostGbp ?? Number.NaN,
      leadTimeSeconds: scalars.leadTimeSeconds ?? Number.NaN,
      thresholds: Object.fromEntries(thresholdSamples.map((x) => [x.metric.threshold ?? '', number(x)])),
    };
    const trend = new Map<string, { t: number; value: number }>();
    for (const { name, expr } of queries.trend) {
      const series = await ask(month.label, () => client.matrix(expr, month.end));
      const last = series.flatMap((x) => x.values).sort((a, b) => a[0] - b[0]).at(-1);
      if (last) trend.set(name, { t: last[0], value: Number(last[1]) });
    }
    const slope = trend.get(names.trendSlope);
    const now = trend.get(names.trendNow);
    const forecastSample = trend.get(names.forecast);
    const crossing = trend.get(names.forecastCrossing);
    const forecast: Forecast | undefined =
      slope && now && forecastSample
        ? {
            asOf: now.t,
            slopePerDay: slope.value * 86400,
            valueAtFit: now.value,
            forecast: forecastSample.value,
            ...(crossing && crossing.t === now.t ? { crossing: crossing.value } : {}),
          }
        : undefined;
    const rules: Rules = {
      stepRule: await present(queries.rules.stepRule),
      forecastRule: await present(queries.rules.forecastRule),
      releaseRule: await present(queries.rules.releaseRule),
      ...(scalars.p95BusyLong !== undefined ? { p95BusyLong: scalars.p95BusyLong } : {}),
      ...(scalars.stepsRecommended !== undefined ? { stepsRecommended: scalars.stepsRecommended } : {}),
    };
    const linkMonths = [...perMonth.get(link)!.values()];
    return {
      link,
      terms,
      months: linkMonths,
      ...(forecast ? { forecast } : {}),
      rules,
      decision: decide({ terms, rules, forecast, monthEnd: month.end, config }),
      flags: dataQualityFlags(linkMonths, config),
    };
  });

  return { source: options.source, month: month.label, monthEnd: month.end, months: months.map((m) => m.label), links: reports };
}
