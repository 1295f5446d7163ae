import type { AlertsConfig, PerLink } from './config.js';

/** `{a="x",b=~"y"}` from matcher strings; empty and undefined entries are skipped. */
export function selector(...matchers: Array<string | undefined>): string {
  return `{${matchers.filter((m): m is string => Boolean(m)).join(',')}}`;
}

/** A regular-expression alternative for a `=~` matcher: `icmp|udp`. */
export function oneOf(values: readonly string[]): string {
  return values.join('|');
}

/**
 * The one formula of every loss and error ratio (rules and dashboards alike): the rate of `part`
 * over the rate of `whole`, both summed by `by` over `window`, from counters so a missed scrape
 * loses nothing; no value where nothing was attempted, never a division by zero.
 */
export function ratioOfRates(part: string, whole: string, by: string, window: string): string {
  return `sum by (${by}) (rate(${part}[${window}]))
/
(sum by (${by}) (rate(${whole}[${window}])) > 0)`;
}

/** One entry per named link (matcher `link="x"`) and one for every other link (`link!~"x|y"`). */
export function perLink<T>(table: PerLink<T>): Array<{ link: string | undefined; matcher: string | undefined; value: T }> {
  const named = Object.keys(table)
    .filter((k) => k !== 'default')
    .sort();
  return [
    ...named.map((link) => ({ link, matcher: `link="${link}"`, value: table[link]! })),
    { link: undefined, matcher: named.length > 0 ? `link!~"${oneOf(named)}"` : undefined, value: table.default },
  ];
}

/**
 * Static `link` label for a per-link rule. The series carry it already; as a rule label it also keeps
 * rules of the same alert name distinct for promtool's duplicate-rule lint.
 */
export function linkLabel(link: string | undefined): { link?: string } {
  return link ? { link } : {};
}

/** Text for a threshold in a fixed annotation: 0.02 → "2%". */
export function percent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(3))}%`;
}

/** Text for a threshold in seconds: 0.06 → "60ms". */
export function millis(seconds: number): string {
  return `${Number((seconds * 1000).toPrecision(3))}ms`;
}

export function runbookUrl(config: AlertsConfig, area: string, alertName: string): string {
  return `${config.runbookBaseUrl}/${area}.md#${alertName.toLowerCase()}`;
}

/**
 * A template fragment that runs `query` (a printf format whose `%q` verbs take `args`, Go template
 * expressions such as `$labels.site`) and prints the first result's value through `format`
 * (e.g. "humanizePercentage"), or `fallback` when the result is empty.
 */
export function templateQueryValue(query: string, args: string[], format: string, fallback = 'n/a'): string {
  return `{{ with printf ${JSON.stringify(query)} ${args.join(' ')} | query }}{{ . | first | value | ${format} }}{{ else }}${fallback}{{ end }}`;
}
