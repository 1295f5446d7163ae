// The report's decision in one sentence, from what the rules of docs/capacity.md say at the end of
// the month: order N steps by a date, release a step, or no action. Costs are the link's exported terms.
import type { AlertsConfig } from '../alerts/src/config.js';
import { bitRate, date, percent, pounds, span } from './format.js';
import type { Decision, Forecast, LinkTerms, Rules } from './model.js';

export interface DecisionInput {
  terms: LinkTerms;
  rules: Rules;
  forecast: Forecast | undefined;
  /** End of the report month (Unix seconds): the decision is as of then. */
  monthEnd: number;
  config: AlertsConfig;
}

export function decide({ terms, rules, forecast, monthEnd, config }: DecisionInput): Decision {
  const { longWindow, forecast: fit } = config.capacity;
  const threshold = (name: string) => percent(terms.thresholds[name], 0);
  const p95Text = `the rolling ${longWindow} busy-hour p95 is ${percent(rules.p95BusyLong)} (a step is due above ${threshold('recommend')})`;
  const trendText = () => {
    if (!forecast) return `the ${fit.window} trend has too few daily values for a forecast`;
    if (forecast.crossing === undefined) return `the ${fit.window} trend is not rising (${signedPerMonth(forecast.slopePerDay)} a month)`;
    return `the ${fit.window} trend (${signedPerMonth(forecast.slopePerDay)} a month) crosses ${threshold('forecast')} on ${date(forecast.crossing)}`;
  };

  if (rules.releaseRule) {
    const saving = terms.annualCostGbp;
    return {
      action: 'release',
      steps: 1,
      annualSavingGbp: saving,
      sentence:
        `Release one ${bitRate(terms.stepBytes)} step (${bitRate(terms.capacityBytes)} → ${bitRate(terms.capacityBytes - terms.stepBytes)}): it saves ${pounds(saving)} a year, ` +
        `as every daily busy-hour p95 of the last ${config.capacity.unusedWindow} would have stayed under ${threshold('unused')} with one step less.`,
    };
  }
  if (rules.stepRule || rules.forecastRule) {
    const steps = rules.stepsRecommended ?? 1;
    // Lead time considered: ordered by (crossing − lead time), the step is live before the line crosses.
    const due = forecast?.crossing !== undefined ? forecast.crossing - terms.leadTimeSeconds : monthEnd;
    const orderBy = rules.stepRule ? monthEnd : Math.max(monthEnd, due);
    const when = orderBy <= monthEnd ? 'now' : `by ${date(orderBy)}`;
    const oneOff = steps * terms.oneOffCostGbp;
    const annual = steps * terms.annualCostGbp;
    const why = rules.stepRule ? p95Text : `${trendText()}, and the lead time is ${span(terms.leadTimeSeconds)}`;
    return {
      action: 'order',
      steps,
      orderBy,
      oneOffCostGbp: oneOff,
      addedAnnualCostGbp: annual,
      sentence:
        `Order ${steps} step${steps === 1 ? '' : 's'} of ${bitRate(terms.stepBytes)} (to ${bitRate(terms.capacityBytes + steps * terms.stepBytes)}) ${when}: ` +
        `${pounds(oneOff)} one-off and ${pounds(annual)} a year more; ${why}.`,
    };
  }
  const orderHint =
    forecast?.crossing !== undefined ? ` Order by ${date(forecast.crossing - terms.leadTimeSeconds)} at the latest if the trend holds.` : '';
  return { action: 'none', sentence: `No action: ${p95Text}, and ${trendText()}.${orderHint}` };
}

/** Slope per day as percentage points per 30 days: "+1.2 pp". */
function signedPerMonth(slopePerDay: number): string {
  const points = slopePerDay * 30 * 100;
  return `${points >= 0 ? '+' : ''}${points.toFixed(1)} pp`;
}
