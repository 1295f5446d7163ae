// The comparisons of the capacity tests, shared with bench/capacity-report.ts: a report and the rules
// over a backfilled history against the independent computation of capacity-definitions.ts, and one
// store's report against another's. Each returns what it measured; the test asserts on it, the
// bench tabulates it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { monthlyFigures } from '../../alerts/src/capacity-monthly.js';
import { capacityPromql } from '../../alerts/src/capacity-promql.js';
import { capacityRuleGroups } from '../../alerts/src/capacity.js';
import type { AlertsConfig } from '../../alerts/src/config.js';
import type { RecordingRule, RuleGroup } from '../../alerts/src/types.js';
import type { Report } from '../../report/model.js';
import { monthsEndingWith, parseMonth } from '../../report/months.js';
import type { MatrixSeries, VectorSample } from '../../report/prometheus.js';
import { dailyBusyP95, dailyFits, directionFigures, linkWindows, monthFigures, stepOnset, type FitDay, type Window } from './capacity-definitions.js';
import type { CapacityHistory, LinkSpec } from './capacity-history.js';
import { REPO_ROOT } from './linkmon-process.js';
import { remoteWrite } from './remote-write.js';

const DAY = 86400;
export const REPORT_MONTH = parseMonth('2026-10')!;
export const MONTHS = monthsEndingWith(REPORT_MONTH, 13);

/**
 * The capacity rules the report and the checks read. The rolling 30-day p95 and what is derived from it
 * are left out: a 13-month backfill of a 30-day quantile every 5 minutes takes minutes, and the report
 * computes them at the month's end from the same expression; the step rule's timing is checked by
 * evaluating that expression directly.
 */
export function backfilledGroups(config: AlertsConfig): RuleGroup[] {
  const { names } = capacityPromql(config);
  const skip = new Set([names.p95BusyLong, names.stepsRecommended, names.capacityRecommended, names.annualCostRecommended, names.oneOffCostRecommended]);
  return capacityRuleGroups(config)
    .filter((g) => g.name === 'linkmon-capacity-windows.rules' || g.name === 'linkmon-capacity-daily.rules')
    .map((g) => ({ ...g, rules: g.rules.filter((r) => 'record' in r && !skip.has(r.record)) }));
}

function recordingExpr(config: AlertsConfig, name: string): string {
  const rule = capacityRuleGroups(config)
    .flatMap((g) => g.rules)
    .find((r): r is RecordingRule => 'record' in r && r.record === name);
  return rule!.expr;
}

/** Independent figures of one link: its windows, months, daily values and daily fits. */
export interface Expected {
  spec: LinkSpec;
  windows: Window[];
  months: Map<string, { figures: Record<string, number>; directions: Record<string, Record<string, number>> }>;
  daily: Array<{ day: number; value: number }>;
  fits: FitDay[];
}

export function expectedFor(history: CapacityHistory, spec: LinkSpec, config: AlertsConfig): Expected {
  const windows = linkWindows(history, spec);
  const months: Expected['months'] = new Map();
  for (const m of MONTHS) {
    const previous = monthsEndingWith(m, 2)[0]!;
    months.set(m.label, { figures: monthFigures(windows, m, previous, config.capacity.hoursAbove), directions: directionFigures(windows, m) });
  }
  const { busyHours, daily: once, forecast } = config.capacity;
  const daily = dailyBusyP95(windows, Math.ceil(once.minWindowShare * (busyHours.to - busyHours.from) * 12));
  const fits = dailyFits(daily, {
    from: spec.from,
    to: spec.to,
    hourUtc: once.hourUtc,
    windowDays: 56,
    minPoints: forecast.minPoints,
    horizonSeconds: spec.leadTimeSeconds + 30 * DAY,
    threshold: spec.thresholds.forecast,
  });
  return { spec, windows, months, daily, fits };
}

export const relative = (actual: number, expected: number) => (expected === 0 ? Math.abs(actual) : Math.abs(actual / expected - 1));

/** One compared figure: what the report gave, what was wanted, how far apart (relative, or hours), and the bound. */
export interface Difference {
  where: string;
  figure: string;
  got: number | undefined;
  want: number | undefined;
  error: number;
  bound: number;
}

