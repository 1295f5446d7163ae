import type { AlertsConfig } from './config.js';
import { durationSeconds } from '../../lib/units.js';
import { oneOf, percent, ratioOfRates, runbookUrl, selector, templateQueryValue } from './promql.js';
import { unlessOutageWithin } from './reachability.js';
import type { AlertingRule, RecordingRule, RuleGroup } from './types.js';

const RUNBOOK = 'slo';

export function sloNames() {
  return {
    errorRatio: (window: string) => `site_link:linkmon_slo_errors:ratio_rate${window}`,
    budgetRemaining: 'site_link:linkmon_slo_error_budget_remaining:ratio',
  };
}

/** 1 - target without floating-point noise (0.999 → 0.001). */
function errorBudget(config: AlertsConfig): number {
  return Number((1 - config.slo.target).toPrecision(6));
}

/**
 * Availability SLO per site: the share of CAID-side probe attempts that succeed. Error ratios are
 * recorded for every burn-rate window; windows from `longWindowFrom` up are averaged from the
 * shortest window's ratio, because rate() over days of raw counters is too costly every 15 s.
 */
export function sloRuleGroups(config: AlertsConfig): RuleGroup[] {
  const { slo } = config;
  const names = sloNames();
  const budget = errorBudget(config);
  const pairs = [...slo.page.windows, ...slo.ticket.windows];
  const windows = [...new Set([...pairs.flatMap((p) => [p.long, p.short]), slo.period])].sort((a, b) => durationSeconds(a) - durationSeconds(b));
  const base = windows[0]!;
  const sli = selector(config.agentSelector, `link="${config.caidLink}"`, `kind=~"${oneOf(config.intervalKinds)}"`);

  const direct: RecordingRule[] = [];
  const averaged: RecordingRule[] = [];
  for (const window of windows) {
    if (window !== base && durationSeconds(window) >= durationSeconds(slo.longWindowFrom)) {
      averaged.push({ record: names.errorRatio(window), expr: `avg_over_time(${names.errorRatio(base)}[${window}])` });
    } else {
      direct.push({
        record: names.errorRatio(window),
        expr: ratioOfRates(`linkmon_probe_failures_total${sli}`, `linkmon_probe_attempts_total${sli}`, 'site, link', window),
      });
    }
  }
  averaged.push({ record: names.budgetRemaining, expr: `1 - ${names.errorRatio(slo.period)} / ${budget}` });

  const burnAlert = (alertName: string, severity: 'page' | 'ticket', policy: typeof slo.page, summary: string): AlertingRule => ({
    alert: alertName,
    // The value is the burn rate over the long window of the first pair that matches.
    expr: policy.windows
      .map(
        ({ long, short, factor }) => `(
  ${names.errorRatio(long)} / ${budget} > ${factor}
  and
  ${names.errorRatio(short)} / ${budget} > ${factor}
  ${unlessOutageWithin(config, short)}
)`,
      )
      .join('\nor\n'),
    for: policy.for,
    labels: { severity },
    annotations: {
      summary,
      description:
        `Site {{ $labels.site }} is using its CAID availability error budget {{ $value | printf "%.1f" }}x faster than sustainable ` +
        `(SLO: ${percent(slo.target)} of probe attempts succeed over ${slo.period}; alert pairs ` +
        policy.windows.map((p) => `${p.long}/${p.short} at ${p.factor}x`).join(', ') +
        '). Budget left over the period: ' +
        templateQueryValue(`${names.budgetRemaining}{site=%q,link=%q}`, ['$labels.site', '$labels.link'], 'humanizePercentage') +
        '.',
      runbook_url: runbookUrl(config, RUNBOOK, alertName),
    },
  });

  return [
    { name: 'linkmon-slo.rules', rules: direct },
    { name: 'linkmon-slo-long.rules', interval: slo.longWindowEvaluationInterval, rules: averaged },
    {
      name: 'linkmon-slo.alerts',
      rules: [
        burnAlert('LinkmonErrorBudgetBurnFast', 'page', slo.page, "A site's CAID availability error budget is burning fast: it will be gone within days."),
        burnAlert('LinkmonErrorBudgetBurnSlow', 'ticket', slo.ticket, "A site's CAID availability error budget is burning faster than the SLO allows."),
      ],
    },
  ];
}
