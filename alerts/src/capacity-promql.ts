// The capacity formulas of docs/capacity.md, one per quantity, as PromQL. The recording rules and
// alerts (capacity.ts), the monthly figures of the report and the dashboard (capacity-monthly.ts)
// are all built from these, so a definition changes in one place.
import type { AlertsConfig } from './config.js';
import { durationSeconds, formatSeconds } from '../../lib/units.js';
import { selector } from './promql.js';

/** Recorded series of the capacity area; names follow level:metric:operations. */
export function capacityNames(config: AlertsConfig) {
  const { window, dailyWindow, longWindow, forecast } = config.capacity;
  const aligned = `ratio_aligned${config.capacity.alignedWindow}`;
  const daily = `link:linkmon_link_utilisation:p95_busy_hours_${dailyWindow}`;
  return {
    /** Bytes per second through the link's interfaces, per interface direction, test traffic included (sliding window: live graphs). */
    traffic: `link_direction:linkmon_interface_bytes:rate${window}`,
    /** Bytes per second of throughput tests across the link, mapped to interface directions, header overhead added. */
    testTraffic: `link_direction:linkmon_throughput_test_bytes:rate${window}`,
    /** (traffic − test traffic) / provisioned capacity, per direction, over the sliding window (live graphs, LinkSaturated). */
    utilisationByDirection: `link_direction:linkmon_link_utilisation:ratio_rate${window}`,
    /** The busier direction's sliding utilisation. */
    utilisation: `link:linkmon_link_utilisation:ratio_rate${window}`,
    /** Utilisation per direction of each aligned window that counts (docs/capacity.md "Window"), recorded once per window. */
    windowByDirection: `link_direction:linkmon_link_utilisation:${aligned}`,
    /** The window's value: max(in, out). */
    window: `link:linkmon_link_utilisation:${aligned}`,
    /** 1 when the window recorded at the same evaluation starts in the busy hours (UK local time), else 0; no labels. */
    windowInBusyHours: `:linkmon_uk_busy_hours:aligned${config.capacity.alignedWindow}`,
    /** The window's value, for windows that start in the busy hours. */
    windowBusy: `link:linkmon_link_utilisation:${aligned}_busy_hours`,
    /** The window's value where above the `above` label's level (config capacity.hoursAbove): counted for hours above. */
    windowAbove: `link:linkmon_link_utilisation:${aligned}_above`,
    windowBusyAbove: `link:linkmon_link_utilisation:${aligned}_busy_hours_above`,
    /** Rolling busy-hour p95 over the long window (the step rule). */
    p95BusyLong: `link:linkmon_link_utilisation:p95_busy_hours_${longWindow}`,
    /** One value per weekday with enough busy windows, recorded once a day. */
    p95BusyDaily: daily,
    /** Ordinary least squares through the daily values of the forecast window: slope (ratio per second) and the line's value now. */
    trendSlope: `${daily}_deriv${forecast.window}`,
    trendNow: `${daily}_predict_linear${forecast.window}`,
    /** The line at now + lead time + margin. */
    forecast: 'link:linkmon_link_utilisation:p95_busy_hours_forecast',
    /** When the line crosses the forecast threshold (Unix seconds; in the past if already above). Only for rising lines. */
    forecastCrossing: 'link:linkmon_link_utilisation_forecast_crossing:timestamp_seconds',
    /** The daily busy-hour p95 against capacity minus one step (links of more than one step only). */
    oneStepLess: `link:linkmon_link_utilisation_one_step_less:p95_busy_hours_${dailyWindow}`,
    /** Steps to order (at least 1) so the larger of p95 and forecast falls under the recommend threshold; and what that gives and costs. */
    stepsRecommended: 'link:linkmon_link_steps:recommended',
    capacityRecommended: 'link:linkmon_link_capacity_bytes:recommended',
    annualCostRecommended: 'link:linkmon_link_step_annual_cost_gbp:recommended',
    oneOffCostRecommended: 'link:linkmon_link_step_one_off_cost_gbp:recommended',
  };
}

export type CapacityNames = ReturnType<typeof capacityNames>;
export type LinkThreshold = 'recommend' | 'forecast' | 'unused';

