// Site detail, for the engineer who was sent a site: smokeping-style latency per target, loss and
// jitter (per direction where the UDP probe measures it), probe results, the traced path (hops,
// changes, where it ends), TCP/HTTP phases, DNS answers, throughput tests, and how much of the HSL's
// demand the site makes.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as units from '@grafana/grafana-foundation-sdk/units';
import { durationSeconds } from '../../lib/units.js';
import { ratioOfRates } from '../../alerts/src/promql.js';
import {
  COLOURS,
  DASHBOARD_UIDS,
  DATASOURCE,
  alertThresholds,
  dashboardLink,
  datasourceVariable,
  defaultStat,
  defaultStateTimeline,
  defaultTable,
  defaultTimeseries,
  finalise,
  heatmapQuery,
  instantQuery,
  tableQuery,
  neutralThresholds,
  perLinkThresholdOverrides,
  prometheusQuery,
  queryVariable,
  upDownMappings,
  upDownThresholds,
  linkmonDashboard,
} from './common.js';
import { ALERT_QUANTILE, JITTER_KINDS, LOSS_KINDS, LOSS_WINDOW, REACHABILITY_WINDOW, RTT_KINDS, RULES, agentSeries, instanceVariable, jobVariable, durationQuantile, lossRatio, rule } from './promql.js';
import { CAID_LINK, LEVELS_BY_LINK, SLO_TARGET, TLS_EXPIRY_AMBER_SECONDS, alertsConfig } from './thresholds.js';

/** The selection every panel shares: this site, the chosen targets. */
const SITE = 'site="$site"';
const TARGETS = `${SITE}, target=~"$target"`;
const P = `p${Math.round(Number(ALERT_QUANTILE) * 100)}`;

type Quantity = keyof typeof LEVELS_BY_LINK;

/**
 * A panel whose series are per link shows each with its own link's alert levels: the default
 * levels on the panel, the named links' levels as overrides (legends end in `({{link}})`).
 */
