import type { AlertsConfig } from './config.js';
import { latencyNames } from './latency.js';
import { lossNames } from './loss.js';
import { durationSeconds } from '../../lib/units.js';
import { oneOf, percent, runbookUrl, selector, templateQueryValue } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'capacity';
const DAY = 86400;

/** Recorded series of the capacity area; names follow level:metric:operations. */
export function capacityNames(config: AlertsConfig) {
  const { window, dailyWindow, longWindow, forecast } = config.capacity;
  const busy = `link:linkmon_link_utilisation:ratio_rate${window}_busy_hours`;
  return {
    /** Bytes per second through the link's interfaces, per interface direction, test traffic included. */
    traffic: `link_direction:linkmon_interface_bytes:rate${window}`,
    /** Bytes per second of throughput tests across the link, mapped to interface directions, header overhead added. */
    testTraffic: `link_direction:linkmon_throughput_test_bytes:rate${window}`,
    /** (traffic − test traffic) / provisioned capacity, per direction. */
    utilisationByDirection: `link_direction:linkmon_link_utilisation:ratio_rate${window}`,
    /** The busier direction's utilisation. */
    utilisation: `link:linkmon_link_utilisation:ratio_rate${window}`,
    /** 1 while the UK is on British Summer Time, else 0 (no labels). */
    ukSummerTime: ':linkmon_uk_summer_time:bool',
    /** 1 during the busy hours in UK local time, else 0 (no labels). */
    busyHours: ':linkmon_uk_busy_hours:bool',
    /** `utilisation`, only during the busy hours. */
    utilisationBusy: busy,
    p95BusyDaily: `link:linkmon_link_utilisation:p95_busy_hours_${dailyWindow}`,
    p95BusyLong: `link:linkmon_link_utilisation:p95_busy_hours_${longWindow}`,
    p95Long: `link:linkmon_link_utilisation:p95_${longWindow}`,
    /** Median of the daily busy-hour p95 over the smoothing window: one unusual day does not bend the trend. */
    trendInput: `link:linkmon_link_utilisation:p95_busy_hours_${dailyWindow}_median${forecast.smoothing}`,
    /** Slope (ratio per second) and fitted current value of that median over the forecast window. */
    trendSlope: `link:linkmon_link_utilisation:p95_busy_hours_${dailyWindow}_median${forecast.smoothing}_deriv${forecast.window}`,
    trendNow: `link:linkmon_link_utilisation:p95_busy_hours_${dailyWindow}_median${forecast.smoothing}_predict_linear${forecast.window}`,
    /** The trend at now + lead time + margin. */
    forecast: `link:linkmon_link_utilisation:p95_busy_hours_forecast`,
    /** When the trend crosses the forecast threshold (Unix seconds; in the past if already above). Only for rising trends. */
    forecastCrossing: `link:linkmon_link_utilisation_forecast_crossing:timestamp_seconds`,
    /** The long busy-hour p95 as a share of capacity minus one step. */
    oneStepLess: `link:linkmon_link_utilisation_one_step_less:p95_busy_hours_${longWindow}`,
    /** Steps to order (at least 1) so the larger of p95 and forecast falls under the recommend threshold; and what that gives and costs. */
    stepsRecommended: 'link:linkmon_link_steps:recommended',
    capacityRecommended: 'link:linkmon_link_capacity_bytes:recommended',
    annualCostRecommended: 'link:linkmon_link_step_annual_cost_gbp:recommended',
    oneOffCostRecommended: 'link:linkmon_link_step_one_off_cost_gbp:recommended',
  };
}

/**
 * British Summer Time as PromQL over the evaluation time (Prometheus 2.42 has no time zones): from
 * 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October. March and
 * October have 31 days, so the last Sunday falls on the 25th–31st: it has passed once the most
 * recent Sunday (day of month − day of week) is the 25th or later, and on that Sunday from 01:00.
 * `at` is a one-element vector of Unix seconds (tests pass `vector(<t>)`); empty means now.
 */