/** Seconds of the aligned window, of the lag before it is recorded, and of a day. */
export function windowSeconds(config: AlertsConfig): { window: number; lag: number } {
  return { window: durationSeconds(config.capacity.alignedWindow), lag: durationSeconds(config.capacity.windowLag) };
}

/** Busy windows in one busy day (10 hours of 5-minute windows: 120). */
export function busyWindowsPerDay(config: AlertsConfig): number {
  const { from, to } = config.capacity.busyHours;
  return ((to - from) * 3600) / windowSeconds(config).window;
}

/** 01:00 UTC on Sunday 4 January 1970, the first Sunday of the Unix epoch (a Thursday). */
const FIRST_SUNDAY_0100 = 3 * 86400 + 3600;
const WEEK = 7 * 86400;

/** integer x in [low, high] as one comparison: |x − mid| < half-width (cheap to evaluate in a backfill). */
function between(x: string, low: number, high: number): string {
  const mid = (low + high) / 2;
  const half = (high - low + 1) / 2;
  return `(${x} - ${mid}) ^ 2 < bool ${half * half}`;
}

/**
 * British Summer Time at the Unix time `t` (a scalar expression), as 0/1 PromQL (Prometheus 2.42 has no
 * time zones). BST runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
 * October, and the last Sunday of a 31-day month falls on the 25th or later; so it is BST when the most
 * recent Sunday 01:00 UTC fell between 25 March and 24 October (month × 100 + day in 325…1024).
 */
export function ukSummerTimeExpr(t = 'time()'): string {
  const sunday = `vector(${t} - (${t} - ${FIRST_SUNDAY_0100}) % ${WEEK})`;
  return `(${between(`month(${sunday}) * 100 + day_of_month(${sunday})`, 325, 1024)})`;
}

/**
 * Busy hours at the Unix time `t` (a scalar expression): UK local hour in [from, to) on the busy days.
 * The offset is at most one hour and busy hours end well before midnight, so the UTC day of week is the
 * local one whenever the hour is in range.
 */
export function busyHoursExpr(config: AlertsConfig, t = 'time()'): string {
  const { from, to, days } = config.capacity.busyHours;
  const first = Math.min(...days);
  const last = Math.max(...days);
  if (days.length !== last - first + 1) throw new Error('alerts config: capacity.busyHours.days must be consecutive days of the week');
  const at = `vector(${t})`;
  return `(${between(`day_of_week(${at})`, first, last)}) * (${between(`hour(${at}) + ${ukSummerTimeExpr(t)}`, from, to - 1)})`;
}

