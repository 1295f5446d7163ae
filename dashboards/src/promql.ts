// PromQL shared by the dashboards: recording-rule names taken from the rule generators in alerts/
// (so a renamed rule cannot leave a dashboard querying nothing) and helpers for raw-series queries.
import { latencyNames } from '../../alerts/src/latency.js';
import { lossNames } from '../../alerts/src/loss.js';
import { reachabilityNames } from '../../alerts/src/reachability.js';
import { sloNames } from '../../alerts/src/slo.js';
import { ratioOfRates } from '../../alerts/src/promql.js';
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

/** `{job="linkmon", a, b}`: the agents' selector plus the given matchers (empty ones skipped). */
export function agentSeries(metric: string, ...matchers: string[]): string {
  return `${metric}{${[AGENT_SELECTOR, ...matchers].filter((m) => m.length > 0).join(', ')}}`;
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