/** Every monthly figure of the report against the definitions: 1% (a growth as the ratio of the two p95s), hours above ±0.25 h. */
export function definitionDifferences(report: Report, expected: Map<string, Expected>, config: AlertsConfig): Difference[] {
  const out: Difference[] = [];
  const figures = monthlyFigures(config).filter((f) => f.by === 'link' && f.unit !== 'count');
  for (const link of report.links) {
    const exp = expected.get(link.link)!;
    for (const m of link.months) {
      const want = exp.months.get(m.month)!;
      const where = `${link.link} ${m.month}`;
      for (const figure of figures) {
        const value = want.figures[figure.key];
        const got = m.figures[figure.key];
        const name = figure.unit === 'hours' ? `${figure.key} (h)` : figure.key;
        if (value === undefined || got === undefined) {
          // No data on one side only is a failure; on both, agreement.
          out.push({ where, figure: name, got, want: value, error: got === value ? 0 : Infinity, bound: 0 });
        } else if (figure.unit === 'hours') {
          out.push({ where, figure: name, got, want: value, error: Math.abs(got - value), bound: 0.25 });
        } else {
          const error = figure.unit === 'change' ? relative(1 + got, 1 + value) : relative(got, value);
          out.push({ where, figure: figure.key, got, want: value, error, bound: 0.01 });
        }
      }
      for (const [direction, values] of Object.entries(want.directions)) {
        for (const [key, value] of Object.entries(values)) {
          const got = m.directions[direction]?.[key];
          out.push({ where: `${where} ${direction}`, figure: `${key} ${direction}`, got, want: value, error: got === undefined ? Infinity : relative(got, value), bound: 0.01 });
        }
      }
    }
  }
  return out;
}

/** Every number two reports share (figures, sites, forecast crossing, rolling p95), `other` against `base`: within 0.5%. */
export function storeDifferences(other: Report, base: Report): Difference[] {
  const out: Difference[] = [];
  const compare = (got: number | undefined, want: number | undefined, where: string, figure: string) => {
    const error = got === undefined || want === undefined ? (got === want ? 0 : Infinity) : Math.abs(got - want) <= 1e-9 ? 0 : relative(got, want);
    out.push({ where, figure, got, want, error, bound: 0.005 });
  };
  for (const link of base.links) {
    const o = other.links.find((l) => l.link === link.link);
    link.months.forEach((m, i) => {
      const om = o?.months[i];
      const where = `${link.link} ${m.month}`;
      for (const key of new Set([...Object.keys(m.figures), ...Object.keys(om?.figures ?? {})])) compare(om?.figures[key], m.figures[key], where, key);
      for (const d of ['in', 'out']) for (const key of Object.keys(m.directions[d] ?? {})) compare(om?.directions[d]?.[key], m.directions[d]?.[key], where, `${key} ${d}`);
      for (const site of Object.keys(m.sites)) for (const key of Object.keys(m.sites[site]!)) compare(om?.sites[site]?.[key], m.sites[site]![key], where, `${key} ${site}`);
    });
    compare(o?.forecast?.crossing, link.forecast?.crossing, link.link, 'forecast crossing');
    compare(o?.rules.p95BusyLong, link.rules.p95BusyLong, link.link, 'rolling busy-hour p95');
  }
  return out;
}

/** The largest error per figure, for a log line or a results table. */
export function worstByFigure(differences: readonly Difference[]): Record<string, number> {
  const worst: Record<string, number> = {};
  for (const d of differences) worst[d.figure.replace(/ (in|out)$/, ' per direction')] = Math.max(worst[d.figure] ?? 0, d.error);
  return worst;
}

export type QueryRange = (expr: string, start: number, end: number, step: number) => Promise<MatrixSeries[]>;

