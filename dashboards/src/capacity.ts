// Capacity planning: is sustained HSL demand close enough to the provisioned capacity that the
// next 1 Gbps step should be ordered, when, and what will it cost? Figures are the capacity
// recording rules (alerts/src/capacity.ts): test traffic is excluded from demand and shown apart.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { capacityNames } from '../../alerts/src/capacity.js';
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
import { agentSeries, rule } from './promql.js';
import { AGENT_SELECTOR, LINK_THRESHOLD_DEFAULTS, alertsConfig, utilisationLevels } from './thresholds.js';

const RULES = capacityNames(alertsConfig);
const LINK = 'link="$link"';
const { capacity } = alertsConfig;

/** A per-link term exported by the agents (linkmon_link_*): one value even if several agents export it. */
const term = (metric: string, ...matchers: string[]) => `max by (link) (${agentSeries(metric, LINK, ...matchers)})`;
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
    .withTarget(instantQuery(rule(RULES.p95BusyLong, LINK), 'p95'));
}

function forecastStat() {
  return defaultStat()
    .title('Forecast at lead time + margin')
    .description(
      `Busy-hour p95 projected by a linear fit over ${capacity.forecast.window} to now + the step's lead time + ${capacity.forecast.margin}. ` +
        `Amber above the forecast ratio (default ${LINK_THRESHOLD_DEFAULTS.forecast * 100}%): LinkCapacityStepRecommended.`,
    )
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds({ amber: LINK_THRESHOLD_DEFAULTS.forecast }))
    .withTarget(instantQuery(rule(RULES.forecast, LINK), 'forecast'));
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
    .withTarget(instantQuery(`1000 * ${rule(RULES.forecastCrossing, LINK)}`, 'crossing'));
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
    .withTarget(instantQuery(`${rule(RULES.forecastCrossing, LINK)} - on (link) ${term('linkmon_link_step_lead_time_seconds')} - time()`, 'time left'));
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
    .withTarget(instantQuery(`8 * ${rule(RULES.capacityRecommended, LINK)}`, 'recommended'));
}

function annualCostStat() {
  return defaultStat()
    .title('Added annual cost')
    .description('Yearly cost of the recommended steps (config links[].step.annual_cost_gbp per step, default £1,500 per 1 Gbps).')
    .unit(units.Pounds)
    .decimals(0)
    .thresholds(neutralThresholds())
    .withTarget(instantQuery(rule(RULES.annualCostRecommended, LINK), 'per year'));
}

function oneOffCostStat() {
  return defaultStat()
    .title('One-off cost')
    .description('One-off (admin) cost of the recommended steps (config links[].step.one_off_cost_gbp per step, default £500).')
    .unit(units.Pounds)
    .decimals(0)
    .thresholds(neutralThresholds())
    .withTarget(instantQuery(rule(RULES.oneOffCostRecommended, LINK), 'one-off'));
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
      `Bars: each day's 95th percentile of busy-hour utilisation (busier direction, test traffic excluded). Line: the ${capacity.longWindow} busy-hour p95 ` +
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
    .withTarget(prometheusQuery(rule(RULES.p95BusyDaily, LINK), 'daily busy-hour p95'))
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

/**
 * A statistic of one calendar month (UTC) of 5-minute utilisation, evaluated at 00:00 UTC on the
 * 1st of the next month; empty at every other step. The window must be exactly the month that just
 * ended, so there is one branch per month length, chosen by days_in_month of the previous day.
 */
function monthly(statistic: (range: string) => string): string {
  return [28, 29, 30, 31]
    .map((days) => `(${statistic(`[${days}d]`)} and on () (day_of_month() == 1 and days_in_month(vector(time() - 86400)) == ${days}))`)
    .join(' or ');
}

function monthlyTable() {
  const series = (direction: string) => rule(RULES.utilisationByDirection, LINK, `direction="${direction}"`);
  const columns = [
    { refId: 'P95_IN', name: 'p95 in', expr: monthly((r) => `quantile_over_time(0.95, ${series('in')}${r})`) },
    { refId: 'P95_OUT', name: 'p95 out', expr: monthly((r) => `quantile_over_time(0.95, ${series('out')}${r})`) },
    { refId: 'P99_IN', name: 'p99 in', expr: monthly((r) => `quantile_over_time(0.99, ${series('in')}${r})`) },
    { refId: 'P99_OUT', name: 'p99 out', expr: monthly((r) => `quantile_over_time(0.99, ${series('out')}${r})`) },
    { refId: 'MAX_IN', name: 'max in', expr: monthly((r) => `max_over_time(${series('in')}${r})`) },
    { refId: 'MAX_OUT', name: 'max out', expr: monthly((r) => `max_over_time(${series('out')}${r})`) },
  ];
  const rangeTable = (expr: string, refId: string) =>
    prometheusQuery(expr, '').format(prometheus.PromQueryFormat.Table).interval('1d').refId(refId);
  let table = defaultTable()
    .title('Monthly utilisation, last 13 months')
    .description(
      'Per calendar month (UTC): 95th and 99th percentile and maximum of the 5-minute utilisation per direction, test traffic excluded, all hours. ' +
        `Colours: the default recommend ratio (amber) and LinkSaturated (red). ${DIRECTIONS_NOTE} Needs 13 months of history in Prometheus or its long-term store.`,
    )
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
        { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorText } },
      ],
    });
  }
  return table;
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
    .withVariable(queryVariable('link', 'Link', `label_values(linkmon_link_info{${AGENT_SELECTOR}}, link)`))
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
    .withPanel(monthlyTable());
  return finalise(builder.build());
}
