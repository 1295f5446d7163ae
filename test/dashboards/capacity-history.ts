// Thirteen months of HSL utilisation cannot be produced in a test, so the live dashboard test
// backfills them: this module generates, hourly, the capacity recording-rule series as the rules would
// have recorded them (aligned windows, the once-a-day busy-hour p95 and its least-squares trend) and the
// raw series the monthly figures read besides (the link's counters and terms, a site's uplink, `up`),
// writes them as OpenMetrics and turns them into TSDB blocks with `promtool tsdb create-blocks-from
// openmetrics` (Debian package prometheus). Hourly is enough for every panel to have data; the figures
// themselves are checked against the real rules in test/report/capacity-report.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capacityNames } from '../../alerts/src/capacity-promql.js';
import { alertsConfig } from '../../alerts/src/config.js';
import { LINK_THRESHOLD_DEFAULTS } from '../../dashboards/src/thresholds.js';
import { dailyBusyP95, dailyFits, isBusy, quantile, type Window } from '../support/capacity-definitions.js';
import { ukLocal } from '../support/capacity-history.js';

const HOUR = 3600;
const DAY = 86400;
const RULES = capacityNames(alertsConfig);

export interface CapacityHistory {
  /** OpenMetrics text. */
  text: string;
  from: number;
  to: number;
}

interface Sample {
  t: number;
  value: number;
}

/**
 * Demand on a `link` growing steadily over `days` (busy-hour peaks from ~35% to ~62% of capacity, so
 * the forecast rises), with office-hours peaks, quiet nights and weekends, downloads (in) heavier than
 * uploads (out). Deterministic: the wobble is a fixed function of time. `agentSelector`: the
 * matchers of the scrape job the agents' own series (link terms, interface counters, up) carry.
 */
