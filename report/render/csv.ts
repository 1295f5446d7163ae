// CSV: one row per number (link, month, figure, label, value), so every figure of the report fits one
// shape; `label` is the direction, site or threshold a figure is split by.
import type { Report } from '../model.js';

type Cell = string | number | undefined;

function cell(value: Cell): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function renderCsv(report: Report): string {
  const rows: Cell[][] = [['link', 'month', 'figure', 'label', 'value']];
  for (const link of report.links) {
    const at = (month: string, figure: string, label: string, value: Cell) => rows.push([link.link, month, figure, label, value]);
    for (const m of link.months) {
      for (const [key, value] of Object.entries(m.figures)) at(m.month, key, '', value);
      for (const [direction, figures] of Object.entries(m.directions)) for (const [key, value] of Object.entries(figures)) at(m.month, key, direction, value);
      for (const [site, figures] of Object.entries(m.sites)) for (const [key, value] of Object.entries(figures)) at(m.month, key, site, value);
      at(m.month, 'busy_windows_expected', '', m.busyWindowsExpected);
    }
    const end = report.month;
    const { terms, rules, forecast, decision } = link;
    at(end, 'capacity_bytes', '', terms.capacityBytes);
    at(end, 'step_bytes', '', terms.stepBytes);
    at(end, 'step_one_off_cost_gbp', '', terms.oneOffCostGbp);
    at(end, 'step_annual_cost_gbp', '', terms.annualCostGbp);
    at(end, 'step_lead_time_seconds', '', terms.leadTimeSeconds);
    for (const [name, value] of Object.entries(terms.thresholds)) at(end, 'threshold_ratio', name, value);
    at(end, 'p95_busy_long', '', rules.p95BusyLong);
    at(end, 'steps_recommended', '', rules.stepsRecommended);
    at(end, 'step_rule', '', Number(rules.stepRule));
    at(end, 'forecast_rule', '', Number(rules.forecastRule));
    at(end, 'release_rule', '', Number(rules.releaseRule));
    if (forecast) {
      at(end, 'forecast_as_of', '', forecast.asOf);
      at(end, 'forecast_slope_per_day', '', forecast.slopePerDay);
      at(end, 'forecast_value_at_fit', '', forecast.valueAtFit);
      at(end, 'forecast', '', forecast.forecast);
      at(end, 'forecast_crossing', '', forecast.crossing);
    }
    at(end, 'decision', decision.action, decision.sentence);
    at(end, 'decision_steps', '', decision.steps);
    at(end, 'decision_order_by', '', decision.orderBy);
    at(end, 'decision_one_off_cost_gbp', '', decision.oneOffCostGbp);
    at(end, 'decision_added_annual_cost_gbp', '', decision.addedAnnualCostGbp);
    at(end, 'decision_annual_saving_gbp', '', decision.annualSavingGbp);
    link.flags.forEach((flag) => at(flag.slice(0, 7), 'data_quality', '', flag.slice(9)));
  }
  return `${rows.map((r) => r.map(cell).join(',')).join('\n')}\n`;
}