export function ukSummerTimeExpr(at = ''): string {
  const lastSundayStarted = `(day_of_month(${at}) - day_of_week(${at}) >= bool 25) * (1 - (day_of_week(${at}) == bool 0) * (hour(${at}) < bool 1))`;
  return `(month(${at}) > bool 3) * (month(${at}) < bool 10)
+ (month(${at}) == bool 3) * ${lastSundayStarted}
+ (month(${at}) == bool 10) * (1 - ${lastSundayStarted})`;
}

/**
 * Busy hours in UK local time, given the summer-time flag (0/1). The offset is at most one hour and
 * busy hours end well before midnight, so the UTC day of week is the local one whenever the hour is in range.
 */
export function busyHoursExpr(config: AlertsConfig, summerTime: string, at = ''): string {
  const { from, to, days } = config.capacity.busyHours;
  const localHour = `(hour(${at}) + ${summerTime})`;
  const day = `(${days.map((d) => `(day_of_week(${at}) == bool ${d})`).join(' + ')})`;
  return `${day} * (${localHour} >= bool ${from}) * (${localHour} < bool ${to})`;
}

export function capacityRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { capacity } = config;
  const names = capacityNames(config);
  const job = config.agentSelector;
  const w = capacity.window;
  /** A per-link term exported by the agent (linkmon_link_*), as one series per link. */
  const term = (metric: string, ...matchers: string[]) => `max by (link) (${metric}${selector(job, ...matchers)})`;
  const capacityBytes = term('linkmon_link_capacity_bytes');
  const stepBytes = term('linkmon_link_step_bytes');
  const threshold = (name: 'recommend' | 'forecast' | 'unused') => term('linkmon_link_threshold_ratio', `threshold="${name}"`);

  const toInterfaceDirection = Object.entries(capacity.testTrafficDirections).reduce(
    (expr, [testDirection, interfaceDirection]) => `label_replace(${expr}, "direction", "${interfaceDirection}", "direction", "${testDirection}")`,
    `rate(linkmon_throughput_test_bytes_total${selector(job, 'link!=""')}[${w}])`,
  );
  const forecastWindow = durationSeconds(capacity.forecast.window);
  const minHistory = durationSeconds(capacity.forecast.minHistory);
  const unusedWindow = durationSeconds(capacity.unusedWindow);
  const lossKinds = `kind=~"${oneOf(config.loss.kinds)}"`;
  const latency = latencyNames(config);
  const latencyMatchers = selector(`quantile="${config.latency.alertQuantile}"`, `kind=~"${oneOf(config.latency.kinds)}"`, 'link!=""');
  const { saturated } = capacity;

  const linkQuery = (expr: string, format: string, fallback = 'n/a') => templateQueryValue(expr, ['$labels.link'], format, fallback);
  const linkSel = (metric: string, ...matchers: string[]) => `${metric}${selector(job, ...matchers, 'link=%q')}`;
  const bits = (expr: string) => `${linkQuery(`8 * max(${expr})`, 'humanize')}bit/s`;
  const currentCapacity = bits(linkSel('linkmon_link_capacity_bytes'));
  const recorded = (name: string, format: string, fallback?: string) => linkQuery(`${name}{link=%q}`, format, fallback);
  const dateOf = (name: string, fallback: string) =>
    `{{ with printf ${JSON.stringify(`${name}{link=%q}`)} $labels.link | query }}{{ (. | first | value | toTime).Format "2006-01-02" }}{{ else }}${fallback}{{ end }}`;
  const thresholdText = (name: 'recommend' | 'forecast' | 'unused') => linkQuery(`max(${linkSel('linkmon_link_threshold_ratio', `threshold="${name}"`)})`, 'humanizePercentage');

  return [
    {
      name: 'linkmon-capacity.rules',
      rules: [
        {
          record: names.traffic,
          expr: `sum by (link, direction) (
  rate(linkmon_interface_bytes_total${selector(job)}[${w}])
  * on (site, instance, device, interface) group_left (link)
  linkmon_link_info${selector(job)}
)`,
        },
        {
          record: names.testTraffic,
          expr: `${capacity.testTrafficOverhead} * sum by (link, direction) (${toInterfaceDirection})`,
        },
        {
          record: names.utilisationByDirection,
          // Tests that ran when no interface was polled cannot make utilisation negative.
          expr: `clamp_min((${names.traffic} - on (link, direction) ${names.testTraffic}) or ${names.traffic}, 0)
/ on (link) group_left ()
${capacityBytes}`,
        },
        { record: names.utilisation, expr: `max by (link) (${names.utilisationByDirection})` },
        { record: names.ukSummerTime, expr: ukSummerTimeExpr() },
        { record: names.busyHours, expr: busyHoursExpr(config, names.ukSummerTime) },
        { record: names.utilisationBusy, expr: `${names.utilisation} and on () (${names.busyHours} == 1)` },
      ],
    },
    {
      name: 'linkmon-capacity-planning.rules',
      interval: capacity.longEvaluationInterval,
      rules: [
        { record: names.p95BusyDaily, expr: `quantile_over_time(0.95, ${names.utilisationBusy}[${capacity.dailyWindow}])` },
        { record: names.p95BusyLong, expr: `quantile_over_time(0.95, ${names.utilisationBusy}[${capacity.longWindow}])` },
        { record: names.p95Long, expr: `quantile_over_time(0.95, ${names.utilisation}[${capacity.longWindow}])` },
        { record: names.trendInput, expr: `quantile_over_time(0.5, ${names.p95BusyDaily}[${capacity.forecast.smoothing}])` },
        { record: names.trendSlope, expr: `deriv(${names.trendInput}[${capacity.forecast.window}])` },
        { record: names.trendNow, expr: `predict_linear(${names.trendInput}[${capacity.forecast.window}], 0)` },
        {
          record: names.forecast,
          expr: `${names.trendNow} + ${names.trendSlope} * (${term('linkmon_link_step_lead_time_seconds')} + ${durationSeconds(capacity.forecast.margin)})`,
        },
        { record: names.forecastCrossing, expr: `time() + (${threshold('forecast')} - ${names.trendNow}) / (${names.trendSlope} > 0)` },
        { record: names.oneStepLess, expr: `${names.p95BusyLong} * ${capacityBytes} / (${capacityBytes} - ${stepBytes} > 0)` },
        {
          record: names.stepsRecommended,
          // Demand is the larger of the long p95 and the forecast; enough steps to bring it under the recommend ratio.
          expr: `clamp_min(
  ceil(
    ${capacityBytes}
    * (
      max by (link) (label_replace(${names.p95BusyLong}, "basis", "p95", "", "") or label_replace(${names.forecast}, "basis", "forecast", "", ""))
      / ${threshold('recommend')}
      - 1
    )
    / ${stepBytes}
  ),
  1
)`,
        },
        { record: names.capacityRecommended, expr: `${capacityBytes} + ${names.stepsRecommended} * ${stepBytes}` },
        { record: names.annualCostRecommended, expr: `${names.stepsRecommended} * ${term('linkmon_link_step_annual_cost_gbp')}` },
        { record: names.oneOffCostRecommended, expr: `${names.stepsRecommended} * ${term('linkmon_link_step_one_off_cost_gbp')}` },
      ],
    },
    {
      name: 'linkmon-capacity.alerts',
      rules: [
        {
          alert: 'LinkCapacityStepRecommended',
          expr: `(${names.p95BusyLong} > ${threshold('recommend')})
or
(
  ${names.forecast} > ${threshold('forecast')}
  and on (link)
  present_over_time(${names.trendInput}[${days(forecastWindow - minHistory)}] offset ${days(minHistory)})
)`,
          for: capacity.recommendFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'Order the next capacity step: sustained busy-hour demand on the link is close to its provisioned capacity.',
            description:
              `Link {{ $labels.link }} (${currentCapacity} provisioned): ${capacity.longWindow} busy-hour p95 utilisation ` +
              `${recorded(names.p95BusyLong, 'humanizePercentage')} (threshold ${thresholdText('recommend')}); ` +
              `the ${capacity.forecast.window} trend reaches ${recorded(names.forecast, 'humanizePercentage')} by the end of the lead time + ${capacity.forecast.margin} ` +
              `and crosses ${thresholdText('forecast')} on ${dateOf(names.forecastCrossing, 'no date (not rising)')}. ` +
              `Recommended: ${bits(`${names.capacityRecommended}{link=%q}`)} (${recorded(names.stepsRecommended, 'printf "%.0f"')} step(s)), ` +
              `adding £${recorded(names.annualCostRecommended, 'printf "%.0f"')} a year and £${recorded(names.oneOffCostRecommended, 'printf "%.0f"')} one-off.`,
            current_capacity: currentCapacity,
            p95: recorded(names.p95BusyLong, 'humanizePercentage'),
            forecast_crossing: dateOf(names.forecastCrossing, 'none'),
            recommended_capacity: bits(`${names.capacityRecommended}{link=%q}`),
            added_annual_cost: `£${recorded(names.annualCostRecommended, 'printf "%.0f"')}`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkCapacityStepRecommended'),
          },
        },
        {
          alert: 'LinkCapacityStepUnused',
          expr: `max_over_time(${names.oneStepLess}[${capacity.unusedWindow}]) < ${threshold('unused')}
and on (link)
present_over_time(${names.oneStepLess}[1d] offset ${days(unusedWindow)})`,
          for: capacity.unusedFor,
          labels: { severity: 'info' },
          annotations: {
            summary: 'One capacity step of the link has gone unused: removing it would save its annual cost.',
            description:
              `Link {{ $labels.link }} (${currentCapacity} provisioned): with one step less (${bits(linkSel('linkmon_link_capacity_bytes'))} − ${bits(linkSel('linkmon_link_step_bytes'))}) ` +
              `the ${capacity.longWindow} busy-hour p95 would have stayed at or below {{ $value | humanizePercentage }} for ${capacity.unusedWindow} ` +
              `(threshold ${thresholdText('unused')}). ` +
              `Removing the step saves £${linkQuery(`max(${linkSel('linkmon_link_step_annual_cost_gbp')})`, 'printf "%.0f"')} a year.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkCapacityStepUnused'),
          },
        },
        {
          alert: 'LinkSaturated',
          expr: `${names.utilisation} > ${saturated.ratio}
and on (link)
(
  max by (link) (${lossNames(config.loss.short.window).target}${selector(lossKinds, 'link!=""')}) > ${saturated.lossRatio}
  or on (link)
  max by (link) (
    ${latency.quantile}${latencyMatchers} > ${saturated.latencyRiseFactor} * ${latency.baseline}
    and
    ${latency.quantile}${latencyMatchers} - ${latency.baseline} > ${saturated.latencyRiseMinSeconds}
  )
)`,
          for: saturated.for,
          labels: { severity: 'page' },
          annotations: {
            summary: 'The link is saturated: traffic is queued or dropped and users across it are affected.',
            description:
              `Link {{ $labels.link }} is carrying {{ $value | humanizePercentage }} of its ${currentCapacity} (busier direction, ${w} rate, test traffic excluded; ` +
              `page above ${percent(saturated.ratio)}) for at least ${saturated.for}, and probes across it show loss ` +
              `(worst site ${linkQuery(`max(${lossNames(config.loss.short.window).target}{${lossKinds},link=%q})`, 'humanizePercentage')}) ` +
              `or a latency rise above ${saturated.latencyRiseFactor}× baseline.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkSaturated'),
          },
        },
      ],
    },
  ];
}

/** A whole number of days as a Prometheus duration; seconds otherwise. */
function days(seconds: number): string {
  return seconds % DAY === 0 ? `${seconds / DAY}d` : `${seconds}s`;
}
