import type { AlertsConfig } from './config.js';
import { linkLabel, oneOf, percent, perLink, ratioOfRates, runbookUrl, selector } from './promql.js';
import { unlessOutageWithin } from './reachability.js';
import type { AlertingRule, RuleGroup } from './types.js';

const RUNBOOK = 'loss';

/** Failure ratio (for ICMP and UDP: packet loss) of each target, and of each (site, link), over `window`. */
export function lossNames(window: string) {
  return {
    target: `site_target:linkmon_probe_failures:ratio_rate${window}`,
    siteLink: `site_link:linkmon_probe_failures:ratio_rate${window}`,
    /**
     * UDP (STAMP) probes only: loss per direction (site_to_dc, dc_to_site) of each target, and as
     * direction="unattributed" (only while above 0) the loss a stateless reflector cannot split.
     */
    udpDirection: `site_target_direction:linkmon_udp_packets_lost:ratio_rate${window}`,
  };
}

export function lossRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { short, long } = config.loss;
  const recording = [short.window, long.window].flatMap((window) => {
    const names = lossNames(window);
    const agents = selector(config.agentSelector);
    const ratio = (by: string) => ratioOfRates(`linkmon_probe_failures_total${agents}`, `linkmon_probe_attempts_total${agents}`, by, window);
    // target is unique within a site; link and kind are attributes of the target kept for selection.
    return [
      { record: names.target, expr: ratio('site, target, link, kind') },
      { record: names.siteLink, expr: ratio('site, link') },
      {
        record: names.udpDirection,
        expr: `${ratioOfRates(`linkmon_udp_packets_lost_total${agents}`, `linkmon_udp_packets_sent_total${agents}`, 'site, target, link, direction', window)}
or
label_replace(
  ${ratioOfRates(`linkmon_udp_packets_lost_unattributed_total${agents}`, `linkmon_udp_packets_sent_total${selector(config.agentSelector, 'direction="site_to_dc"')}`, 'site, target, link', window)} > 0,
  "direction", "unattributed", "", ""
)`,
      },
    ];
  });

  const alerts = (alertName: string, which: 'short' | 'long', severity: 'page' | 'ticket', summary: string): AlertingRule[] => {
    const { window, for: forDuration } = config.loss[which];
    return perLink(config.loss.thresholds).map(({ link, matcher, value }) => ({
      alert: alertName,
      expr: `${lossNames(window).target}${selector(`kind=~"${oneOf(config.loss.kinds)}"`, matcher)} > ${value[which]}
${unlessOutageWithin(config, window)}`,
      for: forDuration,
      labels: { severity, ...linkLabel(link) },
      annotations: {
        summary,
        description:
          `{{ $value | humanizePercentage }} of {{ $labels.kind }} probes from site {{ $labels.site }} to {{ $labels.target }} ` +
          `(link {{ $labels.link }}) were lost over the last ${window}; the threshold for ${link ? `link ${link}` : 'this link'} is ${percent(value[which])}.` +
          `{{ if eq $labels.kind "udp" }} By direction: {{ range printf ${JSON.stringify(`${lossNames(window).udpDirection}{site=%q,target=%q}`)} $labels.site $labels.target | query | sortByLabel "direction" }}` +
          '{{ .Labels.direction }} {{ .Value | humanizePercentage }} {{ end }}(site_to_dc: on the way to the data centre; unattributed: a stateless reflector cannot tell).{{ end }}',
        runbook_url: runbookUrl(config, RUNBOOK, alertName),
      },
    }));
  };

  return [
    { name: 'linkmon-loss.rules', rules: recording },
    {
      name: 'linkmon-loss.alerts',
      rules: [
        ...alerts('LinkmonPacketLossHigh', 'short', 'page', 'Heavy packet loss between a site and a target over the last minutes.'),
        ...alerts('LinkmonPacketLossSustained', 'long', 'ticket', 'Packet loss between a site and a target has stayed above the hourly threshold.'),
      ],
    },
  ];
}