function withLinkLevels<T extends { thresholds(t: dashboard.ThresholdsConfigBuilder): T; withOverride(o: { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] }): T }>(
  panel: T,
  quantity: Quantity,
): T {
  const { table, levels } = LEVELS_BY_LINK[quantity];
  let out = panel.thresholds(alertThresholds(levels('default')));
  const named = Object.keys(table).filter((k) => k !== 'default').sort();
  for (const override of perLinkThresholdOverrides(named, levels)) out = out.withOverride(override);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Now

function upStat(title: string, description: string, expr: string) {
  return defaultStat().title(title).description(description).unit(units.NoUnit).thresholds(upDownThresholds()).mappings(upDownMappings('DOWN', 'UP')).withTarget(instantQuery(expr, title));
}

function agentStat() {
  return upStat('Agent', 'Whether Prometheus can scrape this site’s agent. DOWN: the agent or the site WAN is down and nothing below is current.', `max(${agentSeries('up', SITE)})`);
}

function wanStat() {
  return upStat(
    'Site WAN',
    `UP when some probe to a target on the site WAN (not the CAID side) succeeded within ${REACHABILITY_WINDOW}.`,
    `min(1 - ${rule(RULES.siteLinkUnreachable, SITE, `link!="${CAID_LINK}"`)})`,
  );
}

function caidStat() {
  return upStat(
    'CAID side',
    `UP when some probe to a CAID-side target (link="${CAID_LINK}") succeeded within ${REACHABILITY_WINDOW}. DOWN with the WAN UP points at the HSL or CAID.`,
    `max(1 - ${rule(RULES.siteLinkUnreachable, SITE, `link="${CAID_LINK}"`)})`,
  );
}

function worstLossStat() {
  return withLinkLevels(
    defaultStat()
      .title(`Loss ${LOSS_WINDOW}`)
      .description(`Packet loss (ICMP/UDP) of the worst selected target per link over ${LOSS_WINDOW}. Amber/red: the ticket/page thresholds of that link's loss alerts.`)
      .unit(units.PercentUnit)
      .decimals(2)
      .withTarget(instantQuery(`max by (link) (${rule(RULES.targetLossShort, TARGETS, `kind=~"${LOSS_KINDS}"`)})`, 'loss ({{link}})')),
    'loss',
  );
}

function worstLatencyStat() {
  return withLinkLevels(
    defaultStat()
      .title(`RTT ${P}`)
      .description(`${P} round-trip time of the slowest selected target per link over ${alertsConfig.latency.window}. Amber: the LinkmonLatencyHigh threshold of that link.`)
      .unit(units.Seconds)
      .withTarget(instantQuery(`max by (link) (${rule(RULES.durationQuantile, TARGETS, `quantile="${ALERT_QUANTILE}"`, `kind=~"${RTT_KINDS}"`)})`, `${P} ({{link}})`)),
    'latency',
  );
}

function budgetStat() {
  return defaultStat()
    .title('SLO error budget left')
    .description(
      `Share of the ${alertsConfig.slo.period} error budget of the ${SLO_TARGET * 100}% availability SLO still unspent, per link. Red: spent (the SLO is missed).`,
    )
    .unit(units.PercentUnit)
    .decimals(1)
    .thresholds(alertThresholds({ red: 0 }, 'lower'))
    .withTarget(instantQuery(rule(RULES.sloBudgetRemaining, SITE), 'budget ({{link}})'));
}

function lastSuccessStat() {
  const unreachableAfter = durationSeconds(alertsConfig.reachability.window);
  const pagedAfter = unreachableAfter + durationSeconds(alertsConfig.reachability.for);
  return defaultStat()
    .title('Since last success')
    .description(
      `Time since the most recent successful probe of any selected target. Amber after ${alertsConfig.reachability.window} (counted as unreachable), ` +
        'red once LinkmonSiteCaidUnreachable would page.',
    )
    .unit(units.Seconds)
    .thresholds(alertThresholds({ amber: unreachableAfter, red: pagedAfter }))
    .withTarget(instantQuery(`time() - max(${agentSeries('linkmon_probe_last_success_timestamp_seconds', TARGETS)} > 0)`, 'since last success'));
}

// ---------------------------------------------------------------------------------------------
// Loss, jitter, probe results

function lossTimeseries() {
  return withLinkLevels(
    defaultTimeseries()
      .title('Packet loss per target')
      .description('Share of ICMP echo requests / UDP packets lost per target, from the sent and lost counters (a missed scrape loses nothing).')
      .unit(units.PercentUnit)
      .min(0)
      .withTarget(prometheusQuery(lossRatio('target, link', `${TARGETS}, kind=~"${LOSS_KINDS}"`, '$__rate_interval'), '{{target}} ({{link}})')),
    'loss',
  );
}

function jitterTimeseries() {
  return withLinkLevels(
    defaultTimeseries()
      .title('Jitter per target')
      .description('RFC 3550 smoothed mean of the change in round-trip time between consecutive replies, per target.')
      .unit(units.Seconds)
      .min(0)
      .withTarget(prometheusQuery(agentSeries('linkmon_probe_jitter_seconds', TARGETS, `kind=~"${JITTER_KINDS}"`), '{{target}} ({{link}})')),
    'jitter',
  );
}

/** UDP packets lost per direction: site_to_dc (agent → responder) and dc_to_site (back). */
function udpLossTimeseries() {
  const udp = (metric: string) => agentSeries(metric, TARGETS, 'kind="udp"');
  return withLinkLevels(
    defaultTimeseries()
      .title('UDP loss per direction')
      .description(
        'Share of UDP (STAMP) probe packets lost on the way to the data centre (site_to_dc) and on the way back (dc_to_site), from the reflector’s ' +
          'sequence numbers: tells a congested upstream from a congested downstream. A stateless reflector (many routers) cannot tell: its loss ' +
          'shows as unattributed. Thresholds: the link’s loss alerts.',
      )
      .unit(units.PercentUnit)
      .min(0)
      .withTarget(
        prometheusQuery(ratioOfRates(udp('linkmon_udp_packets_lost_total'), udp('linkmon_udp_packets_sent_total'), 'target, link, direction', '$__rate_interval'), '{{target}} {{direction}} ({{link}})'),
      )
      .withTarget(
        prometheusQuery(
          ratioOfRates(udp('linkmon_udp_packets_lost_unattributed_total'), agentSeries('linkmon_udp_packets_sent_total', TARGETS, 'kind="udp"', 'direction="site_to_dc"'), 'target, link', '$__rate_interval'),
          '{{target}} unattributed ({{link}})',
        ),
      ),
    'loss',
  );
}

function udpJitterTimeseries() {
  return withLinkLevels(
    defaultTimeseries()
      .title('UDP jitter per direction')
      .description('RFC 3550 jitter of the one-way transit time in each direction (no clock synchronisation needed). Thresholds: the link’s jitter alert.')
      .unit(units.Seconds)
      .min(0)
      .withTarget(prometheusQuery(agentSeries('linkmon_udp_jitter_seconds', TARGETS, 'kind="udp"'), '{{target}} {{direction}} ({{link}})')),
    'jitter',
  );
}

function udpReorderTimeseries() {
  return defaultTimeseries()
    .title('UDP reordering and duplicates')
    .description('UDP probe packets per second that arrived out of order or twice, per direction. Either points at parallel paths or a misbehaving device on the way.')
    .unit('pps')
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(`sum by (target, direction) (rate(${agentSeries('linkmon_udp_reordered_total', TARGETS, 'kind="udp"')}[$__rate_interval]))`, '{{target}} {{direction}} reordered'))
    .withTarget(prometheusQuery(`sum by (target, direction) (rate(${agentSeries('linkmon_udp_duplicates_total', TARGETS, 'kind="udp"')}[$__rate_interval]))`, '{{target}} {{direction}} duplicated'));
}

