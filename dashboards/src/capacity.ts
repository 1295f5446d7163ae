// Capacity planning: is sustained HSL demand close enough to the provisioned capacity that the
// next 1 Gbps step should be ordered, when, and what will it cost? Figures are the capacity
// recording rules (alerts/src/capacity.ts): test traffic is excluded from demand and shown apart.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { monthlyFigures, type FigureUnit, type MonthSpan } from '../../alerts/src/capacity-monthly.js';
import { capacityNames, capacityPromql } from '../../alerts/src/capacity-promql.js';
import { durationSeconds } from '../../lib/units.js';
import {
  DASHBOARD_UIDS,
  alertThresholds,
  dashboardLink,
  datasourceVariable,
  defaultStat,
  defaultTable,
  defaultTimeseries,
  finalise,
  instantQuery,
  neutralThresholds,
  prometheusQuery,
  queryVariable,
  linkmonDashboard,
} from './common.js';
import { VARIABLE_SELECTED_CONFIG, agentSeries, instanceVariable, jobVariable, rule } from './promql.js';
import { LINK_THRESHOLD_DEFAULTS, alertsConfig, utilisationLevels } from './thresholds.js';

const RULES = capacityNames(alertsConfig);
const Q = capacityPromql(VARIABLE_SELECTED_CONFIG);
const LINK = 'link="$link"';
const { capacity } = alertsConfig;
/** The newest value of a rule recorded once per window, or once a day (an instant selector would often find none). */
const latestWindow = (name: string) => Q.latestWindow(rule(name, LINK));
const latestDaily = (name: string) => Q.latestDaily(rule(name, LINK));

/** A per-link term exported by the agents (linkmon_link_*), read as the capacity rules read it. */
const term = (metric: string, ...matchers: string[]) => Q.term(metric, LINK, ...matchers);
const CAPACITY_BYTES = term('linkmon_link_capacity_bytes');

const DIRECTIONS_NOTE =
  'Directions are those of the HSL router interface: out = site to data centre (uploads), in = data centre to site (downloads).';

// ---------------------------------------------------------------------------------------------
// Decision

function capacityStat() {
  return defaultStat()
    .title('Provisioned capacity')
    .description('Capacity of the link as contracted (config links[].capacity, exported as linkmon_link_capacity_bytes).')
    .unit(units.BitsPerSecondSI)
    .thresholds(neutralThresholds())
    .withTarget(instantQuery(`8 * ${CAPACITY_BYTES}`, 'capacity'));
}

function p95LongStat() {
  return defaultStat()
    .title(`Busy-hour p95, ${capacity.longWindow}`)
    .description(
      `95th percentile of the ${capacity.window} utilisation (busier direction, test traffic excluded) during busy hours ` +
        `(${capacity.busyHours.from}:00–${capacity.busyHours.to}:00 UK time, weekdays) over ${capacity.longWindow}. ` +
        `Amber above the recommend ratio (default ${LINK_THRESHOLD_DEFAULTS.recommend * 100}%): LinkCapacityStepRecommended.`,
    )
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds({ amber: LINK_THRESHOLD_DEFAULTS.recommend }))
    .withTarget(instantQuery(latestWindow(RULES.p95BusyLong), 'p95'));
}

function forecastStat() {
  return defaultStat()
    .title('Forecast at lead time + margin')
    .description(
      `Busy-hour p95 projected by a least-squares line through the daily busy-hour p95 of the last ${capacity.forecast.window} (fitted once a day) to now + the step's lead time + ${capacity.forecast.margin}. ` +
        `Amber above the forecast ratio (default ${LINK_THRESHOLD_DEFAULTS.forecast * 100}%): LinkCapacityStepRecommended.`,
    )
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds({ amber: LINK_THRESHOLD_DEFAULTS.forecast }))
    .withTarget(instantQuery(latestDaily(RULES.forecast), 'forecast'));
}

