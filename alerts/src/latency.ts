import type { AlertsConfig } from './config.js';
import { linkLabel, millis, oneOf, perLink, runbookUrl, selector, templateQueryValue } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'latency';

export function latencyNames(config: AlertsConfig) {
  const { window, baseline } = config.latency;
  return {
    /** histogram_quantile of the probe duration per target, one series per `quantile` label. */
    quantile: `site_target:linkmon_probe_duration_seconds:quantile_rate${window}`,
    /** Median over the baseline window of the quantile above. */
    baseline: `site_target:linkmon_probe_duration_seconds:quantile_rate${window}_median${baseline.window}`,
  };
}

export function latencyRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { window, baseline } = config.latency;
  const names = latencyNames(config);
  const q = String(config.latency.alertQuantile);
  const rttKinds = `kind=~"${oneOf(config.latency.kinds)}"`;
  const current = (matcher: string | undefined) => `${names.quantile}${selector(`quantile="${q}"`, rttKinds, matcher)}`;

  return [
    {
      name: 'linkmon-latency.rules',
      rules: config.latency.quantiles.map((quantile) => ({
        record: names.quantile,
        // ">= 0" drops the NaN of windows without a successful attempt, so the baseline median ignores outages.
        expr: `histogram_quantile(${quantile}, sum by (site, target, link, kind, le) (rate(linkmon_probe_duration_seconds_bucket${selector(config.agentSelector)}[${window}]))) >= 0`,
        labels: { quantile: String(quantile) },
      })),
    },
    {
      name: 'linkmon-latency-baseline.rules',
      interval: baseline.evaluationInterval,
      rules: [
        {
          record: names.baseline,
          expr: `quantile_over_time(0.5, ${names.quantile}{quantile="${q}"}[${baseline.window}])`,
        },
      ],
    },
    {
      name: 'linkmon-latency.alerts',
      rules: [
        ...perLink(config.latency.thresholds).map(({ link, matcher, value }) => ({
          alert: 'LinkmonLatencyHigh',
          expr: `${current(matcher)} > ${value}`,
          for: config.latency.for,
          labels: { severity: 'ticket' as const, ...linkLabel(link) },
          annotations: {
            summary: 'Round-trip time from a site to a target is above the fixed threshold for its link.',
            description:
              `p${Math.round(Number(q) * 100)} {{ $labels.kind }} round-trip time from site {{ $labels.site }} to {{ $labels.target }} (link {{ $labels.link }}) ` +
              `is {{ $value | humanizeDuration }} over the last ${window}; the threshold for ${link ? `link ${link}` : 'this link'} is ${millis(value)}.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonLatencyHigh'),
          },
        })),
        {
          alert: 'LinkmonLatencyAboveBaseline',
          expr: `${current(undefined)} > ${baseline.factor} * ${names.baseline}
and
${current(undefined)} - ${names.baseline} > ${baseline.minIncreaseSeconds}`,
          for: baseline.for,
          labels: { severity: 'info' },
          annotations: {
            summary: "Round-trip time from a site to a target is well above that path's own recent baseline.",
            description:
              `p${Math.round(Number(q) * 100)} {{ $labels.kind }} round-trip time from site {{ $labels.site }} to {{ $labels.target }} (link {{ $labels.link }}) ` +
              `is {{ $value | humanizeDuration }} over the last ${window}, against a ${baseline.window} median of ` +
              templateQueryValue(`${names.baseline}{site=%q,target=%q}`, ['$labels.site', '$labels.target'], 'humanizeDuration') +
              ` (alert above ${baseline.factor}x the baseline and ${millis(baseline.minIncreaseSeconds)} more).`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonLatencyAboveBaseline'),
          },
        },
        ...perLink(config.jitter.thresholds).map(({ link, matcher, value }) => ({
          alert: 'LinkmonJitterHigh',
          expr: `avg_over_time(linkmon_probe_jitter_seconds${selector(config.agentSelector, `kind=~"${oneOf(config.jitter.kinds)}"`, matcher)}[${config.jitter.window}]) > ${value}`,
          for: config.jitter.for,
          labels: { severity: 'info' as const, ...linkLabel(link) },
          annotations: {
            summary: 'Jitter (variation of round-trip time) from a site to a target is high.',
            description:
              `Mean {{ $labels.kind }} jitter from site {{ $labels.site }} to {{ $labels.target }} (link {{ $labels.link }}) ` +
              `is {{ $value | humanizeDuration }} over the last ${config.jitter.window}; the threshold for ${link ? `link ${link}` : 'this link'} is ${millis(value)}.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonJitterHigh'),
          },
        })),
      ],
    },
  ];
}
