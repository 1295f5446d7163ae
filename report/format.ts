// How numbers read in the Markdown and HTML reports (JSON and CSV carry them unrounded).

/** 0.6432 → "64.3%". */
export function percent(ratio: number | undefined, digits = 1): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '–' : `${(ratio * 100).toFixed(digits)}%`;
}

/** A month-on-month change: 0.031 → "+3.1%". */
export function change(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
}

export function hours(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(2);
}

export function count(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : String(Math.round(value));
}

/** Bytes per second as bits per second: 125000000 → "1 Gbit/s". */
export function bitRate(bytesPerSecond: number): string {
  const bits = bytesPerSecond * 8;
  for (const [unit, size] of [['Tbit/s', 1e12], ['Gbit/s', 1e9], ['Mbit/s', 1e6], ['kbit/s', 1e3]] as const) {
    if (bits >= size) return `${Number((bits / size).toPrecision(4))} ${unit}`;
  }
  return `${bits} bit/s`;
}

/** £1,500 */
export function pounds(value: number): string {
  return `£${Math.round(value).toLocaleString('en-GB')}`;
}

/** Unix seconds → "2026-11-14" (UTC). */
export function date(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

/** Seconds → "30 days" (whole days) or hours. */
export function span(seconds: number): string {
  return seconds % 86400 === 0 ? `${seconds / 86400} days` : `${Math.round(seconds / 3600)} hours`;
}