function crossingStat() {
  return defaultStat()
    .title('Forecast crosses threshold')
    .description(
      `Date the ${capacity.forecast.window} trend of the daily busy-hour p95 reaches the link's forecast ratio. Empty while the trend is not rising; in the past when already above.`,
    )
    .unit(units.DatetimeISO)
    .noValue('not rising')
    .thresholds(neutralThresholds())
    .colorMode(common.BigValueColorMode.None)
    .withTarget(instantQuery(`1000 * ${latestDaily(RULES.forecastCrossing)}`, 'crossing'));
}

function timeToOrderStat() {
  const margin = durationSeconds(capacity.forecast.margin);
  return defaultStat()
    .title('Time left to order')
    .description(
      `Forecast crossing date minus the step's lead time minus now: order the next step before this runs out. ` +
        `Red when it has (the step would arrive after the crossing); amber within ${capacity.forecast.margin}.`,
    )
    .unit(units.Seconds)
    .noValue('not rising')
    .thresholds(alertThresholds({ red: 0, amber: margin }, 'lower'))
    .withTarget(instantQuery(`${latestDaily(RULES.forecastCrossing)} - on (link) ${term('linkmon_link_step_lead_time_seconds')} - time()`, 'time left'));
}

function recommendedCapacityStat() {
  return defaultStat()
    .title('Recommended capacity')
    .description(
      'Capacity after the next order: enough steps (at least one) to bring the larger of the busy-hour p95 and the forecast under the recommend ratio. ' +
        'Whether to order now is the LinkCapacityStepRecommended alert.',
    )
    .unit(units.BitsPerSecondSI)
    .thresholds(neutralThresholds())
    .withTarget(instantQuery(`8 * ${latestWindow(RULES.capacityRecommended)}`, 'recommended'));
}

function annualCostStat() {
  return defaultStat()
    .title('Added annual cost')
    .description('Yearly cost of the recommended steps (config links[].step.annual_cost_gbp per step, default £1,500 per 1 Gbps).')
    .unit(units.Pounds)
    .decimals(0)
    .thresholds(neutralThresholds())
    .withTarget(instantQuery(latestWindow(RULES.annualCostRecommended), 'per year'));
}

function oneOffCostStat() {
  return defaultStat()
    .title('One-off cost')
    .description('One-off (admin) cost of the recommended steps (config links[].step.one_off_cost_gbp per step, default £500).')
    .unit(units.Pounds)
    .decimals(0)
    .thresholds(neutralThresholds())
    .withTarget(instantQuery(latestWindow(RULES.oneOffCostRecommended), 'one-off'));
}

// ---------------------------------------------------------------------------------------------
// Utilisation

function trafficTimeseries() {
  const stackByDirection = (direction: 'in' | 'out') => ({
    matcher: { id: 'byRegexp', options: `^(demand|test traffic) ${direction}$` },
    properties: [{ id: 'custom.stacking', value: { mode: common.StackingMode.Normal, group: direction } }],
  });
  const line = (colour: string) => [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'custom.lineWidth', value: 2 },
    { id: 'color', value: { mode: 'fixed', fixedColor: colour } },
  ];
  return defaultTimeseries()
    .title('Traffic against provisioned capacity')
    .description(
      `Real demand (interface traffic minus throughput-test traffic) with the test traffic stacked on top of it, per direction, ${capacity.window} rates. ` +
        `Dashed: the provisioned capacity and the link's recommend threshold. ${DIRECTIONS_NOTE}`,
    )
    .height(9)
    .span(24)
    .unit(units.BitsPerSecondSI)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(`8 * ${rule(RULES.utilisationByDirection, LINK)} * on (link) group_left () ${CAPACITY_BYTES}`, 'demand {{direction}}'))
    .withTarget(prometheusQuery(`8 * ${rule(RULES.testTraffic, LINK)}`, 'test traffic {{direction}}'))
    .withTarget(prometheusQuery(`8 * ${CAPACITY_BYTES}`, 'provisioned capacity'))
    .withTarget(prometheusQuery(`8 * ${CAPACITY_BYTES} * on (link) ${term('linkmon_link_threshold_ratio', 'threshold="recommend"')}`, 'recommend threshold'))
    .withOverride(stackByDirection('in'))
    .withOverride(stackByDirection('out'))
    .withOverride({ matcher: { id: 'byRegexp', options: '^test traffic .*' }, properties: [{ id: 'custom.fillOpacity', value: 60 }] })
    .withOverride({ matcher: { id: 'byName', options: 'provisioned capacity' }, properties: line('red') })
    .withOverride({ matcher: { id: 'byName', options: 'recommend threshold' }, properties: line('orange') });
}

