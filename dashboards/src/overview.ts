// Service desk overview: which of the 14 sites is red, since when, and is it the site's WAN or the
// HSL itself? Colours come from the alert thresholds (thresholds.ts); site figures are those of the
// CAID path (targets labelled link="hsl"), which crosses the site's WAN and then the HSL.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as units from '@grafana/grafana-foundation-sdk/units';
import {
  COLOURED_CELL,
  DASHBOARD_UIDS,
  alertThresholds,
  dashboardLink,
  datasourceVariable,
  defaultStat,
  defaultStateTimeline,
  defaultTable,
  defaultTimeseries,
  finalise,
  instantQuery,
  neutralThresholds,
  prometheusQuery,
  siteDetailLink,
  tableQuery,
  upDownMappings,
  upDownThresholds,
  linkmonDashboard,
} from './common.js';
import { ALERT_QUANTILE, JITTER_KINDS, JITTER_WINDOW, LATENCY_WINDOW, LOSS_KINDS, LOSS_WINDOW, REACHABILITY_WINDOW, RTT_KINDS, RULES, agentSeries, instanceVariable, jobVariable, rule } from './promql.js';
import { capacityNames, capacityPromql } from '../../alerts/src/capacity-promql.js';
import {
  CAID_LINK,
  HSL_DOWN_SITE_SHARE,
  LINK_THRESHOLD_DEFAULTS,
  SATURATED_RATIO,
  THROUGHPUT_EXPECTED_SHARE,
  alertsConfig,
  jitterLevels,
  latencyLevels,
  lossLevels,
  utilisationLevels,
} from './thresholds.js';

const CAID = `link="${CAID_LINK}"`;
const NOT_CAID = `link!="${CAID_LINK}"`;
const P = `p${Math.round(Number(ALERT_QUANTILE) * 100)}`;

/** Per site, now: each is one series per site, 1 = good for the 0/1 ones. */
const QUERIES = {
  agentUp: `max by (site) (${agentSeries('up')})`,
  wanReachable: `min by (site) (1 - ${rule(RULES.siteLinkUnreachable, NOT_CAID)})`,
  caidReachable: `max by (site) (1 - ${rule(RULES.siteLinkUnreachable, CAID)})`,
  /** The worst CAID-side target: the loss alerts fire per target. */
  loss: `max by (site) (${rule(RULES.targetLossShort, `kind=~"${LOSS_KINDS}"`, CAID)})`,
  latency: `max by (site) (${rule(RULES.durationQuantile, `quantile="${ALERT_QUANTILE}"`, `kind=~"${RTT_KINDS}"`, CAID)})`,
  jitter: `max by (site) (avg_over_time(${agentSeries('linkmon_probe_jitter_seconds', `kind=~"${JITTER_KINDS}"`, CAID)}[${JITTER_WINDOW}]))`,
  /** The weaker direction of the last successful throughput test, as a share of the link's provisioned capacity (as LinkmonThroughputLow). */
  throughputShare:
    `min by (site) (max by (site, target, link, direction) (${agentSeries('linkmon_throughput_bytes_per_second')})` +
    ` / on (link) group_left () max by (link) (${agentSeries('linkmon_link_capacity_bytes')}))`,
};

const thresholdColours = () => new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds);

interface Column {
  refId: string;
  expr: string;
  name: string;
  properties: dashboard.DynamicConfigValue[];
}

const upDownColumn = (refId: string, expr: string, name: string): Column => ({
  refId,
  expr,
  name,
  properties: [
    { id: 'mappings', value: upDownMappings('DOWN', 'UP') },
    { id: 'thresholds', value: upDownThresholds().build() },
  ],
});