export function generateCapacityHistory(link: string, capacityBytes: number, days: number, endUnixSeconds: number, agentSelector = alertsConfig.agentSelector): CapacityHistory {
  const to = Math.floor(endUnixSeconds / HOUR) * HOUR;
  const from = to - days * DAY;
  const windows: Window[] = [];
  const octets: Sample[] = [];
  let total = 0;
  for (let t = from; t <= to; t += HOUR) {
    const growth = 0.35 + 0.27 * ((t - from) / (to - from));
    const { hour, day } = ukLocal(t);
    const weekday = day >= 1 && day <= 5;
    const officeCurve = Math.max(0, Math.sin((Math.PI * (hour - 7)) / 12));
    const wobble = 0.04 * Math.sin(t / 7919) + 0.02 * Math.sin(t / 1301);
    const inbound = Math.max(0.02, (weekday ? growth * officeCurve : 0.08) + wobble);
    windows.push({ start: t, in: inbound, out: 0.6 * inbound, value: inbound, busy: isBusy(t) });
    total += 1.6 * inbound * capacityBytes * HOUR;
    octets.push({ t, value: Math.round(total) });
  }
  // Hourly windows stand in for the 5-minute ones: a day has 10 busy ones.
  const daily = dailyBusyP95(windows, 5);
  const { daily: once, forecast } = alertsConfig.capacity;
  const fits = dailyFits(daily, { from, to, hourUtc: once.hourUtc, windowDays: 56, minPoints: forecast.minPoints, horizonSeconds: 60 * DAY, threshold: LINK_THRESHOLD_DEFAULTS.forecast });
  const at = (seconds: number) => seconds - (seconds % DAY) + once.hourUtc * HOUR;

  const byLink = `link="${link}"`;
  const hourly = (value: number) => windows.map(({ start }) => ({ t: start, value }));
  const families: [string, [string, Sample[]][]][] = [
    [RULES.windowByDirection, ['in', 'out'].map((d) => [`${byLink},direction="${d}"`, windows.map((w) => ({ t: w.start, value: d === 'in' ? w.in! : w.out! }))] as [string, Sample[]])],
    [RULES.window, [[byLink, windows.map((w) => ({ t: w.start, value: w.value }))]]],
    [RULES.windowBusy, [[byLink, windows.filter((w) => w.busy).map((w) => ({ t: w.start, value: w.value }))]]],
    [RULES.windowAbove, alertsConfig.capacity.hoursAbove.map((level) => [`${byLink},above="${level}"`, windows.filter((w) => w.value > level).map((w) => ({ t: w.start, value: w.value }))] as [string, Sample[]])],
    [RULES.windowBusyAbove, alertsConfig.capacity.hoursAbove.map((level) => [`${byLink},above="${level}"`, windows.filter((w) => w.busy && w.value > level).map((w) => ({ t: w.start, value: w.value }))] as [string, Sample[]])],
    [RULES.p95BusyLong, [[byLink, rolling30dBusyP95(windows)]]],
    [RULES.p95BusyDaily, [[byLink, daily.filter((d) => at(d.day) <= to).map((d) => ({ t: at(d.day), value: d.value }))]]],
    [RULES.trendSlope, [[byLink, fits.map((f) => ({ t: f.t, value: f.slopePerSecond }))]]],
    [RULES.trendNow, [[byLink, fits.map((f) => ({ t: f.t, value: f.now }))]]],
    [RULES.forecast, [[byLink, fits.map((f) => ({ t: f.t, value: f.forecast }))]]],
    [RULES.forecastCrossing, [[byLink, fits.filter((f) => f.crossing !== undefined).map((f) => ({ t: f.t, value: f.crossing! }))]]],
    // The link's own series, for the monthly data-quality counts.
    ['linkmon_link_info', [[`${agentSelector},instance="backfill",site="esb",${byLink},device="dc-router",interface="lo"`, hourly(1)]]],
    ['linkmon_link_capacity_bytes', [[`${agentSelector},instance="backfill",site="esb",${byLink}`, hourly(capacityBytes)]]],
    ['linkmon_link_threshold_ratio', Object.entries(LINK_THRESHOLD_DEFAULTS).map(([threshold, value]) => [`${agentSelector},instance="backfill",site="esb",${byLink},threshold="${threshold}"`, hourly(value)] as [string, Sample[]])],
    ['linkmon_interface_bytes_total', [[`${agentSelector},instance="backfill",site="esb",device="dc-router",interface="lo",direction="in"`, octets]]],
    ['linkmon_interface_counter_discontinuities_total', [[`${agentSelector},instance="backfill",site="esb",device="dc-router",interface="lo",cause="reboot"`, hourly(0)]]],
    ['linkmon_snmp_poll_failures_total', [[`${agentSelector},instance="backfill",site="esb",device="dc-router",reason="timeout"`, hourly(0)]]],
    // Another site polling its own uplink, for the sites' shares; and its agent's `up`.
    ['linkmon_link_info', [[`${agentSelector},instance="uplink-backfill",site="lambeth",link="lambeth-uplink",device="lambeth-router",interface="uplink"`, hourly(1)]]],
    ['linkmon_interface_bytes_total', [[`${agentSelector},instance="uplink-backfill",site="lambeth",device="lambeth-router",interface="uplink",direction="out"`, octets.map((s) => ({ t: s.t, value: Math.round(s.value / 10) }))]]],
    ['up', [[`${agentSelector},instance="uplink-backfill",site="lambeth"`, hourly(1)], [`${agentSelector},instance="backfill",site="esb"`, hourly(1)]]],
  ];
  // OpenMetrics wants each family's samples together.
  const byName = new Map<string, [string, Sample[]][]>();
  for (const [name, series] of families) byName.set(name, [...(byName.get(name) ?? []), ...series]);
  const lines: string[] = [];
  for (const [name, series] of byName) {
    lines.push(`# TYPE ${name} gauge`);
    for (const [labels, samples] of series) for (const { t, value } of samples) lines.push(`${name}{${labels}} ${value} ${t}`);
  }
  lines.push('# EOF');
  return { text: `${lines.join('\n')}\n`, from, to };
}

/** What the 30-day busy-hour p95 rule would have recorded at each hour: the p95 of the busy windows of the 30 days before. */
function rolling30dBusyP95(windows: readonly Window[]): Sample[] {
  const busy = windows.filter((w) => w.busy);
  let first = 0;
  let last = 0;
  return windows.map(({ start: t }) => {
    while (last < busy.length && busy[last]!.start <= t) last += 1;
    while (first < last && busy[first]!.start < t - 30 * DAY) first += 1;
    return { t, value: last > first ? quantile(0.95, busy.slice(first, last).map((w) => w.value)) : Number.NaN };
  }).filter((s) => Number.isFinite(s.value));
}

/** Writes `history` as TSDB blocks into `tsdbPath` (a Prometheus --storage.tsdb.path). */
export function backfill(history: CapacityHistory, tsdbPath: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-backfill-'));
  try {
    const file = join(dir, 'history.om');
    writeFileSync(file, history.text);
    // Hidden flag: without it promtool writes one block per 2 h (thousands for a year).
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=9000h', '--quiet', file, tsdbPath], { stdio: 'pipe', timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
