// PromQL shared by the dashboards: recording-rule names taken from the rule generators in alerts/
// (so a renamed rule cannot leave a dashboard querying nothing) and helpers for raw-series queries.
import { latencyNames } from '../../alerts/src/latency.js';
import { lossNames } from '../../alerts/src/loss.js';
import { reachabilityNames } from '../../alerts/src/reachability.js';
import { sloNames } from '../../alerts/src/slo.js';
import { ratioOfRates } from '../../alerts/src/promql.js';
import type { QueryVariableBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { queryVariable } from './common.js';
import { AGENT_SELECTOR, alertsConfig } from './thresholds.js';

const reachability = reachabilityNames(alertsConfig);
const latency = latencyNames(alertsConfig);

/** Recording rules from alerts/generated used by the dashboards. */
export const RULES = {
  /** Failure ratio per (site, target, link, kind) over the paging window (5m); for ICMP/UDP this is packet loss. */
  targetLossShort: lossNames(alertsConfig.loss.short.window).target,
  /** The same over the sustained-loss window (1h). */
  targetLossLong: lossNames(alertsConfig.loss.long.window).target,
  /** Successful / all attempts per (site, link) over the reachability window. */
  siteLinkSuccess: reachability.successRatio,
  /** 1 when nothing from the site got through to that link over the reachability window. */
  siteLinkUnreachable: reachability.unreachable,
  /** Probe duration quantiles per target, label `quantile` (0.5, 0.95, 0.99). */
  durationQuantile: latency.quantile,
  /** Error-budget remaining of the availability SLO per (site, link). */
  sloBudgetRemaining: sloNames().budgetRemaining,
  sloErrorRatio: sloNames().errorRatio,
} as const;

/** Kinds whose failures are packet loss, and whose duration is a network round trip (as the alerts). */
export const LOSS_KINDS = alertsConfig.loss.kinds.join('|');
export const RTT_KINDS = alertsConfig.latency.kinds.join('|');
export const JITTER_KINDS = alertsConfig.jitter.kinds.join('|');
export const ALERT_QUANTILE = String(alertsConfig.latency.alertQuantile);
export const LOSS_WINDOW = alertsConfig.loss.short.window;
export const LATENCY_WINDOW = alertsConfig.latency.window;
export const JITTER_WINDOW = alertsConfig.jitter.window;
export const REACHABILITY_WINDOW = alertsConfig.reachability.window;

/**
 * The agents' series on every dashboard are filtered by two variables, as in monitoring mixins:
 * `job`, listing the jobs that match the config's agentSelector and scrape linkmon agents (only
 * agents export linkmon_build_info), and `instance` within them. A Prometheus scraping the agents
 * under any job name fills them by itself.
 */
const AGENT_FILTER = 'job=~"$job", instance=~"$instance"';

/**
 * The mixin config as the queries the dashboards share with the rules and `linkmon report`
 * (capacity-promql.ts, capacity-monthly.ts) should see it: the agents' series chosen by the variables.
 */
export const VARIABLE_SELECTED_CONFIG = { ...alertsConfig, agentSelector: AGENT_FILTER };

/** `{job=~"$job", instance=~"$instance", a, b}`: the agents' series plus the given matchers (empty ones skipped). */
export function agentSeries(metric: string, ...matchers: string[]): string {
  return `${metric}{${[AGENT_FILTER, ...matchers].filter((m) => m.length > 0).join(', ')}}`;
}

/** The `job` variable, all selected by default. Without an allValue, "All" is the regex of the listed jobs, so `up` stays the agents'. */
export function jobVariable(): QueryVariableBuilder {
  return queryVariable('job', 'Job', `label_values(linkmon_build_info{${AGENT_SELECTOR}}, job)`).multi(true).includeAll(true).current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** The `instance` variable: the agents of the chosen jobs, all by default. */
export function instanceVariable(): QueryVariableBuilder {
  return queryVariable('instance', 'Instance', `label_values(linkmon_build_info{${AGENT_SELECTOR}, job=~"$job"}, instance)`)
    .multi(true)
    .includeAll(true)
    .allValue('.+')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** A recording rule with matchers (no job matcher: the rule already selected the agents). */
export function rule(name: string, ...matchers: string[]): string {
  const nonEmpty = matchers.filter((m) => m.length > 0);
  return nonEmpty.length > 0 ? `${name}{${nonEmpty.join(', ')}}` : name;
}

/** Loss ratio of the agents' probes: failed over started attempts (alerts/src/promql.ts ratioOfRates). */
export function lossRatio(by: string, matchers: string, window: string): string {
  return ratioOfRates(agentSeries('linkmon_probe_failures_total', matchers), agentSeries('linkmon_probe_attempts_total', matchers), by, window);
}

/** A quantile of probe durations (RTT for ICMP/UDP, connect time for TCP) from the histogram. */
export function durationQuantile(q: number, by: string, matchers: string, window: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${agentSeries('linkmon_probe_duration_seconds_bucket', matchers)}[${window}])))`;
}
