// Calendar months of the report: UTC months (a window belongs to the month of its start, docs/capacity.md).
import type { MonthSpan } from '../alerts/src/capacity-monthly.js';

export interface Month extends MonthSpan {
  /** "2026-10" */
  label: string;
  /** Unix seconds of 00:00 UTC on the 1st, and of the 1st of the next month (where the month's queries are evaluated). */
  start: number;
  end: number;
}

const DAY = 86400;

export function monthOf(year: number, monthIndex: number): Month {
  const start = Date.UTC(year, monthIndex, 1) / 1000;
  const end = Date.UTC(year, monthIndex + 1, 1) / 1000;
  const previousStart = Date.UTC(year, monthIndex - 1, 1) / 1000;
  const first = new Date(start * 1000);
  const label = `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}`;
  return { label, start, end, days: (end - start) / DAY, previousDays: (start - previousStart) / DAY };
}

/** "2026-10" → the month, or undefined when the text is not YYYY-MM with a month 01–12. */
export function parseMonth(text: string): Month | undefined {
  const match = /^(\d{4})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return undefined;
  return monthOf(Number(match[1]), month - 1);
}

/** The last complete month before `nowSeconds`. */
export function previousMonth(nowSeconds: number): Month {
  const now = new Date(nowSeconds * 1000);
  return monthOf(now.getUTCFullYear(), now.getUTCMonth() - 1);
}

/** `count` months ending with `last`, oldest first. */
export function monthsEndingWith(last: Month, count: number): Month[] {
  const first = new Date(last.start * 1000);
  return Array.from({ length: count }, (_, i) => monthOf(first.getUTCFullYear(), first.getUTCMonth() - (count - 1 - i)));
}

/**
 * Busy windows a month would have with no gap: its weekdays (busy `days`) × windows per busy day.
 * Busy hours lie within one UTC date in GMT and in BST, so the UTC weekday is the UK one.
 */
export function expectedBusyWindows(month: Month, busyDays: readonly number[], windowsPerDay: number): number {
  let weekdays = 0;
  for (let t = month.start; t < month.end; t += DAY) if (busyDays.includes(new Date(t * 1000).getUTCDay())) weekdays += 1;
  return weekdays * windowsPerDay;
}
