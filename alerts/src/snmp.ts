import type { AlertsConfig } from './config.js';
import { runbookUrl, selector } from './promql.js';
import type { RuleGroup } from './types.js';

const RUNBOOK = 'snmp';

const PER_INTERFACE = 'site, instance, device, interface';

/**
 * Adds the `link` label of interfaces that carry a configured link (linkmon_link_info), so an HSL
 * interface's alert says so and falls under the HSL's inhibition; other interfaces pass unchanged.
 */
function withLink(expr: string, job: string): string {
  return `(
  (${expr})
  * on (${PER_INTERFACE}) group_left (link)
  linkmon_link_info${job}
)
or
(
  (${expr})
  unless on (${PER_INTERFACE})
  linkmon_link_info${job}
)`;
}

/** Router interfaces the agents poll over SNMP (the HSL routers, site WAN routers): polling health, errors, state. */
export function snmpRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { snmp } = config;
  const job = selector(config.agentSelector);
  const w = snmp.errorsWindow;
  const link = '{{ with $labels.link }}, which carries link {{ . }}{{ end }}';
  return [
    {
      name: 'linkmon-snmp.alerts',
      rules: [
        {
          alert: 'LinkmonSnmpPollFailing',
          // The gauge is per poll; none successful over the window is "failing", one lost poll is not.
          expr: `max_over_time(linkmon_snmp_poll_success${job}[${snmp.pollFailingFor}]) == 0`,
          for: snmp.pollFailingFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'The agent cannot poll a router over SNMP: its interface counters and utilisation are not measured.',
            description:
              `No SNMP poll by the agent for site {{ $labels.site }} of device {{ $labels.device }} has succeeded for at least ${snmp.pollFailingFor} ` +
              `(a poll also fails when a configured interface is not found). Most common failure reason: {{ with printf ${JSON.stringify(
                `topk(1, sum by (reason) (increase(linkmon_snmp_poll_failures_total${selector(config.agentSelector, 'site=%q', 'device=%q')}[${snmp.pollFailingFor}])))`,
              )} $labels.site $labels.device | query }}{{ . | first | label "reason" }}{{ else }}unknown{{ end }}.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonSnmpPollFailing'),
          },
        },
        {
          alert: 'LinkmonInterfaceErrors',
          expr: withLink(`rate(linkmon_interface_errors_total${job}[${w}]) + rate(linkmon_interface_discards_total${job}[${w}]) > ${snmp.errorsPerSecond}`, job),
          for: snmp.errorsFor,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'A router interface is counting errors or discards: frames are being damaged or dropped.',
            description:
              `Interface {{ $labels.interface }} on {{ $labels.device }}${link} (polled from site {{ $labels.site }}) counts {{ $value | printf "%.2f" }} errors + discards per second ` +
              `in direction {{ $labels.direction }} over the last ${w} (alert above ${snmp.errorsPerSecond}/s).`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonInterfaceErrors'),
          },
        },
        {
          alert: 'LinkmonInterfaceDown',
          // Only interfaces found on the device: a missing one is LinkmonSnmpPollFailing's job.
          expr: withLink(`linkmon_interface_up${job} == 0 and on (${PER_INTERFACE}) linkmon_interface_resolved${job} == 1`, job),
          for: snmp.downFor,
          labels: { severity: 'page' },
          annotations: {
            summary: 'A monitored router interface is operationally down.',
            description:
              `Interface {{ $labels.interface }} on {{ $labels.device }}${link} (polled from site {{ $labels.site }}) reports ifOperStatus not up (linkmon_interface_up = {{ $value }}) ` +
              `for at least ${snmp.downFor}.`,
            runbook_url: runbookUrl(config, RUNBOOK, 'LinkmonInterfaceDown'),
          },
        },
      ],
    },
  ];
}
