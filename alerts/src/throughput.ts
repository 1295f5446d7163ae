import type { AlertsConfig } from './config.js';
import { durationSeconds } from '../../lib/units.js';
import { percent, runbookUrl, selector, templateQueryValue } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'throughput';
const PER_TEST = 'site, target, link, direction';

/**
 * Scheduled throughput tests (agent/throughput): their result against the link's provisioned
 * capacity, and tests that keep failing or never get to run.
 */
export function throughputRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { throughput } = config;
  const job = selector(config.agentSelector);
  const increase = (metric: string, window: string) => `sum by (${PER_TEST}) (increase(${metric}${job}[${window}]))`;
  const sinceSuccess = `time() - max by (${PER_TEST}) (linkmon_throughput_last_test_timestamp_seconds${job})`;

  return [
    {
      name: 'linkmon-throughput.alerts',
      rules: [
        {
          alert: 'LinkmonThroughputLow',
          // Capacity is the link's provisioned rate from its exported terms, one series per link.
          // In bits per second, the unit links are bought in.
          expr: `8 * max by (${PER_TEST}) (linkmon_throughput_bytes_per_second${job})
< on (link) group_left ()
8 * ${throughput.expectedShare} * max by (link) (linkmon_link_capacity_bytes${job})`,
          for: throughput.lowFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: "A throughput test's result is well below the link's provisioned capacity.",
            description:
              'The last {{ $labels.direction }} throughput test from site {{ $labels.site }} to {{ $labels.target }} (link {{ $labels.link }}) ' +
              'measured {{ $value | humanize }}bit/s of payload, below ' +
              `${percent(throughput.expectedShare)} of the link's provisioned ` +
              templateQueryValue(`8 * max(linkmon_link_capacity_bytes${selector(config.agentSelector, 'link=%q')})`, ['$labels.link'], 'humanize') +
              'bit/s.',
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonThroughputLow'),
          },
        },
        {
          alert: 'LinkmonResponderDown',
          expr: `up${selector(config.responderSelector)} == 0`,
          for: throughput.responderDownFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'Prometheus cannot scrape the linkmon responder in the data centre: throughput tests and UDP probes fail without it.',
            description:
              `Every scrape of the responder {{ $labels.instance }} has failed for at least ${throughput.responderDownFor} (up = {{ $value }}). ` +
              "Every site's throughput tests and UDP probes to it will fail; ICMP, TCP and HTTP probes of other targets are unaffected.",
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonResponderDown'),
          },
        },
        {
          alert: 'LinkmonThroughputTestFailing',
          expr: `${increase('linkmon_throughput_tests_total', throughput.failingWindow)} > 0
and on (${PER_TEST})
(${sinceSuccess}) > ${durationSeconds(throughput.failingWindow)}`,
          for: throughput.failingFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'Throughput tests from a site keep failing: none has succeeded for hours.',
            description:
              `{{ $value | printf "%.0f" }} {{ $labels.direction }} throughput tests from site {{ $labels.site }} to {{ $labels.target }} ran over the last ${throughput.failingWindow} and none succeeded. ` +
              `Most common failure reason: {{ with printf ${JSON.stringify(
                `topk(1, sum by (reason) (increase(linkmon_throughput_test_failures_total${selector(config.agentSelector, 'site=%q', 'target=%q', 'direction=%q')}[${throughput.failingWindow}])))`,
              )} $labels.site $labels.target $labels.direction | query }}{{ . | first | label "reason" }}{{ else }}unknown{{ end }}.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonThroughputTestFailing'),
          },
        },
        {
          alert: 'LinkmonThroughputTestsSkipped',
          expr: `${increase('linkmon_throughput_skipped_total', throughput.skippedWindow)} > 0
unless on (${PER_TEST})
${increase('linkmon_throughput_tests_total', throughput.skippedWindow)} > 0`,
          for: throughput.skippedFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'Scheduled throughput tests from a site are always skipped: capacity is not being measured.',
            description:
              `{{ $value | printf "%.0f" }} scheduled {{ $labels.direction }} throughput tests from site {{ $labels.site }} to {{ $labels.target }} were skipped over the last ${throughput.skippedWindow} and none ran. ` +
              `Skip reasons: {{ range printf ${JSON.stringify(
                `sum by (reason) (increase(linkmon_throughput_skipped_total${selector(config.agentSelector, 'site=%q', 'target=%q', 'direction=%q')}[${throughput.skippedWindow}])) > 0`,
              )} $labels.site $labels.target $labels.direction | query | sortByLabel "reason" }}{{ .Labels.reason }} {{ .Value | printf "%.0f" }} {{ end }}(busy: the responder refused with 429; overlap: the previous test was still running).`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonThroughputTestsSkipped'),
          },
        },
      ],
    },
  ];
}