/** PromQL builders bound to one config: the link terms, the window formulas and the decision formulas. */
export function capacityPromql(config: AlertsConfig) {
  const { capacity } = config;
  const names = capacityNames(config);
  const job = config.agentSelector;
  const { window: W, lag } = windowSeconds(config);
  const w = capacity.alignedWindow;

  /**
   * A per-link term exported by the agent (linkmon_link_*), as one series per link: the newest value of
   * the last `termLookback`, so a short gap in the agent's scrapes does not drop the link's capacity.
   */
  const latestTerm = (metric: string, ...matchers: string[]) => `last_over_time(${metric}${selector(job, ...matchers)}[${capacity.termLookback}])`;
  const term = (metric: string, ...matchers: string[]) => `max by (link) (${latestTerm(metric, ...matchers)})`;
  const threshold = (name: LinkThreshold) => term('linkmon_link_threshold_ratio', `threshold="${name}"`);
  const capacityBytes = term('linkmon_link_capacity_bytes');
  const stepBytes = term('linkmon_link_step_bytes');

  /**
   * The sample a rule of the same group recorded at this very evaluation (rules write at the evaluation's
   * timestamp), and nothing older: an instant selector would reach back 5 minutes to the previous window
   * where a backfill, which writes no staleness markers, has no sample for this one.
   */
  const thisEvaluation = (name: string) => `last_over_time(${name}[1s])`;
  /** The newest value of a series recorded once per window, or once a day. */
  const latestWindow = (name: string) => `last_over_time(${name}[${2 * W}s])`;
  const latestDaily = (name: string) => `last_over_time(${name}[${capacity.daily.lookback}])`;
  /**
   * A range over a once-a-day series holding exactly the values of the last `duration`: recordings are
   * a whole number of days apart, so without its first window the range leaves out the one `duration` ago.
   */
  const days = (duration: string) => formatSeconds(durationSeconds(duration) - W);

  // ----- The window (evaluated at its end, inside a subquery whose steps are aligned to the window length)

  const toInterfaceDirection = Object.entries(capacity.testTrafficDirections).reduce(
    (expr, [testDirection, interfaceDirection]) => `label_replace(${expr}, "direction", "${interfaceDirection}", "direction", "${testDirection}")`,
    `increase(linkmon_throughput_test_bytes_total${selector(job, 'link!=""')}[${w}])`,
  );
  const windowTraffic = `sum by (link, direction) (
  increase(linkmon_interface_bytes_total${selector(job)}[${w}])
  * on (site, instance, device, interface) group_left (link)
  ${latestTerm('linkmon_link_info')}
)`;
  const windowTestTraffic = `${capacity.testTrafficOverhead} * sum by (link, direction) (${toInterfaceDirection})`;
  // A failed poll leaves the counters flat and the next good one adds the whole gap at once: the window
  // and the one after it do not count.
  const windowFailedPolls = `max by (link) (
  group by (site, instance, device, link) (${latestTerm('linkmon_link_info')})
  * on (site, instance, device) group_left ()
  sum by (site, instance, device) (increase(linkmon_snmp_poll_failures_total${selector(job)}[${2 * W}s]))
) > 0`;
  /** Utilisation per direction of the window ending at the evaluation time; nothing for a window that does not count. */
  const windowUtilisation = `(
  clamp_min((${windowTraffic} - on (link, direction) ${windowTestTraffic}) or ${windowTraffic}, 0)
  / ${W} / on (link) group_left ()
  ${capacityBytes}
)
unless on (link) (${windowFailedPolls})`;
  /**
   * At evaluation time T: the last aligned window that ended at least `lag` ago. The subquery's steps
   * are multiples of W, and its range one millisecond short of W holds exactly one of them: when that
   * window has no value, nothing (never the window before).
   */
  const lastWindow = (expr: string) => `last_over_time((${expr})[${W * 1000 - 1}ms:${w}] offset ${capacity.windowLag})`;
  /**
   * A time inside the window recorded at the evaluation time T (which starts in (T − W − lag − W, T − W − lag]):
   * busy-hour boundaries are whole multiples of W, so the window starts in busy hours exactly when this does.
   */
  const recordedWindowTime = `time() - ${W + lag}`;
  const busyAt = (t: string) => busyHoursExpr(config, t);

  // ----- Decision formulas, given their inputs (recorded series for the rules, inline for the report)

  /** Steps to order (at least one) so the larger of `p95` and `forecast` falls under the recommend ratio. */
  const stepsRecommended = (p95: string, forecast: string) => `clamp_min(
  ceil(
    ${capacityBytes}
    * (
      max by (link) (label_replace(${p95}, "basis", "p95", "", "") or label_replace(${forecast}, "basis", "forecast", "", ""))
      / ${threshold('recommend')}
      - 1
    )
    / ${stepBytes}
  ),
  1
)`;
  /** The step rule: the rolling busy-hour p95 above the recommend ratio. */
  const stepCondition = (p95: string) => `${p95} > ${threshold('recommend')}`;
  /** The forecast rule: the fitted line at now + lead time + margin above the forecast ratio. */
  const forecastCondition = (forecast: string) => `${forecast} > ${threshold('forecast')}`;
  /** The release rule: every daily busy-hour p95 against N − 1 steps under the unused ratio, over a full window of history. */
  const releaseCondition = (oneStepLess: string) => `max by (link) (max_over_time(${oneStepLess}[${days(capacity.unusedWindow)}])) < ${threshold('unused')}
and on (link)
present_over_time(${oneStepLess}[1w] offset ${capacity.unusedWindow})
and on (link)
present_over_time(${oneStepLess}[${capacity.daily.lookback}])`;

  return {
    names,
    term,
    latestTerm,
    threshold,
    capacityBytes,
    stepBytes,
    thisEvaluation,
    latestWindow,
    latestDaily,
    days,
    windowTraffic,
    windowTestTraffic,
    windowFailedPolls,
    windowUtilisation,
    lastWindow,
    recordedWindowTime,
    busyAt,
    stepsRecommended,
    stepCondition,
    forecastCondition,
    releaseCondition,
  };
}

export type CapacityPromql = ReturnType<typeof capacityPromql>;