function probeSuccessTimeline() {
  return defaultStateTimeline()
    .title('Probe success')
    .description('Result of the most recent probe of each target over time: when did it start failing?')
    .unit(units.NoUnit)
    .thresholds(upDownThresholds())
    .mappings(upDownMappings('fail', 'ok'))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .withTarget(prometheusQuery(agentSeries('linkmon_probe_success', TARGETS), '{{target}}'));
}

function failureReasonsTimeseries() {
  return defaultTimeseries()
    .title('Probe failures by reason')
    .description('Failed attempts per second by target and reason (timeout, refused, unreachable, dns, tls, http_status, …); empty while nothing fails.')
    .unit('reqps')
    .min(0)
    .thresholds(neutralThresholds())
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .withTarget(prometheusQuery(`sum by (target, reason) (rate(${agentSeries('linkmon_probe_failures_total', TARGETS)}[$__rate_interval])) > 0`, '{{target}}: {{reason}}'));
}

// ---------------------------------------------------------------------------------------------
// Path (path tracing, docs/path-tracing.md)

function pathHopsTimeseries() {
  return defaultTimeseries()
    .title('Path: hops to target, last responding hop')
    .description(
      'From path tracing (targets in the agent’s path_tracing section): hops to the target in each trace, 0 while it does not answer, and the last hop that ' +
        'answered. When a target is dark, the last responding hop says which segment still works (runbook: reachability, "Which segment failed").',
    )
    .unit(units.NoUnit)
    .decimals(0)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(agentSeries('linkmon_path_hop_count', TARGETS), '{{target}} hops'))
    .withTarget(prometheusQuery(agentSeries('linkmon_path_last_responding_hop', TARGETS), '{{target}} last answer'));
}

function pathChangesTimeseries() {
  const increase = (metric: string) => `sum by (target) (increase(${agentSeries(metric, TARGETS)}[$__rate_interval]))`;
  return defaultTimeseries()
    .title('Path changes and failed traces')
    .description(
      'Traces whose path differed from the one before (another address at a hop, another hop count: a reroute or failover), and traces that did not reach ' +
        'the target (why: linkmon_path_trace_failures_total by reason, or the agent log: unreached is a blackhole or filter, unreachable a router ' +
        'refusing, loop a routing loop).',
    )
    .unit(units.Short)
    .decimals(0)
    .min(0)
    .thresholds(neutralThresholds())
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80)
    .withTarget(prometheusQuery(increase('linkmon_path_changes_total'), '{{target}} path changed'))
    .withTarget(prometheusQuery(increase('linkmon_path_trace_failures_total'), '{{target}} trace failed'));
}

/** Hop loss over this window in the "Path now" table. */
const PATH_LOSS_WINDOW = '15m';

