// Thirteen months of HSL utilisation cannot be produced in a test, so the live dashboard test
// backfills them: this module generates the capacity recording-rule series as the rules would have
// recorded them (hourly samples), writes them as OpenMetrics and turns them into TSDB blocks with
// `promtool tsdb create-blocks-from openmetrics` (Debian package prometheus).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capacityNames } from '../../alerts/src/capacity.js';
import { alertsConfig } from '../../alerts/src/config.js';
import { durationSeconds } from '../../lib/units.js';
import { LINK_THRESHOLD_DEFAULTS } from '../../dashboards/src/thresholds.js';

const HOUR = 3600;
const DAY = 86400;
const RULES = capacityNames(alertsConfig);
const ukClock = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: 'numeric', hourCycle: 'h23', weekday: 'short' });
const WEEKDAY_NUMBER: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 0 };

/** UK local hour and ISO-ish weekday number (0 = Sunday, as PromQL's day_of_week) of a Unix time. */
function ukLocal(unixSeconds: number): { hour: number; day: number } {
  const parts = Object.fromEntries(ukClock.formatToParts(new Date(unixSeconds * 1000)).map((p) => [p.type, p.value]));
  return { hour: Number(parts.hour), day: WEEKDAY_NUMBER[parts.weekday!]! };
}

function isBusy(unixSeconds: number): boolean {
  const { hour, day } = ukLocal(unixSeconds);
  const { from, to, days } = alertsConfig.capacity.busyHours;
  return days.includes(day) && hour >= from && hour < to;
}

/** Prometheus's quantile_over_time: linear interpolation between closest ranks, phi × (n − 1). */
function quantile(phi: number, values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = phi * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (rank - lower);
}

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
 * What a `quantile_over_time(phi, series[window])` rule records when evaluated at each of `times`
 * (sorted): the quantile of the samples in (t − window, t], nothing where there are none.
 */
function rollingQuantile(times: number[], series: Sample[], windowSeconds: number, phi: number): Sample[] {
  const out: Sample[] = [];
  let first = 0;
  let last = 0;
  for (const t of times) {
    while (last < series.length && series[last]!.t <= t) last++;
    while (first < last && series[first]!.t <= t - windowSeconds) first++;
    if (last > first) out.push({ t, value: quantile(phi, series.slice(first, last).map((s) => s.value)) });
  }
  return out;
}

/**
 * Demand on a `link` growing steadily over `days` (busy-hour peaks from ~35% to ~62% of capacity,
 * so the forecast crosses the thresholds), with office-hours peaks, quiet nights and weekends,
 * downloads (in) heavier than uploads (out). Deterministic: the wobble is a fixed function of time.
 *
 * Written: the 5-minute utilisation rules (per direction, busier direction, busy hours only), the
 * planning rules that later rules read over long windows (daily and 30-day busy-hour p95, the
 * smoothed trend input), each computed here as the rule would have recorded it hourly; and the
 * link's exported terms (capacity, thresholds) as the agent would have exported them.
 */
export function generateCapacityHistory(link: string, capacityBytes: number, days: number, endUnixSeconds: number): CapacityHistory {
  const to = Math.floor(endUnixSeconds / HOUR) * HOUR;
  const from = to - days * DAY;
  const byDirection: Record<'in' | 'out', Sample[]> = { in: [], out: [] };
  const utilisation: Sample[] = [];
  const busy: Sample[] = [];
  for (let t = from; t <= to; t += HOUR) {
    const growth = 0.35 + 0.27 * ((t - from) / (to - from));
    const { hour, day } = ukLocal(t);
    const weekday = day >= 1 && day <= 5;
    const officeCurve = Math.max(0, Math.sin((Math.PI * (hour - 7)) / 12));
    const wobble = 0.04 * Math.sin(t / 7919) + 0.02 * Math.sin(t / 1301);
    const inbound = Math.max(0.02, (weekday ? growth * officeCurve : 0.08) + wobble);
    byDirection.in.push({ t, value: inbound });
    byDirection.out.push({ t, value: 0.6 * inbound });
    utilisation.push({ t, value: inbound });
    if (isBusy(t)) busy.push({ t, value: inbound });
  }
  const { dailyWindow, longWindow, forecast } = alertsConfig.capacity;
  const hours = utilisation.map((s) => s.t);
  const daily = rollingQuantile(hours, busy, durationSeconds(dailyWindow), 0.95);
  const terms = `${alertsConfig.agentSelector},instance="backfill",site="dc",link="${link}"`;
  const constant = (value: number) => utilisation.map(({ t }) => ({ t, value }));
  const families: [string, [string, Sample[]][]][] = [
    [RULES.utilisationByDirection, [[`link="${link}",direction="in"`, byDirection.in], [`link="${link}",direction="out"`, byDirection.out]]],
    [RULES.utilisation, [[`link="${link}"`, utilisation]]],
    [RULES.utilisationBusy, [[`link="${link}"`, busy]]],
    [RULES.p95BusyDaily, [[`link="${link}"`, daily]]],
    [RULES.p95BusyLong, [[`link="${link}"`, rollingQuantile(hours, busy, durationSeconds(longWindow), 0.95)]]],
    [RULES.trendInput, [[`link="${link}"`, rollingQuantile(hours, daily, durationSeconds(forecast.smoothing), 0.5)]]],
    ['linkmon_link_capacity_bytes', [[terms, constant(capacityBytes)]]],
    ['linkmon_link_threshold_ratio', Object.entries(LINK_THRESHOLD_DEFAULTS).map(([threshold, value]) => [`${terms},threshold="${threshold}"`, constant(value)] as [string, Sample[]])],
  ];
  const lines: string[] = [];
  for (const [name, series] of families) {
    lines.push(`# TYPE ${name} gauge`);
    for (const [labels, samples] of series) for (const { t, value } of samples) lines.push(`${name}{${labels}} ${value.toFixed(6)} ${t}`);
  }
  lines.push('# EOF');
  return { text: `${lines.join('\n')}\n`, from, to };
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
