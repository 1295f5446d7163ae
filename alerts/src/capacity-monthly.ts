// The monthly capacity figures of docs/capacity.md as PromQL, for `linkmon report` and the capacity
// dashboard's monthly tables alike (one query per figure). Each query is evaluated at 00:00 UTC on the
// 1st of the month after the one it describes.
import { capacityPromql, windowSeconds, type CapacityPromql } from './capacity-promql.js';
import type { AlertsConfig } from './config.js';
import { selector } from './promql.js';

/** The month a query describes: its length and the previous month's, in days. */
export interface MonthSpan {
  days: number;
  previousDays: number;
}

export type FigureUnit = 'ratio' | 'change' | 'hours' | 'windows' | 'count';

export interface MonthlyFigure {
  /** Stable key of the figure in the report's JSON and CSV and the dashboard's refIds. */
  key: string;
  title: string;
  unit: FigureUnit;
  /** The label that splits the result besides `link` (per-site figures have `site` instead of `link`). */
  by: 'link' | 'direction' | 'site';
  description: string;
  /** PromQL for the month `span`; `matchers` select links (or directions), e.g. `link="hsl"`. */
  expr: (span: MonthSpan, ...matchers: string[]) => string;
}

const MS_PER_DAY = 86_400_000;

export function monthlyFigures(config: AlertsConfig): MonthlyFigure[] {
  const q = capacityPromql(config);
  const { names } = q;
  const job = config.agentSelector;
  const { window: W, lag } = windowSeconds(config);
  const hoursPerWindow = W / 3600;

  /**
   * A window is recorded at T in [end + lag, end + lag + W); the windows that start in the month
   * [M0, M1) are those recorded in [M0 + W + lag, M1 + W + lag). Evaluated at M1, this range selects
   * exactly those (ranges include both ends in Prometheus 2.x, hence the millisecond off each).
   */
  const windows = (span: MonthSpan) => `[${span.days * MS_PER_DAY - 1}ms] offset -${(W + lag) * 1000 - 1}ms`;
  const previousWindows = (span: MonthSpan) => `[${span.previousDays * MS_PER_DAY - 1}ms] offset ${span.days * MS_PER_DAY - (W + lag) * 1000 + 1}ms`;
  /** Raw series over the month itself. */
  const month = (span: MonthSpan) => `[${span.days}d]`;
  const sel = (name: string, matchers: string[]) => `${name}${selector(...matchers)}`;
  /** One value per link even where a long-term store keeps a copy per Prometheus replica. */
  const perLink = (expr: string) => `max by (link) (${expr})`;
  const perDirection = (expr: string) => `max by (link, direction) (${expr})`;
  /** The links' interfaces as they were configured during the month, as a join target. */
  const linkInterfaces = (span: MonthSpan, matchers: string[], by: string) =>
    `group by (${by}) (last_over_time(linkmon_link_info${selector(job, ...matchers)}${month(span)}))`;

  const windowStat = (key: string, title: string, fn: (range: string) => string, description: string): MonthlyFigure[] => [
    { key, title, unit: 'ratio', by: 'link', description: `${description} of the window values, max(in, out).`, expr: (s, ...m) => perLink(fn(`${sel(names.window, m)}${windows(s)}`)) },
    {
      key: `${key}_by_direction`,
      title: `${title} per direction`,
      unit: 'ratio',
      by: 'direction',
      description: `${description} of each direction's window utilisation.`,
      expr: (s, ...m) => perDirection(fn(`${sel(names.windowByDirection, m)}${windows(s)}`)),
    },
  ];
  const busyP95 = (s: MonthSpan, m: string[]) => perLink(`quantile_over_time(0.95, ${sel(names.windowBusy, m)}${windows(s)})`);
  const zeroWhereWindows = (s: MonthSpan, m: string[]) => perLink(`0 * count_over_time(${sel(names.window, m)}${windows(s)})`);
  const hoursAbove = (name: string, busy: boolean): MonthlyFigure[] =>
    config.capacity.hoursAbove.map((level) => ({
      key: `${busy ? 'busy_' : ''}hours_above_${Math.round(level * 100)}`,
      title: `${busy ? 'Busy hours' : 'Hours'} above ${Math.round(level * 100)}%`,
      unit: 'hours',
      by: 'link',
      description: `Hours of ${busy ? 'busy-hour ' : ''}windows whose value is above ${Math.round(level * 100)}% (windows × ${W} s).`,
      expr: (s, ...m) => `${perLink(`count_over_time(${sel(name, [...m, `above="${level}"`])}${windows(s)})`)} * ${hoursPerWindow}\nor\n${zeroWhereWindows(s, m)}`,
    }));
  /** Per-site octets of the links each site's own agent polls (its uplink), their throughput tests excluded; sites polling the reported links left out. */
  const siteOctets = (s: MonthSpan, m: string[]) => {
    const traffic = `sum by (site) (
  increase(linkmon_interface_bytes_total${selector(job)}${month(s)})
  * on (site, instance, device, interface) group_left ()
  ${linkInterfaces(s, [], 'site, instance, device, interface')}
)`;
    const tests = `${config.capacity.testTrafficOverhead} * sum by (site) (increase(linkmon_throughput_test_bytes_total${selector(job)}${month(s)}))`;
    return `(
  clamp_min((${traffic} - on (site) ${tests}) or ${traffic}, 0)
  unless on (site)
  ${linkInterfaces(s, m, 'site')}
)`;
  };

  return [
    {
      key: 'windows_used',
      title: 'Windows used',
      unit: 'windows',
      by: 'link',
      description: `Aligned ${config.capacity.alignedWindow} windows of the month that count (samples present, no failed SNMP poll).`,
      expr: (s, ...m) => perLink(`count_over_time(${sel(names.window, m)}${windows(s)})`),
    },
    {
      key: 'windows_excluded',
      title: 'Windows excluded',
      unit: 'windows',
      by: 'link',
      description: 'Windows of the month that do not count: missing samples or a failed SNMP poll. Never counted as zero.',
      expr: (s, ...m) => perLink(`${(s.days * 86400) / W} - count_over_time(${sel(names.window, m)}${windows(s)})`),
    },
    {
      key: 'busy_windows_used',
      title: 'Busy windows used',
      unit: 'windows',
      by: 'link',
      description: 'Windows of the month that start in the busy hours and count.',
      expr: (s, ...m) => perLink(`count_over_time(${sel(names.windowBusy, m)}${windows(s)})`),
    },
    ...windowStat('mean', 'Mean', (r) => `avg_over_time(${r})`, 'Mean'),
    ...windowStat('p95', 'p95', (r) => `quantile_over_time(0.95, ${r})`, '95th percentile (Prometheus method)'),
    ...windowStat('p99', 'p99', (r) => `quantile_over_time(0.99, ${r})`, '99th percentile (Prometheus method)'),
    ...windowStat('max', 'Max', (r) => `max_over_time(${r})`, 'Maximum'),
    {
      key: 'busy_p95',
      title: 'Busy-hour p95',
      unit: 'ratio',
      by: 'link',
      description: '95th percentile of the values of the windows that start in the busy hours.',
      expr: (s, ...m) => busyP95(s, m),
    },
    {
      key: 'busy_p95_growth',
      title: 'Busy-hour p95 growth',
      unit: 'change',
      by: 'link',
      description: 'Month-on-month change of the busy-hour p95: this month over the previous one, minus 1.',
      expr: (s, ...m) => `${busyP95(s, m)}\n/\n${perLink(`quantile_over_time(0.95, ${sel(names.windowBusy, m)}${previousWindows(s)})`)}\n- 1`,
    },
    ...hoursAbove(names.windowAbove, false),
    ...hoursAbove(names.windowBusyAbove, true),
    {
      key: 'counter_resets',
      title: 'Counter resets',
      unit: 'count',
      by: 'link',
      description: "Times the link's interface counters went back to zero (agent restarts), as Prometheus counts them; both directions reset together and count once.",
      expr: (s, ...m) => `max by (link) (sum by (link, direction) (
  resets(linkmon_interface_bytes_total${selector(job)}${month(s)})
  * on (site, instance, device, interface) group_left (link)
  ${linkInterfaces(s, m, 'site, instance, device, interface, link')}
))`,
    },
    {
      key: 'rebaselined_polls',
      title: 'Re-baselined polls',
      unit: 'count',
      by: 'link',
      description: "Polls of the link's interfaces not counted because of a device restart or counter discontinuity.",
      // increase() extrapolates to the month's edges; a count of events is a whole number.
      expr: (s, ...m) => `round(sum by (link) (
  sum by (site, instance, device, interface) (increase(linkmon_interface_counter_discontinuities_total${selector(job)}${month(s)}))
  * on (site, instance, device, interface) group_left (link)
  ${linkInterfaces(s, m, 'site, instance, device, interface, link')}
))`,
    },
    {
      key: 'snmp_failed_polls',
      title: 'Failed SNMP polls',
      unit: 'count',
      by: 'link',
      description: "Failed polls of the devices carrying the link (their windows are excluded).",
      expr: (s, ...m) => `round(sum by (link) (
  ${linkInterfaces(s, m, 'site, instance, device, link')}
  * on (site, instance, device) group_left ()
  sum by (site, instance, device) (increase(linkmon_snmp_poll_failures_total${selector(job)}${month(s)}))
))`,
    },
    {
      key: 'site_share',
      title: 'Share of demand',
      unit: 'ratio',
      by: 'site',
      description: "Each site's share of the octets (in + out, throughput tests excluded) of the links its own agent polls; sites whose agents poll none are not shown.",
      expr: (s, ...m) => `${siteOctets(s, m)}\n/ on () group_left ()\nsum(${siteOctets(s, m)})`,
    },
    {
      key: 'agent_down_hours',
      title: 'Agent down (hours)',
      unit: 'hours',
      by: 'site',
      description: "Hours of the month in which Prometheus could not scrape the site's agent (share of failed scrapes × hours).",
      expr: (s) => `sum by (site) ((1 - avg_over_time(up${selector(job)}${month(s)})) * ${s.days * 24})`,
    },
  ];
}

