import type { AlertsConfig } from './config.js';
import { oneOf, runbookUrl, selector } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'agent';

/**
 * Alerts about the agents themselves. `up` carries the `site` that file_sd gives each target, while
 * the agent's own series carry the `site` it exports (honor_labels: true); the two must agree.
 */
export function agentRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { agent } = config;
  const up = `up${selector(config.agentSelector)}`;
  const job = selector(config.agentSelector);
  const runbook = (name: string) => runbookUrl(config, RUNBOOK, name);

  return [
    {
      name: 'linkmon-agent.alerts',
      rules: [
        {
          alert: 'LinkmonAgentDown',
          expr: `${up} == 0`,
          for: agent.downFor,
          labels: { severity: 'page' },
          annotations: {
            summary: "Prometheus cannot scrape a site's linkmon agent: the agent or the site's WAN is down.",
            description:
              `Every scrape of the agent for site {{ $labels.site }} ({{ $labels.instance }}) has failed for at least ${agent.downFor} (up = {{ $value }}). ` +
              "Prometheus reaches the agent over the site's WAN, so either the agent (host, service) is down or the site is cut off; " +
              "nothing is known about this site's links until it is back.",
            runbook_url: runbook('LinkmonAgentDown'),
          },
        },
        {
          alert: 'LinkmonAgentAbsent',
          expr: `(
  group by (site) (max_over_time(${up}[${agent.absentLookback}]))
  unless on (site)
  group by (site) (${up})
)
or
absent(${up})`,
          for: agent.absentFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'A linkmon agent is no longer a Prometheus scrape target: its site is not monitored.',
            description:
              `{{ if $labels.site }}Site {{ $labels.site }} was scraped within the last ${agent.absentLookback} but has no scrape target now` +
              '{{ else }}Prometheus has no linkmon scrape target at all{{ end }}: check prometheus/targets/agents.yml and service discovery.',
            runbook_url: runbook('LinkmonAgentAbsent'),
          },
        },
        {
          alert: 'LinkmonAgentNotProbing',
          expr: `sum by (site, instance) (rate(linkmon_probe_attempts_total${selector(config.agentSelector, `kind=~"${oneOf(config.intervalKinds)}"`)}[${agent.notProbingWindow}])) == 0
and on (site, instance)
${up} == 1`,
          for: agent.notProbingFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'A linkmon agent answers scrapes but has stopped probing: its figures are stale.',
            description:
              `The agent for site {{ $labels.site }} ({{ $labels.instance }}) started {{ $value }} probe attempts per second over the last ${agent.notProbingWindow} ` +
              'although it is scraped successfully: its scheduler is stuck, so loss and latency for this site are not being measured.',
            runbook_url: runbook('LinkmonAgentNotProbing'),
          },
        },
        {
          alert: 'LinkmonAgentSiteLabelMismatch',
          expr: `group by (instance, site) (linkmon_build_info${job})
unless on (instance, site)
${up}`,
          for: agent.siteLabelMismatchFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: "An agent's configured site id differs from the site its Prometheus target is labelled with.",
            description:
              'The agent at {{ $labels.instance }} exports site="{{ $labels.site }}" but its scrape target is labelled site="' +
              `{{ with printf ${JSON.stringify(`up{${config.agentSelector},instance=%q}`)} $labels.instance | query }}{{ . | first | label "site" }}{{ else }}?{{ end }}". ` +
              "Its series are filed under the agent's own id (honor_labels), so two sites' figures may be mixed up.",
            runbook_url: runbook('LinkmonAgentSiteLabelMismatch'),
          },
        },
        {
          alert: 'LinkmonProberUnavailable',
          expr: `linkmon_prober_available${job} == 0`,
          for: agent.proberUnavailableFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'A linkmon agent cannot run one kind of probe (ICMP usually: no CAP_NET_RAW).',
            description:
              'The agent for site {{ $labels.site }} ({{ $labels.instance }}) cannot run {{ $labels.kind }} probes (linkmon_prober_available = {{ $value }}); ' +
              'its targets of that kind are not measured while every other probe keeps running.',
            runbook_url: runbook('LinkmonProberUnavailable'),
          },
        },
        {
          alert: 'LinkmonConfigReloadFailed',
          expr: `linkmon_config_last_reload_successful${job} == 0`,
          for: agent.configReloadFailedFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: "A linkmon agent rejected its new configuration and still runs the previous one.",
            description:
              'The last configuration reload of the agent for site {{ $labels.site }} ({{ $labels.instance }}) failed (linkmon_config_last_reload_successful = {{ $value }}); ' +
              'it keeps probing with the configuration it had before.',
            runbook_url: runbook('LinkmonConfigReloadFailed'),
          },
        },
      ],
    },
  ];
}