/** The times an expression is non-empty, per link, at `step`-second steps over [start, end]. */
export async function trueAt(queryRange: QueryRange, expr: string, start: number, end: number, step: number): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  const points = 10_000;
  for (let from = start; from <= end; from += points * step) {
    for (const series of await queryRange(expr, from, Math.min(end, from + (points - 1) * step), step)) {
      const set = out.get(series.metric.link!) ?? new Set<number>();
      for (const [t] of series.values) set.add(t);
      out.set(series.metric.link!, set);
    }
  }
  return out;
}

export interface ForecastTiming {
  /** First hour (at half past) the alert's forecast condition holds, and the independent first fit above. */
  first: number;
  independent: number | undefined;
  /** Hours after `first` at which the condition and the newest independent projection disagree. */
  mismatches: string[];
  /** Daily fits after the first one above that were at or under the threshold (the projection dipping). */
  fitsBelowAfterwards: number;
}

/** The alert's forecast condition over the history, hourly, against the independent daily fits. */
export async function forecastTiming(queryRange: QueryRange, exp: Expected, config: AlertsConfig): Promise<ForecastTiming> {
  const q = capacityPromql(config);
  const { spec, fits } = exp;
  const independent = fits.find((f) => f.forecast > spec.thresholds.forecast);
  // Hourly at half past: after each day's fit, recorded in the first 5 minutes of its hour.
  const firing = (await trueAt(queryRange, q.forecastCondition(q.latestDaily(q.names.forecast)), spec.from + 1800, spec.to, 3600)).get(spec.link) ?? new Set<number>();
  const first = Math.min(...firing);
  const mismatches: string[] = [];
  for (let t = first; t < spec.to; t += 3600) {
    const newest = fits.filter((f) => f.t <= t).at(-1);
    if ((newest !== undefined && newest.forecast > spec.thresholds.forecast) !== firing.has(t)) mismatches.push(new Date(t * 1000).toISOString());
  }
  const fitsBelowAfterwards = independent ? fits.filter((f) => f.t > independent.t && f.forecast <= spec.thresholds.forecast).length : 0;
  return { first, independent: independent?.t, mismatches, fitsBelowAfterwards };
}

export interface StepTiming {
  /** First 5-minute step the step rule's condition holds near the independent onset, and that onset. */
  first: number;
  onset: number | undefined;
  /** Whether it held at any daily step before the onset. */
  heldBefore: boolean;
}

/** The step rule (the recording rule's expression against the recommend threshold) around its independent onset. */
export async function stepTiming(queryRange: QueryRange, exp: Expected, config: AlertsConfig): Promise<StepTiming> {
  const q = capacityPromql(config);
  const condition = q.stepCondition(`(${recordingExpr(config, q.names.p95BusyLong)})`);
  const onset = stepOnset(exp.windows, exp.spec.thresholds.recommend);
  if (onset === undefined) return { first: Infinity, onset, heldBefore: false };
  // Daily before the onset (the rolling p95 moves slowly), every 5 minutes around it.
  const before = (await trueAt(queryRange, condition, exp.spec.from + 30 * DAY, onset - DAY, DAY)).get(exp.spec.link);
  const near = [...((await trueAt(queryRange, condition, onset - DAY, onset + DAY, 300)).get(exp.spec.link) ?? [])];
  return { first: Math.min(...near), onset, heldBefore: before !== undefined };
}

/** The release alert's condition daily over the history per link, and the independent days for `spare`. */
export async function releaseDays(queryRange: QueryRange, history: CapacityHistory, spare: Expected, config: AlertsConfig): Promise<{ firing: Map<string, number[]>; independent: number[] }> {
  const q = capacityPromql(config);
  const hour = config.capacity.daily.hourUtc + 1;
  const firing = await trueAt(queryRange, q.releaseCondition(q.names.oneStepLess), history.from + hour * 3600, history.to, DAY);
  // Every daily value × N / (N − 1) of the last 90 days under `unused`, the oldest at least 90 days old.
  const { capacityBytes, stepBytes, thresholds } = spare.spec;
  const oneStepLess = spare.daily.map((d) => ({ t: d.day + config.capacity.daily.hourUtc * 3600, value: (d.value * capacityBytes) / (capacityBytes - stepBytes) }));
  const independent: number[] = [];
  for (let t = spare.spec.from + hour * 3600; t < spare.spec.to; t += DAY) {
    const last90 = oneStepLess.filter((d) => d.t > t - 90 * DAY && d.t <= t);
    const old = oneStepLess.some((d) => d.t >= t - 97 * DAY && d.t <= t - 90 * DAY);
    if (old && last90.length > 0 && Math.max(...last90.map((d) => d.value)) < thresholds.unused) independent.push(t);
  }
  return { firing: new Map([...firing].map(([link, set]) => [link, [...set].sort((a, b) => a - b)])), independent };
}

