import type { AlertsConfig } from './config.js';
import { runbookUrl, selector } from './promql.js';
import type { RuleGroup } from './types.js';

/**
 * A certificate belongs to the target, not to the sites that probe it: the per-site series are
 * reduced to one alert per target, so 14 sites seeing the CAID portal's certificate page once.
 */
export function tlsRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { tls } = config;
  const expiry = `linkmon_tls_cert_expiry_timestamp_seconds${selector(config.agentSelector)}`;
  return [
    {
      name: 'linkmon-tls.alerts',
      rules: [
        {
          alert: 'LinkmonTlsCertExpiring',
          expr: `min by (target, link) ((${expiry} - time()) / 86400) < ${tls.expiryDays}`,
          for: tls.for,
          labels: { severity: 'ticket' },
          annotations: {
            summary: 'The TLS certificate of an HTTPS target expires soon (or has expired).',
            description:
              'The certificate served by {{ $labels.target }} (link {{ $labels.link }}) expires in {{ $value | printf "%.1f" }} days ' +
              `(alert below ${tls.expiryDays}; negative means already expired). Seen from: ` +
              `{{ range printf ${JSON.stringify(`linkmon_tls_cert_expiry_timestamp_seconds${selector(config.agentSelector, 'target=%q')}`)} $labels.target | query | sortByLabel "site" }}{{ .Labels.site }} {{ end }}.`,
            runbook_url: runbookUrl(config, 'tls', 'LinkmonTlsCertExpiring'),
          },
        },
      ],
    },
  ];
}