const COLUMNS: Column[] = [
  upDownColumn('A', QUERIES.agentUp, 'Agent'),
  upDownColumn('B', QUERIES.wanReachable, 'Site WAN'),
  upDownColumn('C', QUERIES.caidReachable, 'CAID side'),
  {
    refId: 'D',
    expr: QUERIES.loss,
    name: `Loss ${LOSS_WINDOW}`,
    properties: [
      { id: 'unit', value: units.PercentUnit },
      { id: 'decimals', value: 2 },
      { id: 'thresholds', value: alertThresholds(lossLevels(CAID_LINK)).build() },
    ],
  },
  {
    refId: 'E',
    expr: QUERIES.latency,
    name: `RTT ${P}`,
    properties: [
      { id: 'unit', value: units.Seconds },
      { id: 'thresholds', value: alertThresholds(latencyLevels(CAID_LINK)).build() },
    ],
  },
  {
    refId: 'F',
    expr: QUERIES.jitter,
    name: 'Jitter',
    properties: [
      { id: 'unit', value: units.Seconds },
      { id: 'thresholds', value: alertThresholds(jitterLevels(CAID_LINK)).build() },
    ],
  },
  {
    refId: 'G',
    expr: QUERIES.throughputShare,
    name: 'Throughput',
    properties: [
      { id: 'unit', value: units.PercentUnit },
      { id: 'decimals', value: 0 },
      { id: 'thresholds', value: alertThresholds({ amber: THROUGHPUT_EXPECTED_SHARE }, 'lower').build() },
    ],
  },
];

function siteStatusTable() {
  let table = defaultTable()
    .title('Sites now')
    .description(
      'One row per site, now. Agent: Prometheus can scrape the site agent. Site WAN: some probe to a target on the site WAN (not the CAID side) ' +
        `succeeded in the last ${REACHABILITY_WINDOW}. CAID side: the same for the targets beyond the HSL; DOWN here with the WAN UP points at the HSL or CAID. ` +
        `Loss, RTT ${P} and jitter are those of the worst CAID-side target. Throughput: the weaker direction of the last successful test as a share of ` +
        'the link’s provisioned capacity. Amber and red are the ticket and page thresholds of the alerts. ' +
        'Click a site for its detail view.',
    )
    .height(16)
    .span(12)
    .unit(units.NoUnit)
    .thresholds(neutralThresholds());
  for (const column of COLUMNS) table = table.withTarget(tableQuery(column.expr, column.refId));
  table = table
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true }, indexByName: Object.fromEntries([['site', 0], ...COLUMNS.map((c, i) => [`Value #${c.refId}`, i + 1])]) },
    })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'site' }] } })
    .withOverride({
      matcher: { id: 'byName', options: 'site' },
      properties: [
        { id: 'displayName', value: 'Site' },
        { id: 'links', value: [siteDetailLink('${__data.fields.site}').build()] },
      ],
    });
  for (const column of COLUMNS) {
    table = table.withOverride({
      matcher: { id: 'byName', options: `Value #${column.refId}` },
      properties: [{ id: 'displayName', value: column.name }, { id: 'custom.cellOptions', value: COLOURED_CELL }, ...column.properties],
    });
  }
  return table;
}

/** One row per site over the dashboard's time range: when did it turn red? */
function siteTimeline(title: string, description: string, expr: string) {
  return defaultStateTimeline()
    .title(title)
    .description(`${description} Click a row for the site's detail view.`)
    .height(8)
    .span(12)
    .colorScheme(thresholdColours())
    .withTarget(prometheusQuery(expr, '{{site}}'))
    .dataLinks([siteDetailLink('${__field.labels.site}')]);
}

function caidReachableTimeline() {
  return siteTimeline(
    'CAID side reachable',
    `Green while some probe from the site to a CAID-side target succeeded within ${REACHABILITY_WINDOW}; red when none did (LinkmonSiteCaidUnreachable pages after that lasts).`,
    QUERIES.caidReachable,
  )
    .unit(units.NoUnit)
    .thresholds(upDownThresholds())
    .mappings(upDownMappings('DOWN', 'UP'));
}

function lossTimeline() {
  const levels = lossLevels(CAID_LINK);
  return siteTimeline(
    'Loss to the CAID side',
    `Packet loss (ICMP/UDP) of the worst CAID-side target over ${LOSS_WINDOW}. Amber from ${levels.amber} (the sustained-loss ticket threshold), red from ${levels.red} (the paging threshold).`,
    QUERIES.loss,
  )
    .unit(units.PercentUnit)
    .thresholds(alertThresholds(levels));
}