export type RemoteWriteBlock = Array<{ url: string; queue_config?: object; write_relabel_configs: Array<{ action: string; regex: string }> } & Record<string, unknown>>;

/** The shipped prometheus.yml: its global section and its VictoriaMetrics remote_write block (commented out there), as YAML data. */
export function shippedLongTermStorage(): { global: { external_labels: Record<string, string> }; block: RemoteWriteBlock } {
  const text = readFileSync(join(REPO_ROOT, 'prometheus', 'prometheus.yml'), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l, i) => l === '# remote_write:' && lines.slice(Math.max(0, i - 3), i).some((p) => p.includes('VictoriaMetrics')));
  if (start < 0) throw new Error('no VictoriaMetrics remote_write block in prometheus/prometheus.yml');
  const block: string[] = [];
  for (const line of lines.slice(start)) {
    if (line === '#' || !line.startsWith('# ')) break;
    block.push(line.slice(2));
  }
  return { global: (parse(text) as { global: { external_labels: Record<string, string> } }).global, block: (parse(block.join('\n')) as { remote_write: RemoteWriteBlock }).remote_write };
}

export async function instantQuery(url: string, query: string, time: number): Promise<VectorSample[]> {
  const res = (await (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query, time: String(time) })}`)).json()) as { data: { result: VectorSample[] } };
  return res.data.result;
}

/**
 * Hands everything a Prometheus holds over [from, to] to a long-term store by remote write, as the
 * shipped block would (only the names its keep rule keeps, the external labels added), ten days at a
 * time in time order; then waits until the store holds as many samples of every name. Prometheus's
 * own remote_write sends only samples newer than its start, so a backfilled history cannot go through it.
 */
export async function copyHistory(prometheusUrl: string, querySamples: (selector: string, time: number) => Promise<MatrixSeries[]>, storeUrl: string, from: number, to: number): Promise<{ wanted: number; arrived: number }> {
  const { global, block } = shippedLongTermStorage();
  const keep = block[0]!.write_relabel_configs.find((r) => r.action === 'keep')!;
  const kept = new RegExp(`^(?:${keep.regex})$`);
  const chunk = 10 * DAY;
  const ends: number[] = [];
  for (let end = from + chunk; end < to + chunk; end += chunk) ends.push(end);
  const read = (end: number) => querySamples(`{__name__=~".+"}[${chunk * 1000 - 1}ms]`, end);
  // Reads the next ten days while the last ones are written.
  let next = read(ends[0]!);
  for (let i = 0; i < ends.length; i++) {
    const series = await next;
    if (i + 1 < ends.length) next = read(ends[i + 1]!);
    await remoteWrite(
      `${storeUrl}/api/v1/write`,
      series.filter((x) => kept.test(x.metric.__name__!)).map((x) => ({ labels: { ...x.metric, ...global.external_labels }, samples: x.values.map(([t, v]): [number, number] => [t, Number(v)]) })),
    );
  }
  const names = ((await (await fetch(`${prometheusUrl}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data;
  const total = names.map((name) => `sum(count_over_time(${name}[600d]))`).join(' + ');
  const wanted = Number((await instantQuery(prometheusUrl, total, to + DAY))[0]?.value[1] ?? 0);
  const deadline = Date.now() + 60_000;
  let arrived = 0;
  while (Date.now() < deadline) {
    await fetch(`${storeUrl}/internal/force_flush`);
    arrived = Number((await instantQuery(storeUrl, total, to + DAY))[0]?.value[1] ?? 0);
    if (arrived >= wanted) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { wanted, arrived };
}