function utilisationTimeseries() {
  return defaultTimeseries()
    .title('Utilisation per direction')
    .description(
      `Demand (test traffic excluded) as a share of provisioned capacity, ${capacity.window} rates. Amber from the default recommend ratio, red from ` +
        `${alertsConfig.capacity.saturated.ratio * 100}% (LinkSaturated pages when loss or a latency rise comes with it). ${DIRECTIONS_NOTE}`,
    )
    .height(8)
    .span(12)
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(alertThresholds(utilisationLevels()))
    .withTarget(prometheusQuery(rule(RULES.utilisationByDirection, LINK), '{{direction}}'));
}

function testShareTimeseries() {
  return defaultTimeseries()
    .title('Test traffic share of link traffic')
    .description(
      'Share of the traffic through the link interfaces that is linkmon throughput tests (payload plus header overhead). Shows how much the tests themselves ' +
        `load the link they measure; it is subtracted from demand everywhere else on this dashboard. ${DIRECTIONS_NOTE}`,
    )
    .height(8)
    .span(12)
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(`${rule(RULES.testTraffic, LINK)} / on (link, direction) (${rule(RULES.traffic, LINK)} > 0)`, '{{direction}}'));
}

// ---------------------------------------------------------------------------------------------
// Percentiles

function dailyP95Timeseries() {
  const thresholdLine = (colour: string) => [
    { id: 'custom.drawStyle', value: common.GraphDrawStyle.Line },
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.lineWidth', value: 2 },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: colour } },
  ];
  return defaultTimeseries()
    .title('Daily busy-hour p95')
    .description(
      `Bars: each weekday's 95th percentile of its busy-hour windows (max(in, out), test traffic excluded; none for a day with less than half of them), shown at the next midnight. Line: the ${capacity.longWindow} busy-hour p95 ` +
        'the recommendation is based on. Dashed: the link’s recommend and forecast ratios.',
    )
    .height(9)
    .span(24)
    .interval('1d')
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(alertThresholds({ amber: LINK_THRESHOLD_DEFAULTS.recommend }))
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(60)
    .withTarget(prometheusQuery(`last_over_time(${rule(RULES.p95BusyDaily, LINK)}[${capacity.dailyWindow}])`, 'daily busy-hour p95'))
    .withTarget(prometheusQuery(rule(RULES.p95BusyLong, LINK), `${capacity.longWindow} busy-hour p95`))
    .withTarget(prometheusQuery(`max by (link, threshold) (${agentSeries('linkmon_link_threshold_ratio', LINK, 'threshold=~"recommend|forecast"')})`, '{{threshold}} ratio'))
    .withOverride({
      matcher: { id: 'byName', options: `${capacity.longWindow} busy-hour p95` },
      properties: [
        { id: 'custom.drawStyle', value: common.GraphDrawStyle.Line },
        { id: 'custom.lineWidth', value: 2 },
        { id: 'custom.fillOpacity', value: 0 },
      ],
    })
    .withOverride({ matcher: { id: 'byName', options: 'recommend ratio' }, properties: thresholdLine('orange') })
    .withOverride({ matcher: { id: 'byName', options: 'forecast ratio' }, properties: thresholdLine('red') });
}

// ---------------------------------------------------------------------------------------------
// Monthly figures: the queries of `linkmon report` (alerts/src/capacity-monthly.ts), one row per month

/** The (length, previous month's length) pairs the calendar has, in days. */
const MONTH_SPANS: MonthSpan[] = [
  { days: 31, previousDays: 31 },
  { days: 31, previousDays: 30 },
  { days: 30, previousDays: 31 },
  { days: 28, previousDays: 31 },
  { days: 29, previousDays: 31 },
  { days: 31, previousDays: 28 },
  { days: 31, previousDays: 29 },
];