function latencyTimeline() {
  return siteTimeline(
    `RTT ${P} to the CAID side`,
    `${P} round-trip time of the slowest CAID-side target over ${LATENCY_WINDOW}. Amber above the LinkmonLatencyHigh threshold (a ticket; no latency alert pages).`,
    QUERIES.latency,
  )
    .unit(units.Seconds)
    .thresholds(alertThresholds(latencyLevels(CAID_LINK)));
}

function throughputTimeline() {
  return siteTimeline(
    'Throughput test result',
    `The weaker direction of each site's last successful throughput test as a share of the link's provisioned capacity. Amber below ${THROUGHPUT_EXPECTED_SHARE * 100}% (LinkmonThroughputLow). ` +
      'Tests run on a schedule, so the value holds between tests.',
    QUERIES.throughputShare,
  )
    .unit(units.PercentUnit)
    .thresholds(alertThresholds({ amber: THROUGHPUT_EXPECTED_SHARE }, 'lower'));
}

function agentTimeline() {
  return siteTimeline('Agent scraped', 'Whether Prometheus could scrape the site agent (up). Red: the agent or the site WAN is down, nothing is known about the site.', QUERIES.agentUp)
    .unit(units.NoUnit)
    .thresholds(upDownThresholds())
    .mappings(upDownMappings('DOWN', 'UP'));
}

/** Interfaces carrying the HSL (linkmon_link_info), each counted once even if two agents poll it. */
const HSL_INTERFACES = `max by (device, interface) (${agentSeries('linkmon_link_info', CAID)})`;

function hslInterfaceStat() {
  return defaultStat()
    .title('HSL interfaces')
    .description('Operational state (IF-MIB ifOperStatus) of the router interfaces that carry the HSL, polled over SNMP. DOWN pages (LinkmonInterfaceDown).')
    .unit(units.NoUnit)
    .thresholds(upDownThresholds())
    .mappings(upDownMappings('DOWN', 'UP'))
    .withTarget(instantQuery(`max by (device, interface) (${agentSeries('linkmon_interface_up')}) * on (device, interface) group_left () ${HSL_INTERFACES}`, '{{device}} {{interface}}'));
}

function sitesCutOffStat() {
  return defaultStat()
    .title('Sites cut off from CAID')
    .description(
      'Share of reporting sites with no successful probe to the CAID side. Red from the LinkmonHslDown share: when that many sites fail at once the ' +
        'fault is the shared link (or CAID), not the sites, and one HSL page replaces the per-site ones. Amber: at least one site.',
    )
    .unit(units.PercentUnit)
    .min(0)
    .max(1)
    .thresholds(alertThresholds({ amber: Number.EPSILON, red: HSL_DOWN_SITE_SHARE }))
    .withTarget(instantQuery(`avg(${rule(RULES.siteLinkUnreachable, CAID)})`, 'sites cut off'));
}

const CAPACITY = capacityNames(alertsConfig);

function capacityLink() {
  return dashboardLink('Capacity planning', DASHBOARD_UIDS.capacity, 'Utilisation history, percentiles and the capacity-step forecast').includeVars(false);
}

function hslUtilisationStat() {
  return defaultStat()
    .title('HSL utilisation now')
    .description(
      `Busier direction of the HSL over ${alertsConfig.capacity.window}, test traffic excluded, as a share of provisioned capacity. ` +
        `Amber from the default recommend ratio, red from the LinkSaturated ratio (${SATURATED_RATIO * 100}%).`,
    )
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds(utilisationLevels()))
    .links([capacityLink()])
    .withTarget(instantQuery(rule(CAPACITY.utilisation, CAID), 'utilisation'));
}

