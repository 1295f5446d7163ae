import { INTERVAL_KINDS, type IntervalKind } from '../../lib/kinds.js';

/**
 * Every selector, threshold and duration the linkmon rules use, in one object (the mixin pattern).
 * The rule files in alerts/generated/ are generated from `alertsConfig`; change a default here and
 * run `npm run alerts:generate`. A deployment keeps its own values in an overrides file instead
 * (`npm run alerts:generate -- --config overrides.json`, alerts/src/overrides.ts). Tests build faster
 * variants from the same object.
 *
 * Durations are Prometheus duration strings ("30s", "5m", "1h", "7d"). Ratios are 0–1.
 */

/** Threshold table keyed by the `link` label value of the targets; `default` covers every other link. */
export type PerLink<T> = { default: T } & Record<string, T>;

export const alertsConfig = {
  /** Label matchers that select the linkmon agents' series (the scrape job of prometheus/prometheus.yml). */
  agentSelector: 'job="linkmon"',
  /** ...and the data-centre responder's (one for all sites; no `site` label). */
  responderSelector: 'job="linkmon-responder"',
  /**
   * runbook_url = `${runbookBaseUrl}/<area>.md#<alertname in lower case>`. A placeholder (.invalid):
   * set it in an overrides file (alerts/src/overrides.ts) to where docs/runbooks is browsable on the MPS network.
   */
  runbookBaseUrl: 'https://git.linkmon.invalid/linkmon/-/blob/main/docs/runbooks',
  /** `link` label value of the targets beyond the High Speed Link (the CAID side). */
  caidLink: 'hsl',
  /** Probe kinds driven by the interval scheduler; throughput tests run on a cron and are judged separately. */
  intervalKinds: INTERVAL_KINDS,

  agent: {
    /** `up == 0` this long: the agent or the site's WAN (the scrape path) is down. */
    downFor: '5m',
    /** A site scraped within this lookback that has no `up` series now has vanished from discovery. */
    absentLookback: '1d',
    absentFor: '10m',
    /** Scraped, but no probe attempt started over this window (a hung scheduler): stale data. */
    notProbingWindow: '5m',
    notProbingFor: '5m',
    /** The agent's own `site` label differs from the one file_sd gives its target. */
    siteLabelMismatchFor: '10m',
    proberUnavailableFor: '5m',
    configReloadFailedFor: '5m',
  },

  reachability: {
    /** A (site, link) is unreachable when no probe attempt to it succeeded over this window. */
    window: '1m',
    /** LinkmonSiteCaidUnreachable: unreachable this long. Longer than hslDown.for so the HSL alert arrives first. */
    for: '1m',
  },

  hslDown: {
    /** LinkmonHslDown: at least this share of the reporting sites cannot reach the CAID side... */
    siteShare: 0.5,
    /** ...and at least this many sites (so one flapping site of two reporting is not "the HSL"). */
    minSites: 2,
    for: '30s',
  },

  loss: {
    /** Kinds whose failure ratio is packet loss (ICMP echoes, UDP packets). */
    kinds: ['icmp', 'udp'] satisfies IntervalKind[],
    /**
     * LinkmonPacketLossHigh (page). A burst stays in the window for `window` after it ends, so `for`
     * is longer than the window: bursts shorter than the difference never page.
     */
    short: { window: '5m', for: '10m' },
    /** LinkmonPacketLossSustained (ticket). */
    long: { window: '1h', for: '15m' },
    thresholds: {
      default: { short: 0.05, long: 0.01 },
      hsl: { short: 0.02, long: 0.005 },
      wan: { short: 0.05, long: 0.01 },
    } as PerLink<{ short: number; long: number }>,
  },

  latency: {
    /** Kinds whose duration is a network round trip (HTTP adds server time, so it is left out). */
    kinds: ['icmp', 'tcp', 'udp'] satisfies IntervalKind[],
    /** Quantiles recorded for dashboards; `alertQuantile` is the one alerted on. */
    quantiles: [0.5, 0.95, 0.99],
    alertQuantile: 0.95,
    window: '5m',
    /** LinkmonLatencyHigh (ticket): the quantile above a fixed threshold per link, in seconds. */
    for: '10m',
    thresholds: { default: 0.1, hsl: 0.06, wan: 0.04 } as PerLink<number>,
    baseline: {
      /** LinkmonLatencyAboveBaseline (info): above factor × the median over this window of the same quantile... */
      window: '7d',
      factor: 2,
      /** ...and at least this much above it in seconds, so sub-millisecond LAN paths do not alert on noise. */
      minIncreaseSeconds: 0.005,
      for: '15m',
      /** The 7-day median is expensive; its recording group runs this often. */
      evaluationInterval: '5m',
    },
  },

  jitter: {
    kinds: ['icmp', 'udp'] satisfies IntervalKind[],
    window: '5m',
    /** LinkmonJitterHigh (info): mean jitter over the window above the threshold per link, in seconds. */
    for: '15m',
    thresholds: { default: 0.02, hsl: 0.01 } as PerLink<number>,
  },

  throughput: {
    /** LinkmonThroughputLow (ticket): a test's result below this share of the link's provisioned capacity. */
    expectedShare: 0.5,
    lowFor: '1h',
    /** LinkmonThroughputTestFailing (ticket): every throughput test over this window failed. */
    failingWindow: '6h',
    failingFor: '30m',
    /** LinkmonThroughputTestsSkipped (ticket): tests scheduled but every start skipped over this window. */
    skippedWindow: '6h',
    skippedFor: '30m',
    /** LinkmonResponderDown (ticket): the responder's scrape failing this long (tests and UDP probes then fail too). */
    responderDownFor: '5m',
  },

  slo: {
    /** Share of CAID-side probe attempts from each site that must succeed over `period`. */
    target: 0.999,
    period: '30d',
    /**
     * Multi-window multi-burn-rate alerts (Google SRE workbook ch. 5): fire when both windows burn
     * the error budget faster than `factor` × the sustainable rate.
     */
    page: {
      for: '2m',
      windows: [
        { long: '1h', short: '5m', factor: 14.4 },
        { long: '6h', short: '30m', factor: 6 },
      ],
    },
    ticket: {
      for: '15m',
      windows: [
        { long: '1d', short: '2h', factor: 3 },
        { long: '3d', short: '6h', factor: 1 },
      ],
    },
    /** Windows at or above this are averaged from the 5m ratio instead of rate() over raw counters (cost). */
    longWindowFrom: '1d',
    /** Evaluation interval of that averaging group (ticket alerts' windows easily tolerate it). */
    longWindowEvaluationInterval: '1m',
  },

  tls: {
    /** LinkmonTlsCertExpiring (ticket): an HTTPS target's certificate expires within this many days. */
    expiryDays: 21,
    for: '15m',
  },

  path: {
    /** LinkmonPathChanged (info): a traced path changed within this window (one alert per link). */
    changedWindow: '15m',
    changedFor: '1m',
    /** LinkmonPathTracingUnavailable (ticket): path tracing configured but unable to run this long. */
    unavailableFor: '15m',
  },

  snmp: {
    /** LinkmonSnmpPollFailing (ticket): polls of a device failing this long. */
    pollFailingFor: '10m',
    /** LinkmonInterfaceErrors (ticket): errors + discards per second on an interface above this... */
    errorsWindow: '15m',
    errorsPerSecond: 1,
    errorsFor: '15m',
    /** LinkmonInterfaceDown (page): an administratively up interface operationally down this long. */
    downFor: '2m',
  },

  /**
   * Link utilisation and the capacity-step recommendation (alerts/src/capacity.ts, owned by the snmp
   * engineer). Capacities, step size, costs, lead time and the recommend/forecast/unused ratios are
   * not here: they come from each link's config as linkmon_link_* metrics.
   */
  capacity: {
    /** Rate window of the live utilisation rules (their names end in `ratio_rate<window>`), read by LinkSaturated and the dashboards' graphs. */
    window: '5m',
    /**
     * Planning figures use aligned windows [t, t + alignedWindow) with t a multiple of it (docs/capacity.md).
     * Their recording group runs at this interval and records each window once, `windowLag` after it ends
     * so that samples scraped just before the end are in (a scrape started then can take up to scrape_timeout).
     */
    alignedWindow: '5m',
    windowLag: '1m',
    /**
     * Throughput-test traffic is subtracted from a link's traffic when the test target's `link` label is
     * the link's name. The interface direction each test direction shows up in, for an HSL interface on
     * the MPS data-centre router facing CAID: site → DC traffic leaves through it (out), DC → site arrives (in).
     */
    testTrafficDirections: { site_to_dc: 'out', dc_to_site: 'in' } as Record<'site_to_dc' | 'dc_to_site', 'in' | 'out'>,
    /** Tests count HTTP payload; on the wire TCP/IP/Ethernet headers add ~4.6% (1514 / 1448 bytes per segment). */
    testTrafficOverhead: 1.05,
    /** The capacity rules read each link term (linkmon_link_*) as its newest value within this window. */
    termLookback: '1h',
    /** Busy hours in UK local time (GMT, or BST from the last Sunday of March to the last Sunday of October): [from, to) on these days (1 = Monday). */
    busyHours: { from: 8, to: 18, days: [1, 2, 3, 4, 5] },
    /** Utilisation levels whose hours above are counted per month (all hours and busy hours). */
    hoursAbove: [0.7, 0.9],
    /** The daily and the rolling busy-hour 95th percentiles. */
    dailyWindow: '1d',
    longWindow: '30d',
    daily: {
      /** A weekday's busy-hour p95 needs at least this share of its busy windows (a day with a 6-hour outage gets no value). */
      minWindowShare: 0.5,
      /**
       * The once-a-day rules (daily busy-hour p95, forecast, release) record in the evaluation that falls in
       * [hourUtc:00, hourUtc:00 + alignedWindow): after 18:00 UK time in both GMT and BST, before midnight.
       */
      hourUtc: 19,
      /** Alerts, dashboards and the report read the newest once-a-day value within this window (two missed days tolerated). */
      lookback: '3d',
    },
    forecast: {
      /** Ordinary least squares through the daily busy-hour p95 values of this window... */
      window: '8w',
      /** ...projected to now + the link's lead time + this margin. */
      margin: '30d',
      /** No forecast from fewer daily values than this (four weeks of weekdays: projected two or three months ahead, a fit over fewer is noise). */
      minPoints: 20,
    },
    /** LinkCapacityStepRecommended (ticket). */
    recommendFor: '1h',
    /** LinkCapacityStepUnused (info): every daily busy-hour p95 against capacity minus one step under the unused ratio for this long. */
    unusedWindow: '90d',
    unusedFor: '1h',
    /** LinkSaturated (page): utilisation above `ratio` for `for`, together with probe loss or a latency rise on the link. */
    saturated: {
      ratio: 0.95,
      for: '15m',
      /** Worst site's packet loss (icmp/udp probes, loss.short.window) across the link above this... */
      lossRatio: 0.01,
      /** ...or a site's latency quantile (latency.alertQuantile) above factor × its baseline and by at least minRiseSeconds. */
      latencyRiseFactor: 1.5,
      latencyRiseMinSeconds: 0.005,
    },
  },
};

export type AlertsConfig = typeof alertsConfig;
