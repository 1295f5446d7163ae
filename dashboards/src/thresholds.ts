// Dashboard colours from the alert configuration: the numbers are imported from
// alerts/src/config.ts (or the user's overrides, mixin-config.ts), never copied, so a threshold
// change there recolours the dashboards.
//
// Colour = the severity of the alert the value would raise (once it lasted the alert's `for`):
// red from a `page` threshold, amber from a `ticket` or `info` threshold, green below.
import { LINK_TERM_DEFAULTS } from '../../lib/link-terms.js';
import type { PerLink } from '../../alerts/src/config.js';
import { mixinConfig } from './mixin-config.js';

export const alertsConfig = mixinConfig();

/** Levels of one quantity; either may be missing when no alert of that severity exists. */
export interface Levels {
  amber?: number;
  red?: number;
}

/** The value for a link from a per-link table: the link's own entry, else `default`. */
export function forLink<T>(table: PerLink<T>, link: string): T {
  return table[link] ?? table.default;
}

/** The links with their own entry in a per-link table (the rest use `default`). */
export function namedLinks<T>(table: PerLink<T>): string[] {
  return Object.keys(table)
    .filter((k) => k !== 'default')
    .sort();
}

/** Loss: LinkmonPacketLossSustained (ticket, hourly threshold) and LinkmonPacketLossHigh (page, 5-minute threshold). */
export function lossLevels(link: string): Levels {
  const { short, long } = forLink(alertsConfig.loss.thresholds, link);
  return { amber: long, red: short };
}

/** Latency: LinkmonLatencyHigh is a ticket (there is no paging latency alert). */
export function latencyLevels(link: string): Levels {
  return { amber: forLink(alertsConfig.latency.thresholds, link) };
}

/** Jitter: LinkmonJitterHigh is info. */
export function jitterLevels(link: string): Levels {
  return { amber: forLink(alertsConfig.jitter.thresholds, link) };
}

/** Per-link level tables for panels that show several links at once. */
export const LEVELS_BY_LINK = {
  loss: { table: alertsConfig.loss.thresholds, levels: lossLevels },
  latency: { table: alertsConfig.latency.thresholds, levels: latencyLevels },
  jitter: { table: alertsConfig.jitter.thresholds, levels: jitterLevels },
} as const;

/** LinkmonTlsCertExpiring (ticket): days before expiry, as seconds. */
export const TLS_EXPIRY_AMBER_SECONDS = alertsConfig.tls.expiryDays * 86400;

/** LinkmonHslDown (page) fires when this share of sites cannot reach the CAID side. */
export const HSL_DOWN_SITE_SHARE = alertsConfig.hslDown.siteShare;

/** LinkmonThroughputLow (ticket): a result below this share of the link's provisioned capacity. */
export const THROUGHPUT_EXPECTED_SHARE = alertsConfig.throughput.expectedShare;

/** The availability SLO (burn-rate alerts page or ticket when it is being missed). */
export const SLO_TARGET = alertsConfig.slo.target;

/** `link` label value of the targets beyond the HSL. */
export const CAID_LINK = alertsConfig.caidLink;

/** The selector of the linkmon agents' series (the Prometheus scrape job), as in the rules. */
export const AGENT_SELECTOR = alertsConfig.agentSelector;

/**
 * Default capacity-planning ratios of a link (config links[].thresholds: recommend, forecast,
 * unused). Each link's configured values are exported as linkmon_link_threshold_ratio and drawn as
 * lines; these defaults colour the stats.
 */
export const LINK_THRESHOLD_DEFAULTS = LINK_TERM_DEFAULTS.thresholds;

/** LinkSaturated (page): 5-minute utilisation above this share of capacity. */
export const SATURATED_RATIO = alertsConfig.capacity.saturated.ratio;

/** Utilisation: amber from the recommend ratio (LinkCapacityStepRecommended, a ticket), red from LinkSaturated (page). */
export function utilisationLevels(): Levels {
  return { amber: LINK_THRESHOLD_DEFAULTS.recommend, red: SATURATED_RATIO };
}