function hslBusyHourStat() {
  return defaultStat()
    .title(`HSL busy-hour p95 (${alertsConfig.capacity.longWindow})`)
    .description(
      `95th percentile of the HSL's busy-hour utilisation over ${alertsConfig.capacity.longWindow}: the figure the capacity-step recommendation is based on. ` +
        'Amber above the default recommend ratio. Details on the capacity planning dashboard.',
    )
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds({ amber: LINK_THRESHOLD_DEFAULTS.recommend }))
    .links([capacityLink()])
    .withTarget(instantQuery(capacityPromql(alertsConfig).latestWindow(rule(CAPACITY.p95BusyLong, CAID)), 'p95'));
}

function hslUtilisationTimeseries() {
  return defaultTimeseries()
    .title('HSL utilisation per direction')
    .description(
      `HSL traffic (test traffic excluded) as a share of provisioned capacity, ${alertsConfig.capacity.window} rates; out: site to data centre, in: back. ` +
        'Amber from the default recommend ratio, red from the LinkSaturated ratio.',
    )
    .height(8)
    .span(12)
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(alertThresholds(utilisationLevels()))
    .links([capacityLink()])
    .withTarget(prometheusQuery(rule(CAPACITY.utilisationByDirection, CAID), '{{direction}}'));
}

function firingAlertsTable() {
  return defaultTable()
    .title('Firing alerts')
    .description('Alerts Prometheus is firing now (its ALERTS series), severity coloured: page red, ticket amber, info blue. The site column links to the site detail view.')
    .height(8)
    .span(24)
    .unit(units.NoUnit)
    .thresholds(neutralThresholds())
    .withTarget(tableQuery('ALERTS{alertstate="firing"}', 'A'))
    .withTransformation({ id: 'filterFieldsByName', options: { include: { names: ['alertname', 'severity', 'site', 'link', 'target'] } } })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'severity' }, { field: 'alertname' }] } })
    .withOverride({
      matcher: { id: 'byName', options: 'severity' },
      properties: [
        { id: 'custom.cellOptions', value: COLOURED_CELL },
        {
          id: 'mappings',
          value: [
            {
              type: dashboard.MappingType.ValueToText,
              options: {
                page: { text: 'page', color: 'red', index: 0 },
                ticket: { text: 'ticket', color: 'orange', index: 1 },
                info: { text: 'info', color: 'blue', index: 2 },
              },
            },
          ],
        },
      ],
    })
    .withOverride({ matcher: { id: 'byName', options: 'site' }, properties: [{ id: 'links', value: [siteDetailLink('${__data.fields.site}').build()] }] });
}

export function overviewDashboard(): dashboard.Dashboard {
  const builder = linkmonDashboard({
    title: 'linkmon / Service desk overview',
    uid: DASHBOARD_UIDS.overview,
    description: 'All 14 sites at a glance: agent, WAN and CAID-side reachability, loss, latency and throughput against the alert thresholds; the High Speed Link; firing alerts.',
    tag: 'service-desk',
    refresh: '30s',
    from: 'now-6h',
    timezone: 'browser',
  })
    .link(dashboardLink('Capacity planning', DASHBOARD_UIDS.capacity, 'HSL utilisation, busy-hour p95 and the capacity-step forecast'))
    .withVariable(datasourceVariable())
    .withVariable(jobVariable())
    .withVariable(instanceVariable())
    .withRow(new dashboard.RowBuilder('Sites'))
    .withPanel(siteStatusTable())
    .withPanel(caidReachableTimeline())
    .withPanel(lossTimeline())
    .withPanel(latencyTimeline().span(8))
    .withPanel(throughputTimeline().span(8))
    .withPanel(agentTimeline().span(8))
    .withRow(new dashboard.RowBuilder('High Speed Link'))
    .withPanel(hslInterfaceStat().span(6))
    .withPanel(sitesCutOffStat().span(6))
    .withPanel(hslUtilisationTimeseries())
    .withPanel(hslUtilisationStat().span(6))
    .withPanel(hslBusyHourStat().span(6))
    .withRow(new dashboard.RowBuilder('Alerts'))
    .withPanel(firingAlertsTable());
  return finalise(builder.build());
}
