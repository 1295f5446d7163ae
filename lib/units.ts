import { z } from 'zod';

/**
 * The one parser of written quantities: durations (Prometheus' grammar), byte sizes and bit rates.
 * Config files, the alert mixin and the tests all read units through here.
 */

const DURATION_UNITS = [
  ['y', 365 * 86400],
  ['w', 7 * 86400],
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
  ['ms', 0.001],
] as const;

/** Prometheus' duration grammar: whole numbers with units from largest to smallest, each at most once ("1h30m", "500ms"), or "0". */
const DURATION_PATTERN = new RegExp(`^${DURATION_UNITS.map(([unit]) => `(?:(\\d+)${unit})?`).join('')}$`);

/**
 * Seconds in a Prometheus duration ("500ms", "10s", "1h30m", "7d"), or undefined if malformed or
 * beyond 2^53 ms (285,000 years), where whole milliseconds stop being exact.
 */
export function parseDurationSeconds(text: string): number | undefined {
  if (text === '0') return 0;
  const match = DURATION_PATTERN.exec(text);
  if (!match || text === '') return undefined;
  // Whole milliseconds first, so "1s500ms" is exactly 1.5 and not 1 + 0.5000000000000001.
  let milliseconds = 0;
  DURATION_UNITS.forEach(([, seconds], i) => {
    const amount = match[i + 1];
    if (amount !== undefined) milliseconds += Number(amount) * Math.round(seconds * 1000);
  });
  return Number.isSafeInteger(milliseconds) ? milliseconds / 1000 : undefined;
}

/** The longest delay Node's timers take (2^31 - 1 ms, 24.8 days); a longer one fires after 1 ms with a warning. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * Seconds as the whole milliseconds a timer wants. Every duration reaches setTimeout, AbortSignal,
 * undici and http.Server options through here: seconds × 1000 is not whole for 5,893 of the
 * durations from 1ms to 300s ("1001ms" → 1000.9999999999999), which AbortSignal.timeout and
 * http.Server reject with a RangeError. Longer than TIMER_MAX_MS waits TIMER_MAX_MS (no config
 * duration that reaches a timer may be that long; 1 ms would be the timer's own choice).
 */
export function timerMs(seconds: number): number {
  return Math.min(TIMER_MAX_MS, Math.max(0, Math.round(seconds * 1000)));
}

/** Like parseDurationSeconds, for durations the code itself writes (the alert mixin): throws on a bad one. */
export function durationSeconds(text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined) throw new Error(`expected a Prometheus duration like "5m" or "1h30m", got "${text}"`);
  return seconds;
}

const BYTE_UNITS = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
const BIT_RATE_UNITS = { bps: 1, kbps: 1e3, Mbps: 1e6, Gbps: 1e9, Tbps: 1e12 } as const;

/** `<number><unit>`, optionally spaced; the unit may be left out only where `bare` gives it. */
function parseAmount<U extends string>(text: string, units: Record<U, number>, bare?: U): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] === '' ? bare : match[2]) as U | undefined;
  if (unit === undefined || !Object.hasOwn(units, unit)) return undefined;
  return Math.round(Number(match[1]) * units[unit]);
}

/** Parses "500MB", "1GiB", "64kB", "1000" into whole bytes, or undefined if malformed. */
export function parseByteSize(text: string): number | undefined {
  return parseAmount(text, BYTE_UNITS, 'B');
}

/** Parses "1Gbps", "500Mbps", "2.5 Gbps" into bits per second, or undefined if malformed. */
export function parseBitRate(text: string): number | undefined {
  return parseAmount(text, BIT_RATE_UNITS);
}

/** A duration in Prometheus' grammar, largest units first: 0.05 → "50ms", 90 → "1m30s", 31536000 → "1y". */
export function formatSeconds(seconds: number): string {
  let milliseconds = Math.round(seconds * 1000);
  if (milliseconds === 0) return '0s';
  let text = '';
  for (const [unit, unitSeconds] of DURATION_UNITS) {
    const unitMs = Math.round(unitSeconds * 1000);
    const amount = Math.floor(milliseconds / unitMs);
    if (amount > 0) text += `${amount}${unit}`;
    milliseconds -= amount * unitMs;
  }
  return text;
}

interface Limits {
  min?: number;
  max?: number;
}

/** Adds an issue and returns z.NEVER when `value` is outside `limits`; otherwise returns `value`. */
function withinLimits(value: number, limits: Limits, ctx: z.RefinementCtx, describe: (n: number) => string, input: unknown): number {
  if (limits.min !== undefined && value < limits.min) {
    ctx.addIssue({ code: 'custom', message: `expected at least ${describe(limits.min)}, got ${JSON.stringify(input)}` });
    return z.NEVER;
  }
  if (limits.max !== undefined && value > limits.max) {
    ctx.addIssue({ code: 'custom', message: `expected at most ${describe(limits.max)}, got ${JSON.stringify(input)}` });
    return z.NEVER;
  }
  return value;
}

/** A zod type for durations written as "500ms", "10s", "5m", "1h30m"; parses to seconds. */
export function duration(limits: Limits = {}) {
  return z.string().transform((text, ctx) => {
    const seconds = parseDurationSeconds(text);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "500ms", "10s" or "5m", got "${text}"` });
      return z.NEVER;
    }
    return withinLimits(seconds, limits, ctx, formatSeconds, text);
  });
}

/** A zod type for byte sizes written as a whole number of bytes or "500MB", "1GiB"; parses to bytes. */
export function byteSize(limits: Limits = {}) {
  return z.union([z.number(), z.string()]).transform((input, ctx) => {
    const bytes = typeof input === 'number' ? input : parseByteSize(input);
    if (bytes === undefined || !Number.isSafeInteger(bytes)) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 1000000, "500MB" or "1GiB", got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    return withinLimits(bytes, limits, ctx, (n) => `${n} bytes`, input);
  });
}

/** A zod type for link speeds written as bits per second (1000000000) or "1Gbps", "500Mbps"; parses to bits per second. */
export function bitRate(limits: Limits = {}) {
  return z.union([z.number(), z.string()]).transform((input, ctx) => {
    const bps = typeof input === 'number' ? input : parseBitRate(input);
    if (bps === undefined || !Number.isSafeInteger(bps)) {
      ctx.addIssue({ code: 'custom', message: `expected bits per second like 1000000000, "1Gbps" or "500Mbps", got ${JSON.stringify(input)}` });
      return z.NEVER;
    }
    return withinLimits(bps, limits, ctx, (n) => `${n} bits per second`, input);
  });
}