function pathNowTable() {
  const withAddress = (expr: string) => `${expr} * on (site, target, hop) group_left (address) ${agentSeries('linkmon_path_hop_info', TARGETS)}`;
  const loss = ratioOfRates(agentSeries('linkmon_path_hop_probes_lost_total', TARGETS), agentSeries('linkmon_path_hop_probes_sent_total', TARGETS), 'site, target, hop', PATH_LOSS_WINDOW);
  return defaultTable()
    .title('Path now')
    .description(
      `The hops that answered in the last trace of each target: address, median round trip, and loss over the last ${PATH_LOSS_WINDOW}. ` +
        'Loss at one hop that the hops after it do not show is the router rate-limiting its answers, not the path.',
    )
    .height(10)
    .span(24)
    .unit(units.NoUnit)
    .thresholds(neutralThresholds())
    .withTarget(tableQuery(withAddress(agentSeries('linkmon_path_hop_rtt_seconds', TARGETS)), 'RTT'))
    .withTarget(tableQuery(withAddress(`(${loss})`), 'LOSS'))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'convertFieldType', options: { conversions: [{ targetField: 'hop', destinationType: 'number' }] } })
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true, job: true, instance: true, site: true }, indexByName: { target: 0, hop: 1, address: 2, 'Value #RTT': 3, 'Value #LOSS': 4 } },
    })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'target' }, { field: 'hop' }] } })
    .withOverride({ matcher: { id: 'byName', options: 'Value #RTT' }, properties: [{ id: 'displayName', value: 'RTT' }, { id: 'unit', value: units.Seconds }] })
    .withOverride({ matcher: { id: 'byName', options: 'Value #LOSS' }, properties: [{ id: 'displayName', value: `Loss ${PATH_LOSS_WINDOW}` }, { id: 'unit', value: units.PercentUnit }] });
}

// ---------------------------------------------------------------------------------------------
// TCP, HTTP and DNS

function tcpConnectTimeseries() {
  return withLinkLevels(
    defaultTimeseries()
      .title('TCP connect time')
      .description('Median and 95th percentile time to complete the TCP handshake, per TCP target.')
      .unit(units.Seconds)
      .min(0)
      .withTarget(prometheusQuery(durationQuantile(0.5, 'target, link', `${TARGETS}, kind="tcp"`, '$__rate_interval'), '{{target}} median ({{link}})'))
      .withTarget(prometheusQuery(durationQuantile(0.95, 'target, link', `${TARGETS}, kind="tcp"`, '$__rate_interval'), '{{target}} p95 ({{link}})')),
    'latency',
  );
}

function httpPhasesTimeseries() {
  return defaultTimeseries()
    .title('HTTP phases')
    .description('Time spent in each phase of the most recent HTTP probe: resolve, connect, tls, processing (server time to first byte), transfer.')
    .unit(units.Seconds)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(agentSeries('linkmon_http_phase_duration_seconds', TARGETS, 'kind="http"'), '{{target}} {{phase}}'));
}

function httpStatusStat() {
  return defaultStat()
    .title('HTTP status')
    .description('Status code of the most recent HTTP probe per target; 0 means no response at all.')
    .unit(units.NoUnit)
    .span(6)
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
        { value: null, color: 'red' },
        { value: 200, color: 'green' },
        { value: 300, color: 'orange' },
        { value: 400, color: 'red' },
      ]),
    )
    .withTarget(instantQuery(agentSeries('linkmon_http_status_code', TARGETS, 'kind="http"'), '{{target}}'));
}

function certExpiryStat() {
  return defaultStat()
    .title('TLS certificate expires in')
    .description(`Time until the leaf certificate of each HTTPS target expires. Amber within ${alertsConfig.tls.expiryDays} days (LinkmonTlsCertExpiring), red once expired.`)
    .unit(units.Seconds)
    .span(6)
    .thresholds(alertThresholds({ red: 0, amber: TLS_EXPIRY_AMBER_SECONDS }, 'lower'))
    .withTarget(instantQuery(`${agentSeries('linkmon_tls_cert_expiry_timestamp_seconds', TARGETS)} - time()`, '{{target}}'));
}

function dnsAnswerTimeseries() {
  return defaultTimeseries()
    .title('DNS answer time')
    .description('Median and 95th percentile time from sending the query to the answer, per DNS target (the resolver asked); includes the server\'s own work, so it is not a network RTT.')
    .unit(units.Seconds)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(durationQuantile(0.5, 'target, link', `${TARGETS}, kind="dns"`, '$__rate_interval'), '{{target}} median ({{link}})'))
    .withTarget(prometheusQuery(durationQuantile(0.95, 'target, link', `${TARGETS}, kind="dns"`, '$__rate_interval'), '{{target}} p95 ({{link}})'));
}

