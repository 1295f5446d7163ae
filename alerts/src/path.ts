import type { AlertsConfig } from './config.js';
import { runbookUrl, selector } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'path';

/**
 * Path tracing (docs/path-tracing.md). A path change is information for the service desk, not a
 * fault: one alert per link, however many sites saw it (an HSL reroute changes the path of all 14).
 * A target going dark is LinkmonSiteCaidUnreachable's or LinkmonHslDown's page, whose description
 * quotes the last responding hop.
 */
export function pathRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { path } = config;
  const job = selector(config.agentSelector);
  const changed = (...matchers: string[]) => `increase(linkmon_path_changes_total${selector(config.agentSelector, ...matchers)}[${path.changedWindow}]) > 0`;
  return [
    {
      name: 'linkmon-path.alerts',
      rules: [
        {
          alert: 'LinkmonPathChanged',
          expr: `count by (link) (${changed()})`,
          for: path.changedFor,
          labels: { severity: 'info' },
          annotations: {
            summary: 'The network path from sites to targets on a link has changed (a reroute, a failover, a routing loop).',
            description:
              `The traced path to targets on link {{ $labels.link }} changed in the last ${path.changedWindow} for {{ $value }} site/target pair(s): ` +
              `{{ range printf ${JSON.stringify(changed('link=%q'))} $labels.link | query | sortByLabel "site" }}{{ .Labels.site }}/{{ .Labels.target }} {{ end }}. ` +
              'Compare the hops before and after on the site detail dashboard (Path row).',
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonPathChanged'),
          },
        },
        {
          alert: 'LinkmonPathTracingUnavailable',
          expr: `linkmon_path_tracing_available${job} == 0`,
          for: path.unavailableFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'A linkmon agent is configured to trace paths but cannot (its native addon is missing).',
            description:
              'The agent for site {{ $labels.site }} ({{ $labels.instance }}) has path_tracing configured but linkmon_path_tracing_available = {{ $value }}: ' +
              'no hop counts, last responding hops or path changes from it; every probe keeps running.',
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonPathTracingUnavailable'),
          },
        },
      ],
    },
  ];
}
