// The capacity figures of docs/capacity.md computed directly from raw samples, written from the
// definitions and independent of the PromQL in alerts/src: the tests compare the rules, the report
// and the dashboard against these.
import { ukLocal, type CapacityHistory, type LinkSpec, type Series } from './capacity-history.js';

const WINDOW = 300;
const DAY = 86400;

/** Index of the first element of sorted `times` that is >= t. */
function lowerBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Prometheus 2.x increase() of a counter over [start, end] (both ends included): the difference of
 * the first and last samples, plus the value before each drop (a reset counts from zero), extrapolated
 * towards each end of the range when the gap there is under 1.1 average sample intervals (else by
 * half an interval), and never to below zero. Undefined with fewer than two samples.
 */
export function prometheusIncrease(series: Series, start: number, end: number): number | undefined {
  const first = lowerBound(series.times, start);
  const last = lowerBound(series.times, end + 1e-9) - 1;
  if (last - first < 1) return undefined;
  const t = series.times;
  const v = series.values;
  let result = v[last]! - v[first]!;
  let previous = 0;
  for (let i = first; i <= last; i++) {
    if (v[i]! < previous) result += previous;
    previous = v[i]!;
  }
  let toStart = t[first]! - start;
  const toEnd = end - t[last]!;
  const sampled = t[last]! - t[first]!;
  const average = sampled / (last - first);
  if (result > 0 && v[first]! >= 0) toStart = Math.min(toStart, sampled * (v[first]! / result));
  const threshold = average * 1.1;
  const extrapolated = sampled + (toStart < threshold ? toStart : average / 2) + (toEnd < threshold ? toEnd : average / 2);
  return result * (extrapolated / sampled);
}

/** Prometheus' quantile: rank q·(n − 1) in the sorted values, linear interpolation between neighbours. */
export function quantile(q: number, values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (rank - lower);
}

/** A window starts in the busy hours: Monday–Friday, 08:00 ≤ UK local time < 18:00. */
export function isBusy(start: number): boolean {
  const { day, hour } = ukLocal(start);
  return day >= 1 && day <= 5 && hour >= 8 && hour < 18;
}

export interface Window {
  start: number;
  in?: number;
  out?: number;
  /** max(in, out) */
  value: number;
  busy: boolean;
}

const TEST_DIRECTIONS: Record<string, 'in' | 'out'> = { site_to_dc: 'out', dc_to_site: 'in' };

/**
 * The windows of a link that count, from the raw series: octets per direction in [t, t + 300 s]
 * (interface counters minus 1.05 × throughput-test payload across the link, at least 0) × 8 / 300 /
 * capacity; missing when a direction has too few samples; excluded when the link's device had a failed
 * SNMP poll in the window or the one before.
 */