/** DNS response codes worth a name on a stat (RFC 1035, 2136); others show as numbers. */
const DNS_RCODE_TEXT: Record<string, { text: string; color: string }> = {
  '-1': { text: 'no answer', color: COLOURS.red },
  '0': { text: 'NOERROR', color: COLOURS.green },
  '1': { text: 'FORMERR', color: COLOURS.red },
  '2': { text: 'SERVFAIL', color: COLOURS.red },
  '3': { text: 'NXDOMAIN', color: COLOURS.amber },
  '5': { text: 'REFUSED', color: COLOURS.red },
};

function dnsRcodeStat() {
  return defaultStat()
    .title('DNS response code')
    .description('Response code of the most recent answer per DNS target; "no answer" when it timed out, was refused or was not a DNS response. Whether a code counts as success is the module\'s valid_rcodes (see Probe failures by reason: dns_rcode).')
    .unit(units.NoUnit)
    .span(12)
    .thresholds(neutralThresholds())
    .mappings([
      {
        type: dashboard.MappingType.ValueToText,
        options: Object.fromEntries(Object.entries(DNS_RCODE_TEXT).map(([value, { text, color }], index) => [value, { text, color, index }])),
      },
    ])
    .withTarget(instantQuery(agentSeries('linkmon_dns_response_rcode', TARGETS, 'kind="dns"'), '{{target}}'));
}

// ---------------------------------------------------------------------------------------------
// Throughput tests

/** The provisioned capacity of each link (exported link terms), bytes per second. */
const LINK_CAPACITY = `max by (link) (${agentSeries('linkmon_link_capacity_bytes')})`;

function throughputTimeseries() {
  return defaultTimeseries()
    .title('Throughput test results')
    .description(
      'Goodput (HTTP payload) of each successful scheduled test per direction: dc_to_site is the download, site_to_dc the upload. ' +
        'Tests run on a cron schedule, so each result holds until the next. The dashed line is the link’s provisioned capacity; the wire carries ~4.6% more than payload.',
    )
    .unit(units.BitsPerSecondSI)
    .min(0)
    .thresholds(neutralThresholds())
    .drawStyle(common.GraphDrawStyle.Line)
    .lineInterpolation(common.LineInterpolation.StepAfter)
    .withTarget(prometheusQuery(`8 * ${agentSeries('linkmon_throughput_bytes_per_second', TARGETS)}`, '{{target}} {{direction}}'))
    .withTarget(
      prometheusQuery(`8 * ${LINK_CAPACITY} and on (link) group by (link) (${agentSeries('linkmon_throughput_bytes_per_second', TARGETS)})`, 'capacity ({{link}})').refId('CAPACITY'),
    )
    .overrideByRegexp('^capacity .*', [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ]);
}

function throughputShareStat() {
  return defaultStat()
    .title('Last result vs capacity')
    .description(`Last successful test per direction as a share of the link’s provisioned capacity. Amber below ${alertsConfig.throughput.expectedShare * 100}% (LinkmonThroughputLow, a ticket).`)
    .unit(units.PercentUnit)
    .decimals(0)
    .span(6)
    .height(8)
    .thresholds(alertThresholds({ amber: alertsConfig.throughput.expectedShare }, 'lower'))
    .withTarget(
      instantQuery(
        `max by (target, link, direction) (${agentSeries('linkmon_throughput_bytes_per_second', TARGETS)}) / on (link) group_left () ${LINK_CAPACITY}`,
        '{{target}} {{direction}}',
      ),
    );
}

function throughputTestsStat() {
  const over = (metric: string) => `sum by (direction) (increase(${agentSeries(metric, TARGETS)}[$__range]))`;
  return defaultStat()
    .title('Tests in range')
    .description('Throughput tests over the dashboard time range per direction: run (to a result), failed, and skipped (previous test still running, or the responder busy).')
    .unit(units.Short)
    .decimals(0)
    .span(6)
    .height(8)
    .thresholds(neutralThresholds())
    .colorMode(common.BigValueColorMode.None)
    .withTarget(instantQuery(over('linkmon_throughput_tests_total'), 'run {{direction}}'))
    .withTarget(instantQuery(over('linkmon_throughput_test_failures_total'), 'failed {{direction}}'))
    .withTarget(instantQuery(over('linkmon_throughput_skipped_total'), 'skipped {{direction}}'));
}

// ---------------------------------------------------------------------------------------------
// The site's share of HSL demand