/** Link terms and forecast as they stood at the end of the month, and the rules' decision then. */
export function monthEndQueries(config: AlertsConfig, q: CapacityPromql = capacityPromql(config)) {
  const { names } = q;
  const job = config.agentSelector;
  const { longWindow, daily } = config.capacity;
  const sel = (name: string, matchers: string[]) => `${name}${selector(...matchers)}`;
  const lastTerm = (metric: string, days: number, matchers: string[], by = 'link') => `max by (${by}) (last_over_time(${metric}${selector(job, ...matchers)}[${days}d]))`;
  const p95BusyLong = (m: string[]) => `max by (link) (quantile_over_time(0.95, ${sel(names.windowBusy, m)}[${longWindow}]))`;
  const forecast = (m: string[]) => `max by (link) (last_over_time(${sel(names.forecast, m)}[${daily.lookback}]))`;
  return {
    /** Link terms exported during the month (the newest value). */
    capacityBytes: (days: number, ...m: string[]) => lastTerm('linkmon_link_capacity_bytes', days, m),
    stepBytes: (days: number, ...m: string[]) => lastTerm('linkmon_link_step_bytes', days, m),
    oneOffCost: (days: number, ...m: string[]) => lastTerm('linkmon_link_step_one_off_cost_gbp', days, m),
    annualCost: (days: number, ...m: string[]) => lastTerm('linkmon_link_step_annual_cost_gbp', days, m),
    leadTimeSeconds: (days: number, ...m: string[]) => lastTerm('linkmon_link_step_lead_time_seconds', days, m),
    thresholds: (days: number, ...m: string[]) => lastTerm('linkmon_link_threshold_ratio', days, m, 'link, threshold'),
    /** The step rule's figure (docs/capacity.md): the rolling busy-hour p95. */
    p95BusyLong: (...m: string[]) => p95BusyLong(m),
    /** The newest once-a-day samples of the forecast series (range selectors: timestamps and values). */
    trendSamples: (...m: string[]) =>
      [names.trendSlope, names.trendNow, names.forecast, names.forecastCrossing].map((name) => ({ name, expr: `${sel(name, m)}[${daily.lookback}]` })),
    stepsRecommended: (...m: string[]) => q.stepsRecommended(p95BusyLong(m), forecast(m)),
    stepRule: (...m: string[]) => q.stepCondition(p95BusyLong(m)),
    forecastRule: (...m: string[]) => q.forecastCondition(forecast(m)),
    releaseRule: (...m: string[]) => q.releaseCondition(sel(names.oneStepLess, m)),
  };
}
