import { busyWindowsPerDay, capacityPromql, windowSeconds } from './capacity-promql.js';
import type { AlertsConfig } from './config.js';
import { latencyNames } from './latency.js';
import { lossNames } from './loss.js';
import { durationSeconds } from '../../lib/units.js';
import { oneOf, percent, runbookUrl, selector, templateQueryValue } from './promql.js';
import type { RuleGroup } from './types.js';

// The names and formulas live in capacity-promql.ts; these are re-exported for the importers of this file.
export { busyHoursExpr, capacityNames, ukSummerTimeExpr } from './capacity-promql.js';

const RUNBOOK = 'capacity';

export function capacityRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { capacity } = config;
  const q = capacityPromql(config);
  const { names, term, threshold, capacityBytes, stepBytes, thisEvaluation, latestWindow, latestDaily, days } = q;
  const job = config.agentSelector;
  const w = capacity.window;
  const { window: windowLength } = windowSeconds(config);

  const toInterfaceDirection = Object.entries(capacity.testTrafficDirections).reduce(
    (expr, [testDirection, interfaceDirection]) => `label_replace(${expr}, "direction", "${interfaceDirection}", "direction", "${testDirection}")`,
    `rate(linkmon_throughput_test_bytes_total${selector(job, 'link!=""')}[${w}])`,
  );
  const lossKinds = `kind=~"${oneOf(config.loss.kinds)}"`;
  const latency = latencyNames(config);
  const latencyMatchers = selector(`quantile="${config.latency.alertQuantile}"`, `kind=~"${oneOf(config.latency.kinds)}"`, 'link!=""');
  const { saturated } = capacity;

  const linkQuery = (expr: string, format: string, fallback = 'n/a') => templateQueryValue(expr, ['$labels.link'], format, fallback);
  const linkSel = (metric: string, ...matchers: string[]) => `${metric}${selector(job, ...matchers, 'link=%q')}`;
  const bits = (expr: string) => `${linkQuery(`8 * max(${expr})`, 'humanize')}bit/s`;
  const currentCapacity = bits(linkSel('linkmon_link_capacity_bytes'));
  /** The newest value of a recorded series for the alert's link, in an annotation. */
  const latest = (name: string, lookback: string, format: string, fallback?: string) => linkQuery(`last_over_time(${name}{link=%q}[${lookback}])`, format, fallback);
  const windowLookback = `${2 * windowLength}s`;
  const dailyLookback = capacity.daily.lookback;
  const dateOf = (name: string, fallback: string) =>
    `{{ with printf ${JSON.stringify(`last_over_time(${name}{link=%q}[${dailyLookback}])`)} $labels.link | query }}{{ (. | first | value | toTime).Format "2006-01-02" }}{{ else }}${fallback}{{ end }}`;
  const thresholdText = (name: 'recommend' | 'forecast' | 'unused') => linkQuery(`max(${linkSel('linkmon_link_threshold_ratio', `threshold="${name}"`)})`, 'humanizePercentage');
  const recommendedBits = bits(`last_over_time(${names.capacityRecommended}{link=%q}[${windowLookback}])`);

  /** The once-a-day rules record only in the evaluation that falls in [hourUtc:00, hourUtc:00 + window). */
  const onceADay = `and on () (hour() == ${capacity.daily.hourUtc}) and on () (minute() < ${windowLength / 60})`;
  const fitRange = days(capacity.forecast.window);
  const enoughPoints = `and on (link) (count_over_time(${names.p95BusyDaily}[${fitRange}]) >= ${capacity.forecast.minPoints})`;
  const minBusyWindows = Math.ceil(capacity.daily.minWindowShare * busyWindowsPerDay(config));
  const window = thisEvaluation(names.window);
  const windowBusy = thisEvaluation(names.windowBusy);

  return [
    {
      name: 'linkmon-capacity.rules',
      rules: [
        {
          record: names.traffic,
          expr: `sum by (link, direction) (
  rate(linkmon_interface_bytes_total${selector(job)}[${w}])
  * on (site, instance, device, interface) group_left (link)
  ${q.latestTerm('linkmon_link_info')}
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
      ],
    },
    {
      // One evaluation per aligned window (docs/capacity.md): the subquery's steps are multiples of the
      // window length whatever this group's evaluation phase, so each recording is one whole window.
      name: 'linkmon-capacity-windows.rules',
      interval: capacity.alignedWindow,
      rules: [
        { record: names.windowByDirection, expr: q.lastWindow(q.windowUtilisation) },
        { record: names.window, expr: `max by (link) (${thisEvaluation(names.windowByDirection)})` },
        { record: names.windowInBusyHours, expr: q.busyAt(q.recordedWindowTime) },
        { record: names.windowBusy, expr: `${window} and on () (${thisEvaluation(names.windowInBusyHours)} == 1)` },
        ...capacity.hoursAbove.map((level) => ({ record: names.windowAbove, expr: `${window} > ${level}`, labels: { above: String(level) } })),
        ...capacity.hoursAbove.map((level) => ({ record: names.windowBusyAbove, expr: `${windowBusy} > ${level}`, labels: { above: String(level) } })),
        { record: names.p95BusyLong, expr: `quantile_over_time(0.95, ${names.windowBusy}[${capacity.longWindow}])` },
        { record: names.stepsRecommended, expr: q.stepsRecommended(thisEvaluation(names.p95BusyLong), latestDaily(names.forecast)) },
        { record: names.capacityRecommended, expr: `${capacityBytes} + ${thisEvaluation(names.stepsRecommended)} * ${stepBytes}` },
        { record: names.annualCostRecommended, expr: `${thisEvaluation(names.stepsRecommended)} * ${term('linkmon_link_step_annual_cost_gbp')}` },
        { record: names.oneOffCostRecommended, expr: `${thisEvaluation(names.stepsRecommended)} * ${term('linkmon_link_step_one_off_cost_gbp')}` },
      ],
    },
    {
      name: 'linkmon-capacity-daily.rules',
      interval: capacity.alignedWindow,
      rules: [
        {
          record: names.p95BusyDaily,
          // A weekday's busy windows all end before this evaluation, and yesterday's were recorded more than a day ago.
          expr: `quantile_over_time(0.95, ${names.windowBusy}[${capacity.dailyWindow}])
and on (link) (count_over_time(${names.windowBusy}[${capacity.dailyWindow}]) >= ${minBusyWindows})
${onceADay}`,
        },
        { record: names.trendSlope, expr: `deriv(${names.p95BusyDaily}[${fitRange}])\n${enoughPoints}\n${onceADay}` },
        { record: names.trendNow, expr: `predict_linear(${names.p95BusyDaily}[${fitRange}], 0)\n${enoughPoints}\n${onceADay}` },
        {
          record: names.forecast,
          expr: `${thisEvaluation(names.trendNow)} + ${thisEvaluation(names.trendSlope)} * on (link) (${term('linkmon_link_step_lead_time_seconds')} + ${durationSeconds(capacity.forecast.margin)})`,
        },
        { record: names.forecastCrossing, expr: `time() + (${threshold('forecast')} - ${thisEvaluation(names.trendNow)}) / (${thisEvaluation(names.trendSlope)} > 0)` },
        { record: names.oneStepLess, expr: `${thisEvaluation(names.p95BusyDaily)} * on (link) ${capacityBytes} / on (link) (${capacityBytes} - ${stepBytes} > 0)` },
      ],
    },
    {
      name: 'linkmon-capacity.alerts',
      rules: [
        {
          alert: 'LinkCapacityStepRecommended',
          expr: `(${q.stepCondition(latestWindow(names.p95BusyLong))})\nor\n(${q.forecastCondition(latestDaily(names.forecast))})`,
          for: capacity.recommendFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'Order the next capacity step: sustained busy-hour demand on the link is close to its provisioned capacity.',
            description:
              `Link {{ $labels.link }} (${currentCapacity} provisioned): ${capacity.longWindow} busy-hour p95 utilisation ` +
              `${latest(names.p95BusyLong, windowLookback, 'humanizePercentage')} (threshold ${thresholdText('recommend')}); ` +
              `the ${capacity.forecast.window} trend reaches ${latest(names.forecast, dailyLookback, 'humanizePercentage')} by the end of the lead time + ${capacity.forecast.margin} ` +
              `and crosses ${thresholdText('forecast')} on ${dateOf(names.forecastCrossing, 'no date (not rising)')}. ` +
              `Recommended: ${recommendedBits} (${latest(names.stepsRecommended, windowLookback, 'printf "%.0f"')} step(s)), ` +
              `adding £${latest(names.annualCostRecommended, windowLookback, 'printf "%.0f"')} a year and £${latest(names.oneOffCostRecommended, windowLookback, 'printf "%.0f"')} one-off.`,
            current_capacity: currentCapacity,
            p95: latest(names.p95BusyLong, windowLookback, 'humanizePercentage'),
            forecast_crossing: dateOf(names.forecastCrossing, 'none'),
            recommended_capacity: recommendedBits,
            added_annual_cost: `£${latest(names.annualCostRecommended, windowLookback, 'printf "%.0f"')}`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkCapacityStepRecommended'),
          },
        },
        {
          alert: 'LinkCapacityStepUnused',
          expr: q.releaseCondition(names.oneStepLess),
          for: capacity.unusedFor,
          labels: { severity: 'info' },
          annotations: {
            summary: 'One capacity step of the link has gone unused: releasing it would save its annual cost.',
            description:
              `Link {{ $labels.link }} (${currentCapacity} provisioned): with one step less (${bits(linkSel('linkmon_link_capacity_bytes'))} − ${bits(linkSel('linkmon_link_step_bytes'))}) ` +
              `every daily busy-hour p95 of the last ${capacity.unusedWindow} would have been at or below {{ $value | humanizePercentage }} ` +
              `(threshold ${thresholdText('unused')}). ` +
              `Releasing the step saves £${linkQuery(`max(${linkSel('linkmon_link_step_annual_cost_gbp')})`, 'printf "%.0f"')} a year.`,
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