/**
 * Bytes per second per interface direction through the SNMP interfaces that carry `linkMatcher`
 * links (linkmon_link_info), counted once per interface even if two agents export the link.
 */
function linkTraffic(linkMatcher: string, ...matchers: string[]): string {
  return (
    `sum by (direction) (rate(${agentSeries('linkmon_interface_bytes_total', ...matchers)}[$__rate_interval])` +
    ` * on (site, instance, device, interface) group_left () max by (site, instance, device, interface) (${agentSeries('linkmon_link_info', linkMatcher, ...matchers)}))`
  );
}

function hslShareTimeseries() {
  const siteTraffic = linkTraffic(`link!="${CAID_LINK}"`, SITE);
  const hslTraffic = linkTraffic(`link="${CAID_LINK}"`);
  return defaultTimeseries()
    .title('Share of HSL demand')
    .description(
      `Traffic through the interfaces this site’s agent polls for its own link (links: other than ${CAID_LINK}, e.g. the site router’s uplink to the WAN) as a share ` +
        `of the traffic through the HSL interfaces, per direction (out: towards the data centre, in: back). Empty for sites whose agent polls no router. ` +
        'Includes throughput-test traffic on both sides.',
    )
    .height(8)
    .span(12)
    .unit(units.PercentUnit)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(`${siteTraffic} / on (direction) (${hslTraffic} > 0)`, '{{direction}}'));
}

function siteTrafficTimeseries() {
  return defaultTimeseries()
    .title('Site traffic and HSL traffic')
    .description('Bits per second through the site’s own link interfaces and through the HSL interfaces, per interface direction; the ratio of the two is the share on the left.')
    .height(8)
    .span(12)
    .unit(units.BitsPerSecondSI)
    .min(0)
    .thresholds(neutralThresholds())
    .withTarget(prometheusQuery(`8 * ${linkTraffic(`link!="${CAID_LINK}"`, SITE)}`, 'site {{direction}}'))
    .withTarget(prometheusQuery(`8 * ${linkTraffic(`link="${CAID_LINK}"`)}`, 'HSL {{direction}}'));
}

// ---------------------------------------------------------------------------------------------
// Latency distribution, one row per target (smokeping)

function latencyHeatmap() {
  return withLinkLevels(
    new HeatmapBuilder()
      .datasource(DATASOURCE)
      .title('Latency distribution: $target')
      .description(
        'Smokeping view: how often each round-trip (ICMP/UDP), connect (TCP) or request (HTTP) time occurred, from the histogram buckets. ' +
          'Wide or scattered bands are jitter; a band moving up is added delay. The median line is in the panel below, on the same time axis.',
      )
      .height(8)
      .span(24)
      .unit(units.Seconds)
      .calculate(false)
      .yAxis(new heatmap.YAxisConfigBuilder().unit(units.Seconds).decimals(1))
      .rowsFrame(new heatmap.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Le))
      .color(
        new heatmap.HeatmapColorOptionsBuilder()
          .mode(heatmap.HeatmapColorMode.Scheme)
          .scheme('Spectral')
          .scale(heatmap.HeatmapColorScale.Exponential)
          .exponent(0.5)
          .steps(64)
          .reverse(true),
      )
      .cellGap(0)
      .filterValues(new heatmap.FilterValueRangeBuilder().le(1e-9))
      .tooltip(new heatmap.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(true))
      .withTarget(heatmapQuery(`sum by (le) (rate(${agentSeries('linkmon_probe_duration_seconds_bucket', SITE, 'target="$target"')}[$__rate_interval]))`)),
    'latency',
  );
}