/**
 * A monthly figure at 00:00 UTC on the 1st of the next month (where the report evaluates it), empty at
 * every other step. Grafana cannot vary a query's range per step, so there is one branch per month
 * length (and previous month's length, for figures that read both), chosen by days_in_month.
 */
export function monthly(expr: (span: MonthSpan) => string): string {
  const dependsOnPrevious = expr({ days: 31, previousDays: 30 }) !== expr({ days: 31, previousDays: 31 });
  const spans = dependsOnPrevious ? MONTH_SPANS : [28, 29, 30, 31].map((days) => ({ days, previousDays: 31 }));
  return spans
    .map((span) => {
      const previous = dependsOnPrevious ? ` and days_in_month(vector(time() - ${(span.days + 1) * 86400})) == ${span.previousDays}` : '';
      return `(${expr(span)}) and on () (day_of_month() == 1 and days_in_month(vector(time() - 86400)) == ${span.days}${previous})`;
    })
    .join('\nor\n');
}

const UNITS: Record<FigureUnit, string> = { ratio: units.PercentUnit, change: units.PercentUnit, hours: 'h', windows: units.Short, count: units.Short };

/** A table of monthly figures: one column per (figure, extra matcher), rows by month. */
function monthlyTableOf(title: string, description: string, columns: Array<{ refId: string; name: string; unit: FigureUnit; expr: string }>, coloured: boolean) {
  const rangeTable = (expr: string, refId: string) => prometheusQuery(expr, '').format(prometheus.PromQueryFormat.Table).interval('1d').refId(refId);
  let table = defaultTable()
    .title(title)
    .description(`${description} Months are calendar months (UTC) by window start, evaluated as \`linkmon report\` does (same queries). ${DIRECTIONS_NOTE} Needs 13 months of history in Prometheus or its long-term store.`)
    .height(14)
    .span(24)
    .timeFrom('13M')
    .maxDataPoints(1000)
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds(utilisationLevels()))
    .withTarget(rangeTable(`1000 * (time() - 86400 * days_in_month(vector(time() - 86400))) and on () (day_of_month() == 1)`, 'MONTH'));
  for (const column of columns) table = table.withTarget(rangeTable(column.expr, column.refId));
  table = table
    .withTransformation({ id: 'joinByField', options: { byField: 'Time', mode: 'outer' } })
    .withTransformation({ id: 'filterFieldsByName', options: { include: { names: ['Value #MONTH', ...columns.map((c) => `Value #${c.refId}`)] } } })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Value #MONTH', desc: true }] } })
    .withOverride({
      matcher: { id: 'byName', options: 'Value #MONTH' },
      properties: [
        { id: 'displayName', value: 'Month' },
        { id: 'unit', value: 'time:YYYY-MM' },
        { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.Auto } },
      ],
    });
  for (const column of columns) {
    table = table.withOverride({
      matcher: { id: 'byName', options: `Value #${column.refId}` },
      properties: [
        { id: 'displayName', value: column.name },
        { id: 'unit', value: UNITS[column.unit] },
        ...(column.unit === 'windows' || column.unit === 'count' ? [{ id: 'decimals', value: 0 }] : column.unit === 'hours' ? [{ id: 'decimals', value: 2 }] : []),
        { id: 'custom.cellOptions', value: { type: coloured && column.unit === 'ratio' ? common.TableCellDisplayMode.ColorText : common.TableCellDisplayMode.Auto } },
      ],
    });
  }
  return table;
}

const refId = (key: string) => key.toUpperCase();

/** Per link: max(in, out), busy hours, hours above, windows and data quality, as the report's monthly table. */
export function monthlyTable() {
  const figures = monthlyFigures(VARIABLE_SELECTED_CONFIG).filter((f) => f.by === 'link');
  return monthlyTableOf(
    'Monthly utilisation, last 13 months',
    "Per month: mean, p95, p99 and max of the aligned 5-minute windows' value max(in, out) (test traffic excluded, all hours), busy-hour p95 and its growth on the month before, hours above each level (all and busy hours), windows used and excluded, and data-quality counts. Colours: the default recommend ratio (amber) and LinkSaturated (red).",
    figures.map((f) => ({ refId: refId(f.key), name: f.title, unit: f.unit, expr: monthly((span) => f.expr(span, LINK)) })),
    true,
  );
}

