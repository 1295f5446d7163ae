import type { AlertsConfig } from './config.js';
import { oneOf, percent, runbookUrl, selector } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'reachability';

/** Recording-rule names shared with other areas (the outage mask) and the dashboards. */
export function reachabilityNames(config: AlertsConfig) {
  const w = config.reachability.window;
  return {
    /** Successful attempts / attempts per (site, link); 0 means nothing got through. */
    successRatio: `site_link:linkmon_probe_success:ratio_rate${w}`,
    /** 1 when no attempt from the site to that link succeeded over the window, else 0. */
    unreachable: 'site_link:linkmon_probe_unreachable:bool',
  };
}

/**
 * An `unless` clause that drops per-site series while, or for `window` after, the site could not
 * reach that link at all: a total outage is LinkmonSiteCaidUnreachable's (or LinkmonHslDown's) page,
 * and a loss or burn-rate window that still contains it must not raise a second alert on repair.
 */
export function unlessOutageWithin(config: AlertsConfig, window: string, on = 'site, link'): string {
  return `unless on (${on}) (max_over_time(${reachabilityNames(config).unreachable}[${window}]) == 1)`;
}

export function reachabilityRuleGroups(config: AlertsConfig): RuleGroup[] {
  const names = reachabilityNames(config);
  const w = config.reachability.window;
  const probes = selector(config.agentSelector, `kind=~"${oneOf(config.intervalKinds)}"`);
  const caid = `link="${config.caidLink}"`;
  const hsl = config.hslDown;
  const unreachableSites = `${names.unreachable}{${caid}} == 1`;

  return [
    {
      name: 'linkmon-reachability.rules',
      rules: [
        {
          // The duration histogram counts successful attempts only, so its _count is the success counter.
          record: names.successRatio,
          expr: `sum by (site, link) (rate(linkmon_probe_duration_seconds_count${probes}[${w}]))
/
(sum by (site, link) (rate(linkmon_probe_attempts_total${probes}[${w}])) > 0)`,
        },
        {
          record: names.unreachable,
          expr: `${names.successRatio} == bool 0`,
        },
      ],
    },
    {
      name: 'linkmon-reachability.alerts',
      rules: [
        {
          alert: 'LinkmonHslDown',
          expr: `(
  count(${unreachableSites})
  /
  count(${names.unreachable}{${caid}})
) >= ${hsl.siteShare}
and on () count(${unreachableSites}) >= ${hsl.minSites}`,
          for: hsl.for,
          labels: { severity: 'page', link: config.caidLink },
          annotations: {
            summary: 'Most sites cannot reach the CAID side: the High Speed Link (or the CAID data centre) is down.',
            description:
              `{{ $value | humanizePercentage }} of reporting sites have had no successful probe to the CAID side for ${w} ` +
              `(alert at ${percent(hsl.siteShare)} and at least ${hsl.minSites} sites). ` +
              `Sites affected: {{ range printf ${JSON.stringify(`${unreachableSites}`)} | query | sortByLabel "site" }}{{ .Labels.site }} {{ end }}. ` +
              'Per-site alerts for the CAID side are inhibited while this fires.',
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonHslDown'),
          },
        },
        {
          alert: 'LinkmonSiteCaidUnreachable',
          expr: `${names.unreachable}{${caid}} == 1`,
          for: config.reachability.for,
          labels: { severity: 'page' },
          annotations: {
            summary: 'A site cannot reach the CAID side: every probe from the site across the HSL is failing.',
            description:
              `No probe from site {{ $labels.site }} to a CAID-side target (link {{ $labels.link }}) has succeeded for ${w}. ` +
              `Most common failure reason: {{ with printf ${JSON.stringify(
                `topk(1, sum by (reason) (increase(linkmon_probe_failures_total{${config.agentSelector},site=%q,link=%q}[${w}])))`,
              )} $labels.site $labels.link | query }}{{ . | first | label "reason" }}{{ else }}unknown{{ end }}. ` +
              `Success on this site's other links: {{ range printf ${JSON.stringify(
                `${names.successRatio}{site=%q,link!=%q}`,
              )} $labels.site $labels.link | query | sortByLabel "link" }}{{ .Labels.link }} {{ .Value | humanizePercentage }} {{ else }}none reporting {{ end }}(0% there too points at the site's WAN).` +
              // Path tracing, where configured: the last hop that still answers (docs/path-tracing.md).
              `{{ range printf ${JSON.stringify(`linkmon_path_last_responding_hop{${config.agentSelector},site=%q,link=%q}`)} $labels.site $labels.link | query | sortByLabel "target" }}` +
              ` Path to {{ .Labels.target }}: last answer from hop {{ .Value }}{{ with printf ${JSON.stringify(
                `linkmon_path_hop_info{${config.agentSelector},site=%q,target=%q,hop="%.0f"}`,
              )} .Labels.site .Labels.target .Value | query }} ({{ . | first | label "address" }}){{ end }}.{{ end }}`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonSiteCaidUnreachable'),
          },
        },
      ],
    },
  ];
}
