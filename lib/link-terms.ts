/**
 * Defaults of a link's commercial terms and capacity-planning thresholds (config `links[]`, docs/
 * capacity.md). The agent exports the configured values as linkmon_link_* metrics; the dashboards
 * colour their stats with these defaults. Figures from MOPAC decision PCD 987: £500 one-off plus
 * £1,500 a year per additional 1 Gbps.
 */
export const LINK_TERM_DEFAULTS = {
  step: {
    /** bits per second */
    size: 1_000_000_000,
    one_off_cost_gbp: 500,
    annual_cost_gbp: 1500,
    /** seconds from order to the extra capacity being usable */
    lead_time: 30 * 86400,
  },
  thresholds: {
    /** Recommend a step when the 30-day busy-hour p95 is above this share of capacity. */
    recommend: 0.7,
    /** ...or when the 8-week linear forecast crosses this share within lead time + 30 days. */
    forecast: 0.8,
    /** A step is unused when capacity minus one step would keep the 30-day p95 under this share for 90 days. */
    unused: 0.5,
  },
} as const;