/** Per link and direction: mean, p95, p99, max. */
export function monthlyDirectionTable() {
  const figures = monthlyFigures(VARIABLE_SELECTED_CONFIG).filter((f) => f.by === 'direction');
  return monthlyTableOf(
    'Monthly utilisation per direction, last 13 months',
    'Per month and direction: mean, p95, p99 and max of the aligned 5-minute windows.',
    (['in', 'out'] as const).flatMap((direction) =>
      figures.map((f) => ({ refId: refId(`${f.key}_${direction}`), name: `${direction}: ${f.title.replace(/ per direction$/, '')}`, unit: f.unit, expr: monthly((span) => f.expr(span, LINK, `direction="${direction}"`)) })),
    ),
    true,
  );
}

/** Per site: its share of demand and the hours its agent was not scraped, month by month. */
export function monthlySitesTimeseries() {
  const figures = monthlyFigures(VARIABLE_SELECTED_CONFIG).filter((f) => f.by === 'site');
  let panel = defaultTimeseries()
    .title("Sites' share of demand and agent downtime by month")
    .description(
      "At the start of each month, the month before: each site's share of the traffic of the uplinks its own agent polls (the report's site shares; sites polling none are absent), " +
        'and the hours its agent could not be scraped (right axis).',
    )
    .height(9)
    .span(24)
    .timeFrom('13M')
    .interval('1d')
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(neutralThresholds())
    .drawStyle(common.GraphDrawStyle.Points)
    .pointSize(8);
  for (const f of figures) panel = panel.withTarget(prometheusQuery(monthly((span) => f.expr(span, LINK)), `{{site}} ${f.title.toLowerCase()}`).refId(refId(f.key)));
  return panel.withOverride({
    matcher: { id: 'byRegexp', options: '.* agent down \\(hours\\)$' },
    properties: [
      { id: 'unit', value: 'h' },
      { id: 'custom.axisPlacement', value: common.AxisPlacement.Right },
    ],
  });
}

export function capacityDashboard(): dashboard.Dashboard {
  const builder = linkmonDashboard({
    title: 'linkmon / Capacity planning',
    uid: DASHBOARD_UIDS.capacity,
    description: 'HSL utilisation against the provisioned capacity, busy-hour and monthly percentiles, the forecast, and the recommended step with its cost.',
    tag: 'capacity',
    refresh: '5m',
    from: 'now-90d',
    // UTC: Grafana aligns daily query steps to midnight in the dashboard's time zone, and the monthly
    // table needs them at 00:00 UTC on the 1st (calendar months are UTC months).
    timezone: 'utc',
  })
    .link(dashboardLink('Service desk overview', DASHBOARD_UIDS.overview, 'All 14 sites at a glance'))
    .withVariable(datasourceVariable())
    .withVariable(jobVariable())
    .withVariable(instanceVariable())
    .withVariable(queryVariable('link', 'Link', `label_values(${agentSeries('linkmon_link_info')}, link)`))
    .withRow(new dashboard.RowBuilder('Decision: $link'))
    .withPanel(capacityStat().span(3))
    .withPanel(p95LongStat().span(3))
    .withPanel(forecastStat().span(3))
    .withPanel(crossingStat().span(3))
    .withPanel(timeToOrderStat().span(3))
    .withPanel(recommendedCapacityStat().span(3))
    .withPanel(annualCostStat().span(3))
    .withPanel(oneOffCostStat().span(3))
    .withRow(new dashboard.RowBuilder('Utilisation'))
    .withPanel(trafficTimeseries())
    .withPanel(utilisationTimeseries())
    .withPanel(testShareTimeseries())
    .withRow(new dashboard.RowBuilder('Percentiles'))
    .withPanel(dailyP95Timeseries())
    .withRow(new dashboard.RowBuilder('Monthly figures (as in the monthly report)'))
    .withPanel(monthlyTable())
    .withPanel(monthlyDirectionTable())
    .withPanel(monthlySitesTimeseries());
  return finalise(builder.build());
}