function medianLine() {
  const quantile = (q: number) => durationQuantile(q, 'target, link', `${SITE}, target="$target"`, '$__rate_interval');
  return withLinkLevels(
    defaultTimeseries()
      .title('Median and spread: $target')
      .description('Median (bold) with the 10th and 90th percentiles (dashed) from the same histogram as the heatmap above; dashed threshold: the link\'s LinkmonLatencyHigh level.')
      .height(5)
      .span(24)
      .unit(units.Seconds)
      .min(0)
      .withTarget(prometheusQuery(quantile(0.9), 'p90 ({{link}})').refId('P90'))
      .withTarget(prometheusQuery(quantile(0.5), 'median ({{link}})').refId('P50'))
      .withTarget(prometheusQuery(quantile(0.1), 'p10 ({{link}})').refId('P10'))
      .withOverride({
        matcher: { id: 'byRegexp', options: '^p(10|90) .*' },
        properties: [
          { id: 'custom.lineWidth', value: 1 },
          { id: 'custom.lineStyle', value: { fill: 'dash', dash: [4, 4] } },
          { id: 'custom.fillOpacity', value: 0 },
          { id: 'color', value: { mode: 'fixed', fixedColor: 'text' } },
        ],
      })
      .withOverride({
        matcher: { id: 'byRegexp', options: '^median .*' },
        properties: [
          { id: 'custom.lineWidth', value: 2 },
          { id: 'custom.fillOpacity', value: 0 },
          { id: 'color', value: { mode: 'fixed', fixedColor: 'green' } },
        ],
      }),
    'latency',
  );
}

export function siteDetailDashboard(): dashboard.Dashboard {
  const builder = linkmonDashboard({
    title: 'linkmon / Site detail',
    uid: DASHBOARD_UIDS.siteDetail,
    description:
      'One site in depth: latency distribution per target, loss and jitter per direction, probe results, the traced path, TCP/HTTP phases, throughput tests and the site’s share of HSL demand.',
    tag: 'site',
    refresh: '1m',
    from: 'now-6h',
    timezone: 'browser',
  })
    .link(dashboardLink('Service desk overview', DASHBOARD_UIDS.overview, 'All 14 sites at a glance'))
    .link(dashboardLink('Capacity planning', DASHBOARD_UIDS.capacity, 'HSL utilisation and the capacity-step forecast'))
    .withVariable(datasourceVariable())
    .withVariable(jobVariable())
    .withVariable(instanceVariable())
    .withVariable(queryVariable('site', 'Site', `label_values(${agentSeries('linkmon_probe_attempts_total')}, site)`))
    .withVariable(
      queryVariable('target', 'Target', `label_values(${agentSeries('linkmon_probe_attempts_total', SITE)}, target)`)
        .multi(true)
        .includeAll(true)
        .allValue('.+')
        .current({ selected: true, text: ['All'], value: ['$__all'] }),
    )
    .withRow(new dashboard.RowBuilder('Now'))
    .withPanel(agentStat().span(3))
    .withPanel(wanStat().span(3))
    .withPanel(caidStat().span(3))
    .withPanel(worstLossStat().span(3))
    .withPanel(worstLatencyStat().span(3))
    .withPanel(budgetStat().span(5))
    .withPanel(lastSuccessStat().span(4))
    .withRow(new dashboard.RowBuilder('Loss, jitter and probe results'))
    .withPanel(lossTimeseries().height(8).span(12))
    .withPanel(jitterTimeseries().height(8).span(12))
    .withPanel(udpLossTimeseries().height(8).span(12))
    .withPanel(udpJitterTimeseries().height(8).span(12))
    .withPanel(probeSuccessTimeline().height(8).span(8))
    .withPanel(failureReasonsTimeseries().height(8).span(8))
    .withPanel(udpReorderTimeseries().height(8).span(8))
    .withRow(new dashboard.RowBuilder('Path'))
    .withPanel(pathHopsTimeseries().height(8).span(12))
    .withPanel(pathChangesTimeseries().height(8).span(12))
    .withPanel(pathNowTable())
    .withRow(new dashboard.RowBuilder('TCP, HTTP and DNS'))
    .withPanel(tcpConnectTimeseries().height(8).span(12))
    .withPanel(httpPhasesTimeseries().height(8).span(12))
    .withPanel(httpStatusStat().span(12))
    .withPanel(certExpiryStat().span(12))
    .withPanel(dnsAnswerTimeseries().height(8).span(12))
    .withPanel(dnsRcodeStat())
    .withRow(new dashboard.RowBuilder('Throughput tests'))
    .withPanel(throughputTimeseries().height(8).span(12))
    .withPanel(throughputShareStat())
    .withPanel(throughputTestsStat())
    .withRow(new dashboard.RowBuilder('Share of HSL demand'))
    .withPanel(hslShareTimeseries())
    .withPanel(siteTrafficTimeseries())
    .withRow(new dashboard.RowBuilder('Latency distribution: $target').repeat('target'))
    .withPanel(latencyHeatmap())
    .withPanel(medianLine());
  return finalise(builder.build());
}
