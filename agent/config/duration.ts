import { z } from 'zod';

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const;
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses a Prometheus-style duration ("500ms", "10s", "5m") into seconds, or undefined if malformed. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_SECONDS];
  return Number(amount) * UNIT_SECONDS[unit];
}

/** A zod type for durations written as "500ms", "10s", "5m", "1h"; parses to seconds. */
export function duration(limits: { min?: number; max?: number } = {}) {
  return z.string().transform((text, ctx) => {
    const seconds = parseDurationSeconds(text);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "500ms", "10s" or "5m", got "${text}"` });
      return z.NEVER;
    }
    if (limits.min !== undefined && seconds < limits.min) {
      ctx.addIssue({ code: 'custom', message: `expected at least ${formatSeconds(limits.min)}, got "${text}"` });
      return z.NEVER;
    }
    if (limits.max !== undefined && seconds > limits.max) {
      ctx.addIssue({ code: 'custom', message: `expected at most ${formatSeconds(limits.max)}, got "${text}"` });
      return z.NEVER;
    }
    return seconds;
  });
}

export function formatSeconds(seconds: number): string {
  return seconds < 1 ? `${Math.round(seconds * 1000)}ms` : `${seconds}s`;
}