export function linkWindows(history: CapacityHistory, spec: LinkSpec): Window[] {
  const find = (name: string, match: (labels: Record<string, string>) => boolean) => history.series.filter((s) => s.name === name && match(s.labels));
  const interfaces = find('linkmon_interface_bytes_total', (l) => l.site === 'dc' && l.device === spec.device && l.interface === spec.link);
  const tests = find('linkmon_throughput_test_bytes_total', (l) => l.link === spec.link);
  const failures = find('linkmon_snmp_poll_failures_total', (l) => l.device === spec.device);
  const windows: Window[] = [];
  for (let start = spec.from; start < spec.to; start += WINDOW) {
    const end = start + WINDOW;
    if (failures.some((f) => (prometheusIncrease(f, end - 2 * WINDOW, end) ?? 0) > 0)) continue;
    const sum = (series: Series[], window: [number, number]) => {
      const parts = series.map((s) => prometheusIncrease(s, ...window)).filter((x): x is number => x !== undefined);
      return parts.length > 0 ? parts.reduce((a, b) => a + b, 0) : undefined;
    };
    const utilisation: Partial<Record<'in' | 'out', number>> = {};
    for (const direction of ['in', 'out'] as const) {
      const traffic = sum(
        interfaces.filter((s) => s.labels.direction === direction),
        [start, end],
      );
      if (traffic === undefined) continue;
      const test = sum(
        tests.filter((s) => TEST_DIRECTIONS[s.labels.direction!] === direction),
        [start, end],
      );
      utilisation[direction] = Math.max(0, traffic - 1.05 * (test ?? 0)) / WINDOW / spec.capacityBytes;
    }
    const present = Object.values(utilisation);
    if (present.length === 0) continue;
    windows.push({ start, ...utilisation, value: Math.max(...present), busy: isBusy(start) });
  }
  return windows;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export interface Month {
  start: number;
  end: number;
}

/** The figures of one calendar month (windows by their start), keyed as the report's. */
export function monthFigures(windows: readonly Window[], month: Month, previous: Month | undefined, levels: readonly number[]): Record<string, number> {
  const inMonth = (m: Month) => windows.filter((w) => w.start >= m.start && w.start < m.end);
  const ws = inMonth(month);
  if (ws.length === 0) return {};
  const values = ws.map((w) => w.value);
  const busy = ws.filter((w) => w.busy).map((w) => w.value);
  const hoursAbove = (vs: readonly number[], level: number) => (vs.filter((v) => v > level).length * WINDOW) / 3600;
  const figures: Record<string, number> = {
    windows_used: ws.length,
    windows_excluded: (month.end - month.start) / WINDOW - ws.length,
    busy_windows_used: busy.length,
    mean: mean(values),
    p95: quantile(0.95, values),
    p99: quantile(0.99, values),
    max: Math.max(...values),
  };
  if (busy.length > 0) figures.busy_p95 = quantile(0.95, busy);
  const before = previous ? inMonth(previous).filter((w) => w.busy).map((w) => w.value) : [];
  if (busy.length > 0 && before.length > 0) figures.busy_p95_growth = quantile(0.95, busy) / quantile(0.95, before) - 1;
  for (const level of levels) {
    figures[`hours_above_${Math.round(level * 100)}`] = hoursAbove(values, level);
    figures[`busy_hours_above_${Math.round(level * 100)}`] = hoursAbove(busy, level);
  }
  return figures;
}

/** Per direction: mean, p95, p99 and max of the month's windows. */
export function directionFigures(windows: readonly Window[], month: Month): Record<string, Record<string, number>> {
  const ws = windows.filter((w) => w.start >= month.start && w.start < month.end);
  const out: Record<string, Record<string, number>> = {};
  for (const direction of ['in', 'out'] as const) {
    const values = ws.map((w) => w[direction]).filter((v): v is number => v !== undefined);
    if (values.length === 0) continue;
    out[direction] = {
      mean_by_direction: mean(values),
      p95_by_direction: quantile(0.95, values),
      p99_by_direction: quantile(0.99, values),
      max_by_direction: Math.max(...values),
    };
  }
  return out;
}

/** One busy-hour p95 per weekday (its UTC midnight) that has at least `minWindows` busy windows. */
export function dailyBusyP95(windows: readonly Window[], minWindows: number): Array<{ day: number; value: number }> {
  const byDay = new Map<number, number[]>();
  for (const w of windows) if (w.busy) byDay.set(w.start - (w.start % DAY), [...(byDay.get(w.start - (w.start % DAY)) ?? []), w.value]);
  return [...byDay.entries()]
    .filter(([, values]) => values.length >= minWindows)
    .map(([day, values]) => ({ day, value: quantile(0.95, values) }))
    .sort((a, b) => a.day - b.day);
}

export interface FitDay {
  /** Evaluation time: `hourUtc` on the day. */
  t: number;
  slopePerSecond: number;
  /** The line at t, and at t + horizon. */
  now: number;
  forecast: number;
  crossing?: number;
}

/**
 * The forecast rule evaluated once a day at `hourUtc`: ordinary least squares through the daily
 * values of the last `windowDays` days (each taken at its own evaluation time), projected to
 * t + `horizonSeconds`; only with at least `minPoints` values.
 */
export function dailyFits(daily: ReadonlyArray<{ day: number; value: number }>, o: { from: number; to: number; hourUtc: number; windowDays: number; minPoints: number; horizonSeconds: number; threshold: number }): FitDay[] {
  const fits: FitDay[] = [];
  for (let day = o.from - (o.from % DAY); day + o.hourUtc * 3600 <= o.to; day += DAY) {
    const t = day + o.hourUtc * 3600;
    const points = daily.filter((d) => d.day + o.hourUtc * 3600 > t - o.windowDays * DAY && d.day + o.hourUtc * 3600 <= t).map((d) => ({ x: d.day + o.hourUtc * 3600 - t, y: d.value }));
    if (points.length < o.minPoints) continue;
    const mx = mean(points.map((p) => p.x));
    const my = mean(points.map((p) => p.y));
    const slope = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
    const now = my - slope * mx;
    const fit: FitDay = { t, slopePerSecond: slope, now, forecast: now + slope * o.horizonSeconds };
    if (slope > 0) fit.crossing = t + (o.threshold - now) / slope;
    fits.push(fit);
  }
  return fits;
}

/**
 * The step rule: the first time t at which the busy-hour p95 of the windows that ended in (t − 30 d, t]
 * exceeds `threshold`. The p95 changes only when a window ends (enters) or ends 30 days before (leaves).
 */
export function stepOnset(windows: readonly Window[], threshold: number, rollingSeconds = 30 * DAY): number | undefined {
  const busy = windows.filter((w) => w.busy);
  const events = [...busy.map((w) => ({ t: w.start + WINDOW, value: w.value, enter: true })), ...busy.map((w) => ({ t: w.start + WINDOW + rollingSeconds, value: w.value, enter: false }))].sort(
    (a, b) => a.t - b.t,
  );
  const sorted: number[] = [];
  for (let i = 0; i < events.length; ) {
    const t = events[i]!.t;
    for (; i < events.length && events[i]!.t === t; i++) {
      const { value, enter } = events[i]!;
      const at = lowerBound(sorted, value);
      if (enter) sorted.splice(at, 0, value);
      else sorted.splice(at, 1);
    }
    if (sorted.length === 0) continue;
    const rank = 0.95 * (sorted.length - 1);
    const lower = Math.floor(rank);
    const p95 = sorted[lower]! + (sorted[Math.min(lower + 1, sorted.length - 1)]! - sorted[lower]!) * (rank - lower);
    if (p95 > threshold) return t;
  }
  return undefined;
}
