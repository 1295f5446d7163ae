// The command line of `linkmon report` (docs/capacity.md, "linkmon report"). Every bad value is a
// ReportError of kind 'usage' naming the option, what it got and what was expected.
import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '../lib/units.js';
import { ReportError } from './errors.js';
import { parseMonth, previousMonth, type Month } from './months.js';

export const FORMATS = ['html', 'md', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export interface ReportOptions {
  prometheus: URL;
  month: Month;
  link?: string;
  months: number;
  format: Format;
  /** A file, a folder (written as linkmon-capacity-<month>.<format>), or neither: stdout. */
  out?: { file: string } | { dir: string };
  timeoutMs: number;
}

export const REPORT_USAGE = `linkmon report --prometheus URL [--month YYYY-MM] [--link NAME] [--months N]
               [--format html|md|csv|json] [--out FILE | --out-dir DIR] [--timeout DURATION]

  --prometheus URL   Prometheus, or a PromQL-compatible long-term store (VictoriaMetrics, Mimir,
                     Thanos), e.g. http://prometheus:9090; user:password@ in the URL for basic auth
  --month YYYY-MM    the report month, which must have ended (default: last month)
  --link NAME        one link (default: every link with data in the month)
  --months N         months shown, ending with the report month (default 13, at most 36)
  --format FORMAT    html (default; one self-contained file), md, csv or json
  --out FILE         write to FILE instead of stdout
  --out-dir DIR      write DIR/linkmon-capacity-<month>.<format>
  --timeout DURATION per query (default 60s), e.g. 30s, 2m
`;

const MAX_MONTHS = 36;

function usage(message: string): ReportError {
  return new ReportError('usage', message);
}

function parseTimeout(text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined || seconds <= 0) throw usage(`--timeout "${text}": expected a duration like 30s or 2m`);
  return Math.round(seconds * 1000);
}

export function parseReportArgs(argv: readonly string[], nowSeconds: number): ReportOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        prometheus: { type: 'string' },
        month: { type: 'string' },
        link: { type: 'string' },
        months: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        'out-dir': { type: 'string' },
        timeout: { type: 'string' },
      },
    });
  } catch (err) {
    throw usage(err instanceof Error ? err.message.replace(/\.$/, '').replace(/\. To specify.*$/s, '') : String(err));
  }
  const v = parsed.values;
  if (v.prometheus === undefined) throw usage('--prometheus URL is required: the Prometheus (or long-term store) to read');
  let prometheus: URL;
  try {
    prometheus = new URL(v.prometheus);
  } catch {
    throw usage(`--prometheus "${v.prometheus}": not a URL; expected e.g. http://prometheus:9090`);
  }
  if (prometheus.protocol !== 'http:' && prometheus.protocol !== 'https:') {
    throw usage(`--prometheus "${v.prometheus}": expected an http:// or https:// URL, got ${prometheus.protocol}`);
  }
  if (prometheus.search !== '' || prometheus.hash !== '') throw usage(`--prometheus "${v.prometheus}": expected the API's base URL, without a query or fragment`);

  let month = previousMonth(nowSeconds);
  if (v.month !== undefined) {
    const given = parseMonth(v.month);
    if (!given) throw usage(`--month "${v.month}": expected a month as YYYY-MM, e.g. 2026-10`);
    if (given.end > nowSeconds) throw usage(`--month ${v.month}: the month has not ended yet; the last complete month is ${previousMonth(nowSeconds).label}`);
    month = given;
  }
  let months = 13;
  if (v.months !== undefined) {
    months = /^\d+$/.test(v.months) ? Number(v.months) : Number.NaN;
    if (!(months >= 1 && months <= MAX_MONTHS)) throw usage(`--months "${v.months}": expected a whole number of months from 1 to ${MAX_MONTHS}`);
  }
  const format = (v.format ?? 'html') as Format;
  if (!FORMATS.includes(format)) throw usage(`--format "${v.format}": expected ${FORMATS.join(', ')}`);
  if (v.link === '') throw usage('--link: expected a link name, e.g. hsl');
  if (v.out !== undefined && v['out-dir'] !== undefined) throw usage('--out and --out-dir: give one of them');
  const out = v.out !== undefined ? { file: v.out } : v['out-dir'] !== undefined ? { dir: v['out-dir'] } : undefined;
  return {
    prometheus,
    month,
    months,
    format,
    timeoutMs: v.timeout === undefined ? 60_000 : parseTimeout(v.timeout),
    ...(v.link !== undefined ? { link: v.link } : {}),
    ...(out ? { out } : {}),
  };
}
